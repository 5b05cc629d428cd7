//! [`Auth`]: the users file, sessions, tokens and the login limiter behind one handle.
//!
//! The server holds one `Arc<Auth>`; the HTTP gate ([`crate::http`]) asks it about every
//! request. The users file is re-read when it changes on disk (checked at most once per
//! `reload_interval`), so `homestream token revoke` and `user remove` take effect on a
//! running server without a restart; removing a user or setting a new password
//! (`user add --replace`) also ends that user's sessions.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use crate::password::{self, HashParams};
use crate::ratelimit::{LoginLimiter, RateLimitConfig};
use crate::sessions::SessionStore;
use crate::tokens::{self, TokenRefusal};
use crate::users::UsersFile;
use crate::{Error, Result};

/// Settings; [`AuthConfig::default`] is what `serve --auth` uses.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Cost of the dummy hash checked for unknown users (match what `user add` uses).
    pub hash_params: HashParams,
    /// Session lifetime (cookie Max-Age). Default 7 days.
    pub session_ttl: Duration,
    /// Most sessions held; the oldest is evicted beyond this. Default 10 000.
    pub max_sessions: usize,
    /// Password-guessing limits.
    pub limits: RateLimitConfig,
    /// Mark cookies `Secure` (set when serving over TLS).
    pub secure_cookies: bool,
    /// How often to look at the users file for changes. Default 1 s.
    pub reload_interval: Duration,
    /// How long a checked HTTP Basic credential is remembered, so a player's many range
    /// requests do not each cost an argon2 run. Default 5 min.
    pub basic_cache_ttl: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            hash_params: HashParams::default(),
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            max_sessions: 10_000,
            limits: RateLimitConfig::default(),
            secure_cookies: false,
            reload_interval: Duration::from_secs(1),
            basic_cache_ttl: Duration::from_secs(300),
        }
    }
}

/// The answer to a password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Right password: the account name.
    Ok(String),
    /// Wrong user or password (the two are not told apart).
    Wrong,
    /// Refused without checking: try again after this long.
    TooMany(Duration),
}

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Session cookie.
    Session,
    /// HTTP Basic.
    Basic,
    /// Bearer token (a viewer's: it may watch, not publish).
    Token,
    /// Bearer token with the publish scope (`token create --publish`).
    PublishToken,
}

struct Loaded {
    file: UsersFile,
    stamp: Option<(SystemTime, u64)>,
    checked: Instant,
}

/// Most remembered Basic credentials; the table is cleared when full (named policy: reset).
const BASIC_CACHE_MAX: usize = 1024;

/// Accounts and access control for one server.
pub struct Auth {
    path: PathBuf,
    config: AuthConfig,
    loaded: RwLock<Loaded>,
    sessions: Mutex<SessionStore>,
    limiter: Mutex<LoginLimiter>,
    basic_cache: Mutex<std::collections::HashMap<[u8; 32], (String, Instant)>>,
    cache_key: [u8; 32],
    dummy_hash: String,
    verify_slots: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Auth {
    /// Loads `path` with the default (strong) settings. Refuses a file without users:
    /// a server nobody can log in to is a mistake, not a configuration.
    pub fn load(path: impl AsRef<Path>) -> Result<Auth> {
        Self::load_with(path, AuthConfig::default())
    }

    /// Loads `path` with `config`.
    pub fn load_with(path: impl AsRef<Path>, config: AuthConfig) -> Result<Auth> {
        let path = path.as_ref().to_owned();
        let file = UsersFile::load(&path)?;
        if file.users.is_empty() {
            return Err(Error::Parse {
                path: path.clone(),
                message: format!(
                    "it has no users; add one with `homestream user add NAME --users {}`",
                    path.display()
                ),
            });
        }
        let dummy_hash = password::hash_password("not a password of anyone", config.hash_params)?;
        let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Auth {
            loaded: RwLock::new(Loaded {
                stamp: stamp(&path),
                file,
                checked: Instant::now(),
            }),
            sessions: Mutex::new(SessionStore::new(config.session_ttl, config.max_sessions)),
            limiter: Mutex::new(LoginLimiter::new(config.limits)),
            basic_cache: Mutex::new(Default::default()),
            cache_key: rand::random(),
            dummy_hash,
            verify_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            path,
            config,
        })
    }

    /// Sets whether cookies carry `Secure` (call with `true` when serving over TLS).
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.config.secure_cookies = secure;
        self
    }

    /// The settings.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The users file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the users file when it changed (at most once per `reload_interval`).
    fn refresh(&self) {
        let now = Instant::now();
        {
            let l = self.loaded.read().unwrap_or_else(|e| e.into_inner());
            if now < l.checked + self.config.reload_interval {
                return;
            }
        }
        let mut l = self.loaded.write().unwrap_or_else(|e| e.into_inner());
        l.checked = now;
        let st = stamp(&self.path);
        if st == l.stamp {
            return;
        }
        match UsersFile::load(&self.path) {
            Ok(file) => {
                tracing::info!(
                    "reloaded {}: {} users, {} tokens",
                    self.path.display(),
                    file.users.len(),
                    file.tokens.len()
                );
                let gone: Vec<String> = l
                    .file
                    .users
                    .iter()
                    .filter(|u| file.user(&u.name).is_none_or(|n| n.hash != u.hash))
                    .map(|u| u.name.clone())
                    .collect();
                l.file = file;
                l.stamp = st;
                drop(l);
                let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
                for name in &gone {
                    s.remove_user(name);
                }
                self.basic_cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
            }
            Err(e) => tracing::error!("keeping the previous accounts: {e}"),
        }
    }

    fn with_file<T>(&self, f: impl FnOnce(&UsersFile) -> T) -> T {
        self.refresh();
        let l = self.loaded.read().unwrap_or_else(|e| e.into_inner());
        f(&l.file)
    }

    /// Checks `user`/`password` from `ip` under the rate limits. The argon2 check runs on a
    /// blocking thread, at most one per core at a time. Logs failures (never the password;
    /// the typed name only when it is a real account, as people type passwords into it).
    pub async fn check_password(&self, user: &str, password: &str, ip: IpAddr) -> LoginOutcome {
        // Names that cannot be accounts share one limiter key, so junk names (up to a whole
        // header's worth in HTTP Basic) cannot fill the limiter's tables with big keys.
        let key = if crate::users::check_name(user).is_ok() {
            user
        } else {
            "\0invalid"
        };
        let attempt = {
            let mut l = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
            match l.begin(key, ip, Instant::now()) {
                Ok(a) => a,
                Err(wait) => {
                    tracing::warn!(%ip, "login refused: too many attempts, retry in {} s",
                        crate::ratelimit::retry_secs(wait));
                    return LoginOutcome::TooMany(wait);
                }
            }
        };
        let stored = self.with_file(|f| f.user(user).map(|u| u.hash.clone()));
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let pw = password.to_owned();
        let ok = match self.verify_slots.clone().acquire_owned().await {
            Ok(permit) => tokio::task::spawn_blocking(move || {
                let _permit = permit;
                password::verify_password(&pw, &hash)
            })
            .await
            .unwrap_or(false),
            Err(_) => false,
        } && known;
        self.limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .finish(attempt, ok);
        if ok {
            LoginOutcome::Ok(user.to_owned())
        } else {
            if known {
                tracing::warn!(%ip, user, "login failed: wrong password");
            } else {
                tracing::warn!(%ip, "login failed: unknown user");
            }
            LoginOutcome::Wrong
        }
    }

    /// HTTP Basic: like [`Auth::check_password`], but a success is remembered for
    /// `basic_cache_ttl` under a keyed hash of the credentials (never the password itself).
    pub async fn check_basic(&self, user: &str, password: &str, ip: IpAddr) -> LoginOutcome {
        let mut h = Sha256::new();
        h.update(self.cache_key);
        h.update(user.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        let key: [u8; 32] = h.finalize().into();
        let now = Instant::now();
        let cached = self
            .basic_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .filter(|(_, exp)| now < *exp)
            .map(|(u, _)| u.clone());
        if let Some(u) = cached
            && self.with_file(|f| f.user(&u).is_some())
        {
            return LoginOutcome::Ok(u);
        }
        let out = self.check_password(user, password, ip).await;
        if let LoginOutcome::Ok(u) = &out {
            let mut c = self.basic_cache.lock().unwrap_or_else(|e| e.into_inner());
            if c.len() >= BASIC_CACHE_MAX {
                c.clear();
            }
            c.insert(key, (u.clone(), now + self.config.basic_cache_ttl));
        }
        out
    }

    /// Starts a session; returns the cookie value.
    pub fn create_session(&self, user: &str) -> String {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .create(user, Instant::now())
    }

    /// The user of a live session whose account still exists.
    pub fn session_user(&self, id: &str) -> Option<String> {
        self.refresh();
        let user = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id, Instant::now())
            .map(|s| s.user.clone())?;
        self.with_file(|f| f.user(&user).is_some()).then_some(user)
    }

    /// Ends a session server-side; true when it existed.
    pub fn logout(&self, id: &str) -> bool {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
    }

    /// The user a bearer token acts as.
    pub fn token_user(&self, token: &str) -> std::result::Result<String, TokenRefusal> {
        self.token_identity(token).map(|(user, _)| user)
    }

    /// The account a token acts as, and how: [`Via::PublishToken`] when it has the publish
    /// scope, else [`Via::Token`].
    pub fn token_identity(&self, token: &str) -> std::result::Result<(String, Via), TokenRefusal> {
        self.with_file(|f| {
            tokens::verify_scoped(f, token, unix_now()).map(|(user, publish)| {
                let via = if publish {
                    Via::PublishToken
                } else {
                    Via::Token
                };
                (user.to_owned(), via)
            })
        })
    }

    /// Number of sessions held (for `/api/status`).
    pub fn session_count(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn cheap() -> AuthConfig {
        AuthConfig {
            hash_params: HashParams::cheap(),
            reload_interval: Duration::ZERO,
            ..Default::default()
        }
    }

    fn setup() -> (tempfile::TempDir, PathBuf, Auth) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        let mut f = UsersFile::default();
        let h = password::hash_password("alice password", HashParams::cheap()).unwrap();
        f.set_user("alice", h, false).unwrap();
        f.save(&path).unwrap();
        let auth = Auth::load_with(&path, cheap()).unwrap();
        (dir, path, auth)
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[tokio::test]
    async fn passwords() {
        let (_d, _p, a) = setup();
        assert_eq!(
            a.check_password("alice", "alice password", IP).await,
            LoginOutcome::Ok("alice".into())
        );
        assert_eq!(
            a.check_password("alice", "nope", IP).await,
            LoginOutcome::Wrong
        );
        assert_eq!(
            a.check_password("mallory", "alice password", IP).await,
            LoginOutcome::Wrong
        );
        assert_eq!(
            a.check_basic("alice", "alice password", IP).await,
            LoginOutcome::Ok("alice".into())
        );
        assert_eq!(a.check_basic("alice", "x", IP).await, LoginOutcome::Wrong);
    }

    #[tokio::test]
    async fn too_many() {
        let (_d, _p, a) = setup();
        for _ in 0..5 {
            assert_eq!(
                a.check_password("alice", "nope", IP).await,
                LoginOutcome::Wrong
            );
        }
        assert!(matches!(
            a.check_password("alice", "alice password", IP).await,
            LoginOutcome::TooMany(_)
        ));
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert_eq!(
            a.check_password("alice", "alice password", other).await,
            LoginOutcome::Ok("alice".into())
        );
    }

    #[tokio::test]
    async fn junk_names_share_one_limiter_key() {
        let (_d, _p, a) = setup();
        for i in 0..3 {
            let junk = format!("{}{i}", "x:".repeat(5000));
            assert_eq!(a.check_basic(&junk, "pw", IP).await, LoginOutcome::Wrong);
        }
        let (pairs, _, accounts) = a.limiter.lock().unwrap().sizes();
        assert_eq!((pairs, accounts), (1, 1));
    }

    #[test]
    fn empty_file_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.toml");
        UsersFile::default().save(&path).unwrap();
        let e = Auth::load_with(&path, cheap()).unwrap_err();
        assert!(e.to_string().contains("no users"), "{e}");
    }

    #[test]
    fn reload_sees_revoked_tokens_and_removed_users() {
        let (_d, path, a) = setup();
        let mut f = UsersFile::load(&path).unwrap();
        let (rec, tok) = tokens::create(&mut f, "alice", None, unix_now()).unwrap();
        f.save(&path).unwrap();
        assert_eq!(a.token_user(&tok), Ok("alice".into()));
        let sid = a.create_session("alice");
        assert_eq!(a.session_user(&sid).as_deref(), Some("alice"));
        tokens::revoke(&mut f, &rec.id).unwrap();
        f.save(&path).unwrap();
        assert_eq!(a.token_user(&tok), Err(TokenRefusal::Unknown));
        // A new password ends the sessions made with the old one.
        let sid2 = a.create_session("alice");
        f.set_user("alice", "new hash".into(), true).unwrap();
        f.save(&path).unwrap();
        assert_eq!(a.session_user(&sid2), None);
        let sid = a.create_session("alice");
        f.remove_user("alice").unwrap();
        f.set_user("bob", "h".into(), false).unwrap();
        f.save(&path).unwrap();
        assert_eq!(a.session_user(&sid), None);
        assert_eq!(a.session_count(), 0);
    }

    #[test]
    fn logout_ends_session() {
        let (_d, _p, a) = setup();
        let sid = a.create_session("alice");
        assert!(a.logout(&sid));
        assert_eq!(a.session_user(&sid), None);
    }
}
