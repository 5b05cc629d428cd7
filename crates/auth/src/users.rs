//! The users file: accounts (name + argon2id PHC hash) and API tokens (sha256 of the secret).
//!
//! A small TOML file (`homestream-users.toml` by default) that people can read:
//!
//! ```toml
//! [[user]]
//! name = "alice"
//! hash = "$argon2id$v=19$m=19456,t=2,p=1$..."
//!
//! [[token]]
//! id = "3f9a1c0e"
//! user = "alice"
//! sha256 = "9b7e..."          # of the secret part, never the token itself
//! created = 1790000000        # Unix seconds
//! expires = 1792592000        # Unix seconds, absent = never
//! ```
//!
//! Writes go to a temporary file in the same folder (mode 0600 on Unix) that is
//! then renamed over the old one, so a crash never leaves half a file and other
//! local users never see the hashes. Two CLI writers at the same instant may
//! lose one update (last rename wins); that is acceptable for a home server.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Login name (see [`check_name`]).
    pub name: String,
    /// argon2id PHC string.
    pub hash: String,
}

/// One API token; the secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public id (8 hex digits), shown by `token list`, used by `token revoke`.
    pub id: String,
    /// The account the token acts as.
    pub user: String,
    /// Lower-case hex sha256 of the token's secret part.
    pub sha256: String,
    /// Creation time, Unix seconds.
    pub created: u64,
    /// Expiry, Unix seconds; `None` = never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// The publish scope: the token may also publish to `publish` streams (WHIP), as its
    /// account may. Off by default: tokens are what players and viewers are handed, and a
    /// viewer's token must not be able to replace the picture. (`token create --publish`.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub publish: bool,
}

/// The whole users file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersFile {
    /// Accounts, in the order they were added.
    #[serde(default, rename = "user", skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    /// Tokens.
    #[serde(default, rename = "token", skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<TokenRecord>,
}

/// Names: 1 to 64 of `A-Za-z0-9._@-`. Excludes `:` (the HTTP Basic separator, RFC 7617),
/// spaces and anything that would need escaping in logs or TOML.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_owned()))
    }
}

impl UsersFile {
    /// Reads `path`. A missing file is an error here; [`UsersFile::load_or_default`] is for the CLI.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        warn_if_readable_by_others(path);
        Self::parse(&text).map_err(|message| Error::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Reads `path`, or an empty file when it does not exist yet.
    pub fn load_or_default(path: &Path) -> Result<Self> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            _ => Self::load(path),
        }
    }

    /// Parses the TOML text and checks names and uniqueness.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let file: UsersFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = std::collections::HashSet::new();
        for u in &file.users {
            check_name(&u.name).map_err(|e| e.to_string())?;
            if !seen.insert(u.name.as_str()) {
                return Err(format!("user {:?} appears twice", u.name));
            }
        }
        Ok(file)
    }

    /// The TOML text.
    pub fn to_toml(&self) -> String {
        let mut s = String::from(
            "# homestream accounts: edit with `homestream user ...` and `homestream token ...`\n\n",
        );
        // Serialising plain strings and integers cannot fail.
        s.push_str(&toml::to_string(self).unwrap_or_default());
        s
    }

    /// Writes the file atomically: temporary file (0600) in the same folder, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::private_file::write(path, self.to_toml().as_bytes())
    }

    /// The account called `name`.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Adds or (with `replace`) updates an account.
    pub fn set_user(&mut self, name: &str, hash: String, replace: bool) -> Result<()> {
        check_name(name)?;
        match self.users.iter_mut().find(|u| u.name == name) {
            Some(_) if !replace => Err(Error::UserExists(name.to_owned())),
            Some(u) => {
                u.hash = hash;
                Ok(())
            }
            None => {
                self.users.push(User {
                    name: name.to_owned(),
                    hash,
                });
                Ok(())
            }
        }
    }

    /// Removes an account and its tokens.
    pub fn remove_user(&mut self, name: &str) -> Result<()> {
        let before = self.users.len();
        self.users.retain(|u| u.name != name);
        if self.users.len() == before {
            return Err(Error::NoSuchUser(name.to_owned()));
        }
        self.tokens.retain(|t| t.user != name);
        Ok(())
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            "{} is readable by other local users; run: chmod 600 {}",
            path.display(),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> UsersFile {
        let mut f = UsersFile::default();
        f.set_user("alice", "$argon2id$x".into(), false).unwrap();
        f.set_user("bob.b@home", "$argon2id$y".into(), false)
            .unwrap();
        f.tokens.push(TokenRecord {
            id: "0011aabb".into(),
            user: "alice".into(),
            sha256: "ab".repeat(32),
            created: 5,
            expires: Some(10),
            publish: false,
        });
        f
    }

    #[test]
    fn names() {
        for ok in ["a", "alice", "Bob_2", "x.y@z-w"] {
            check_name(ok).unwrap();
        }
        for bad in ["", "a:b", "a b", "é", "a\n", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn toml_round_trip() {
        let f = sample();
        let text = f.to_toml();
        assert!(
            text.contains("[[user]]") && text.contains("[[token]]"),
            "{text}"
        );
        assert_eq!(UsersFile::parse(&text).unwrap(), f);
    }

    #[test]
    fn duplicates_and_bad_names_refused() {
        let dup = "[[user]]\nname='a'\nhash='h'\n[[user]]\nname='a'\nhash='h'\n";
        assert!(UsersFile::parse(dup).unwrap_err().contains("twice"));
        assert!(UsersFile::parse("[[user]]\nname='a:b'\nhash='h'\n").is_err());
        assert!(UsersFile::parse("user = 3").is_err());
        assert_eq!(UsersFile::parse("").unwrap(), UsersFile::default());
    }

    #[test]
    fn add_replace_remove() {
        let mut f = sample();
        assert!(matches!(
            f.set_user("alice", "h2".into(), false),
            Err(Error::UserExists(_))
        ));
        f.set_user("alice", "h2".into(), true).unwrap();
        assert_eq!(f.user("alice").unwrap().hash, "h2");
        f.remove_user("alice").unwrap();
        assert!(f.user("alice").is_none());
        assert!(f.tokens.is_empty(), "tokens go with their user");
        assert!(matches!(f.remove_user("alice"), Err(Error::NoSuchUser(_))));
    }

    #[test]
    fn save_is_atomic_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        assert_eq!(
            UsersFile::load_or_default(&path).unwrap(),
            UsersFile::default()
        );
        sample().save(&path).unwrap();
        assert_eq!(UsersFile::load(&path).unwrap(), sample());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Only the file itself is left: no temporary files.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn missing_file_is_error_for_load() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            UsersFile::load(&dir.path().join("nope")),
            Err(Error::Io { .. })
        ));
    }
}
