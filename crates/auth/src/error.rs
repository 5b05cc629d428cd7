//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in accounts, tokens and TLS set-up.
///
/// Wrong passwords and rate-limit refusals are not errors: they are outcomes
/// (see [`crate::LoginOutcome`]); this type is for broken files and bad input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The users file is not valid.
    #[error("{path}: not a valid users file: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A user name that cannot be used (empty, too long, or with characters outside `A-Za-z0-9._@-`).
    #[error("invalid user name {0:?}: use 1 to 64 of the characters A-Z a-z 0-9 . _ @ -")]
    InvalidName(String),
    /// `user add` for a name that exists.
    #[error("user {0:?} exists already (use --replace to set a new password)")]
    UserExists(String),
    /// A user that is not in the file.
    #[error("no user {0:?}")]
    NoSuchUser(String),
    /// A token id that is not in the file.
    #[error("no token with id {0:?}")]
    NoSuchToken(String),
    /// A password refused by policy.
    #[error("password refused: {0}")]
    WeakPassword(&'static str),
    /// The two passwords typed differ.
    #[error("the two passwords differ")]
    PasswordMismatch,
    /// argon2 refused the parameters or the stored hash.
    #[error("password hashing: {0}")]
    Hash(String),
    /// A duration such as `30d` that does not parse.
    #[error("invalid duration {0:?}: use a number and one of s, m, h, d, w (e.g. 30d), or `never`")]
    InvalidDuration(String),
    /// Certificate or key problems.
    #[error("TLS: {0}")]
    Tls(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
