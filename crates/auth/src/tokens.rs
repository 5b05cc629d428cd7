//! API tokens for players and scripts (`Authorization: Bearer`, RFC 6750).
//!
//! A token is `hst_<id>_<secret>`: `id` is 8 public hex digits (for `token list` and
//! `token revoke`), `secret` is 256 random bits in hex. Only sha256(secret) is stored;
//! a full token is shown once at creation. Lookup goes by id, then the sha256 of the
//! presented secret is compared with the stored one in constant time (`subtle`).

use std::time::Duration;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::users::{TokenRecord, UsersFile};
use crate::{Error, Result};

const PREFIX: &str = "hst_";

/// Creates a viewer's token for `user` (no publish scope); see [`create_scoped`].
pub fn create(
    file: &mut UsersFile,
    user: &str,
    expires_in: Option<Duration>,
    now_unix: u64,
) -> Result<(TokenRecord, String)> {
    create_scoped(file, user, expires_in, false, now_unix)
}

/// Creates a token for `user`, allowed to publish when `publish` is set, adds its record to
/// `file` and returns the full token (the only time it exists outside the caller's hands).
pub fn create_scoped(
    file: &mut UsersFile,
    user: &str,
    expires_in: Option<Duration>,
    publish: bool,
    now_unix: u64,
) -> Result<(TokenRecord, String)> {
    if file.user(user).is_none() {
        return Err(Error::NoSuchUser(user.to_owned()));
    }
    let id = loop {
        let id = hex::encode(rand::random::<[u8; 4]>());
        if !file.tokens.iter().any(|t| t.id == id) {
            break id;
        }
    };
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let record = TokenRecord {
        id: id.clone(),
        user: user.to_owned(),
        sha256: hex::encode(Sha256::digest(secret.as_bytes())),
        created: now_unix,
        expires: expires_in.map(|d| now_unix.saturating_add(d.as_secs())),
        publish,
    };
    file.tokens.push(record.clone());
    Ok((record, format!("{PREFIX}{id}_{secret}")))
}

/// Removes the token `id`.
pub fn revoke(file: &mut UsersFile, id: &str) -> Result<TokenRecord> {
    let pos = file
        .tokens
        .iter()
        .position(|t| t.id == id)
        .ok_or_else(|| Error::NoSuchToken(id.to_owned()))?;
    Ok(file.tokens.remove(pos))
}

/// Why a presented token was refused (for the log line; the client only sees 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not of the form `hst_<id>_<secret>`.
    Malformed,
    /// No token with that id (never issued, or revoked).
    Unknown,
    /// The secret does not match.
    Mismatch,
    /// Past its expiry.
    Expired,
    /// Its user was removed.
    NoUser,
}

/// The user name a token acts as, when it is valid at `now_unix`.
pub fn verify<'a>(
    file: &'a UsersFile,
    token: &str,
    now_unix: u64,
) -> std::result::Result<&'a str, TokenRefusal> {
    verify_scoped(file, token, now_unix).map(|(user, _)| user)
}

/// [`verify`], with whether the token has the publish scope.
pub fn verify_scoped<'a>(
    file: &'a UsersFile,
    token: &str,
    now_unix: u64,
) -> std::result::Result<(&'a str, bool), TokenRefusal> {
    let rest = token.strip_prefix(PREFIX).ok_or(TokenRefusal::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(TokenRefusal::Malformed)?;
    let record = file
        .tokens
        .iter()
        .find(|t| t.id == id)
        .ok_or(TokenRefusal::Unknown)?;
    let presented = Sha256::digest(secret.as_bytes());
    let stored = hex::decode(&record.sha256).map_err(|_| TokenRefusal::Mismatch)?;
    if !bool::from(presented.as_slice().ct_eq(&stored)) {
        return Err(TokenRefusal::Mismatch);
    }
    if record.expires.is_some_and(|e| now_unix >= e) {
        return Err(TokenRefusal::Expired);
    }
    let user = file.user(&record.user).ok_or(TokenRefusal::NoUser)?;
    Ok((&user.name, record.publish))
}

/// Parses `30d`, `12h`, `90m`, `45s`, `2w` or `never` (= `None`).
pub fn parse_duration(s: &str) -> Result<Option<Duration>> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let bad = || Error::InvalidDuration(s.to_owned());
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(bad());
    }
    Ok(Some(Duration::from_secs(
        n.checked_mul(mult).ok_or_else(bad)?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> UsersFile {
        let mut f = UsersFile::default();
        f.set_user("alice", "h".into(), false).unwrap();
        f
    }

    #[test]
    fn create_verify_revoke() {
        let mut f = file();
        let (rec, tok) = create(&mut f, "alice", Some(Duration::from_secs(100)), 1000).unwrap();
        assert_eq!(tok.len(), 4 + 8 + 1 + 64);
        assert_eq!(rec.expires, Some(1100));
        assert!(
            !f.to_toml().contains(&tok[13..]),
            "secret must not be stored"
        );
        assert_eq!(verify(&f, &tok, 1000), Ok("alice"));
        assert_eq!(verify(&f, &tok, 1099), Ok("alice"));
        assert_eq!(verify(&f, &tok, 1100), Err(TokenRefusal::Expired));
        let mut wrong = tok.clone();
        wrong.pop();
        wrong.push(if tok.ends_with('0') { '1' } else { '0' });
        assert_eq!(verify(&f, &wrong, 1000), Err(TokenRefusal::Mismatch));
        revoke(&mut f, &rec.id).unwrap();
        assert_eq!(verify(&f, &tok, 1000), Err(TokenRefusal::Unknown));
        assert!(matches!(
            revoke(&mut f, &rec.id),
            Err(Error::NoSuchToken(_))
        ));
    }

    #[test]
    fn malformed_and_orphans() {
        let mut f = file();
        assert!(matches!(
            create(&mut f, "bob", None, 0),
            Err(Error::NoSuchUser(_))
        ));
        let (_, tok) = create(&mut f, "alice", None, 0).unwrap();
        assert_eq!(verify(&f, &tok, u64::MAX), Ok("alice"), "never expires");
        for bad in ["", "hst_", "abc", "hst_nounderscore", "Bearer x"] {
            assert_eq!(verify(&f, bad, 0), Err(TokenRefusal::Malformed), "{bad}");
        }
        f.users.clear();
        assert_eq!(verify(&f, &tok, 0), Err(TokenRefusal::NoUser));
    }

    #[test]
    fn tokens_are_unique() {
        let mut f = file();
        let a = create(&mut f, "alice", None, 0).unwrap().1;
        let b = create(&mut f, "alice", None, 0).unwrap().1;
        assert_ne!(a, b);
        assert_ne!(f.tokens[0].id, f.tokens[1].id);
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("30d").unwrap(),
            Some(Duration::from_secs(30 * 86400))
        );
        assert_eq!(
            parse_duration("12h").unwrap(),
            Some(Duration::from_secs(43200))
        );
        assert_eq!(
            parse_duration("90m").unwrap(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            parse_duration("2w").unwrap(),
            Some(Duration::from_secs(1209600))
        );
        assert_eq!(parse_duration("never").unwrap(), None);
        for bad in ["", "d", "30", "30x", "-1d", "0d", "99999999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
