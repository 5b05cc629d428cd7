//! argon2id password hashing (RFC 9106) with configurable cost.
//!
//! Defaults follow the OWASP Password Storage Cheat Sheet's argon2id line
//! (m = 19 MiB, t = 2, p = 1), which is also argon2 0.6's default. Tests use
//! [`HashParams::cheap`] so a thousand verifications take milliseconds.
//! Verification compares the derived key in constant time (inside argon2's
//! `password-hash` crate); unknown users are checked against a dummy hash so
//! the answer takes as long as for a known one.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};

use crate::{Error, Result};

/// Cost parameters for new hashes. Stored hashes carry their own parameters (PHC string),
/// so changing these never breaks existing users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for HashParams {
    /// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        HashParams {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl HashParams {
    /// Deliberately weak parameters for tests only (8 KiB, 1 pass).
    pub fn cheap() -> Self {
        HashParams {
            m_cost_kib: 8,
            t_cost: 1,
            p_cost: 1,
        }
    }

    fn hasher(&self) -> Result<Argon2<'static>> {
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, None)
            .map_err(|e| Error::Hash(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hashes `password` with a fresh random salt into a PHC string (`$argon2id$v=19$...`).
pub fn hash_password(password: &str, params: HashParams) -> Result<String> {
    let hash = params
        .hasher()?
        .hash_password(password.as_bytes())
        .map_err(|e| Error::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// True when `password` matches the PHC string `phc`. A malformed stored hash is `false`
/// (and logged), never a panic: the file may have been edited by hand.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match Argon2::default().verify_password(password.as_bytes(), phc) {
        Ok(()) => true,
        Err(argon2::password_hash::Error::PasswordInvalid) => false,
        Err(e) => {
            tracing::warn!("stored password hash is unusable: {e}");
            false
        }
    }
}

/// Checks a new password against the (small) policy: 8 to 1024 characters, no control characters.
pub fn check_new_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < 8 {
        return Err(Error::WeakPassword("use at least 8 characters"));
    }
    if n > 1024 {
        return Err(Error::WeakPassword("use at most 1024 characters"));
    }
    if password.chars().any(char::is_control) {
        return Err(Error::WeakPassword("control characters are not allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash_password("correct horse", HashParams::cheap()).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("", &h));
    }

    #[test]
    fn salts_differ() {
        let a = hash_password("same password", HashParams::cheap()).unwrap();
        let b = hash_password("same password", HashParams::cheap()).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn defaults_are_owasp() {
        let p = HashParams::default();
        assert_eq!((p.m_cost_kib, p.t_cost, p.p_cost), (19456, 2, 1));
    }

    #[test]
    fn malformed_hash_is_false() {
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("x", "$argon2id$v=19$m=8,t=1,p=1$AAAA"));
    }

    #[test]
    fn policy() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_new_password("tab\tinside!").is_err());
    }
}
