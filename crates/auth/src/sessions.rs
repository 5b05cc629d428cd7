//! Browser sessions: random 256-bit ids held in memory with an absolute expiry.
//!
//! The cookie carries the id; the store keys sessions by sha256(id), so a map lookup
//! never compares secret bytes in variable time and a memory dump holds no usable ids.
//! Logout deletes the entry, so a copied cookie dies with it. Sessions do not survive
//! a restart (users log in again), which is the safe default for a home server.
//!
//! Bounded: at most `max` sessions. Policy when full: drop expired ones, then evict
//! the session closest to expiry (the oldest login).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// One login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The account.
    pub user: String,
    /// When it ends.
    pub expires: Instant,
}

/// The in-memory session table (sans-IO: callers pass `now`).
#[derive(Debug)]
pub struct SessionStore {
    map: HashMap<[u8; 32], Session>,
    ttl: Duration,
    max: usize,
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl SessionStore {
    /// A store whose sessions last `ttl`, holding at most `max` (at least 1).
    pub fn new(ttl: Duration, max: usize) -> Self {
        SessionStore {
            map: HashMap::new(),
            ttl,
            max: max.max(1),
        }
    }

    /// Session lifetime (the cookie's Max-Age).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session for `user`; returns the id for the cookie (64 hex digits).
    pub fn create(&mut self, user: &str, now: Instant) -> String {
        if self.map.len() >= self.max {
            self.purge_expired(now);
        }
        if self.map.len() >= self.max
            && let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| *k)
        {
            self.map.remove(&oldest);
        }
        let id = hex::encode(rand::random::<[u8; 32]>());
        self.map.insert(
            key(&id),
            Session {
                user: user.to_owned(),
                expires: now + self.ttl,
            },
        );
        id
    }

    /// The user of a live session.
    pub fn get(&self, id: &str, now: Instant) -> Option<&Session> {
        self.map.get(&key(id)).filter(|s| now < s.expires)
    }

    /// Ends a session; true when it existed.
    pub fn remove(&mut self, id: &str) -> bool {
        self.map.remove(&key(id)).is_some()
    }

    /// Ends every session of `user` (account removed).
    pub fn remove_user(&mut self, user: &str) {
        self.map.retain(|_, s| s.user != user);
    }

    /// Drops expired sessions.
    pub fn purge_expired(&mut self, now: Instant) {
        self.map.retain(|_, s| now < s.expires);
    }

    /// Number of sessions held (live or not yet purged).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no sessions are held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_get_expire_remove() {
        let t0 = Instant::now();
        let mut s = SessionStore::new(Duration::from_secs(10), 100);
        let id = s.create("alice", t0);
        assert_eq!(id.len(), 64);
        assert_eq!(s.get(&id, t0).unwrap().user, "alice");
        assert!(s.get(&id, t0 + Duration::from_secs(9)).is_some());
        assert!(
            s.get(&id, t0 + Duration::from_secs(10)).is_none(),
            "expired"
        );
        assert!(s.get("0".repeat(64).as_str(), t0).is_none());
        assert!(s.remove(&id));
        assert!(!s.remove(&id));
        assert!(s.get(&id, t0).is_none(), "logout ends it");
    }

    #[test]
    fn ids_are_random_and_not_stored() {
        let t0 = Instant::now();
        let mut s = SessionStore::new(Duration::from_secs(10), 100);
        let a = s.create("alice", t0);
        let b = s.create("alice", t0);
        assert_ne!(a, b);
        assert!(!format!("{:?}", s).contains(&a));
    }

    #[test]
    fn bounded_evicts_oldest() {
        let t0 = Instant::now();
        let mut s = SessionStore::new(Duration::from_secs(100), 3);
        let ids: Vec<String> = (0..3)
            .map(|i| s.create("u", t0 + Duration::from_secs(i)))
            .collect();
        let newest = s.create("u", t0 + Duration::from_secs(5));
        assert_eq!(s.len(), 3);
        let now = t0 + Duration::from_secs(6);
        assert!(s.get(&ids[0], now).is_none(), "oldest evicted");
        assert!(s.get(&ids[1], now).is_some());
        assert!(s.get(&newest, now).is_some());
    }

    #[test]
    fn expired_purged_first_and_remove_user() {
        let t0 = Instant::now();
        let mut s = SessionStore::new(Duration::from_secs(1), 2);
        s.create("a", t0);
        let b = s.create("b", t0 + Duration::from_millis(500));
        s.create("c", t0 + Duration::from_millis(1200));
        // a expired and was purged, b stays.
        assert!(s.get(&b, t0 + Duration::from_millis(1300)).is_some());
        s.remove_user("b");
        assert!(s.get(&b, t0 + Duration::from_millis(1300)).is_none());
        assert_eq!(s.len(), 1);
    }
}
