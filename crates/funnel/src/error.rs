//! The funnel's one error type. Every error a player or downloader sees is also logged once, with
//! the byte range and the origin's answer, so a failure is never silent.

/// Errors of the funnel engine. `Clone` because one fatal origin error is handed to every reader.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The origin's representation changed (ETag/Last-Modified/size differ from the pinned ones).
    #[error(
        "the remote file changed during the transfer ({0}); stopped rather than mix bytes of two versions"
    )]
    OriginChanged(String),
    /// A byte range could not be fetched after all retries.
    #[error("bytes {start}-{end} failed after {attempts} attempts: {last}")]
    GaveUp {
        start: u64,
        end: u64,
        attempts: u32,
        last: String,
    },
    /// The origin answered with a status that retrying cannot fix (404, 403...).
    #[error("origin answered {status} for {what}")]
    Status { status: u16, what: String },
    /// The origin's answer does not follow RFC 9110 (e.g. a 206 for the wrong range).
    #[error("origin protocol error: {0}")]
    Protocol(String),
    /// Network or TLS failure talking to the origin.
    #[error("request to origin failed: {0}")]
    Http(String),
    /// Bad input from the user (URL, header syntax).
    #[error("{0}")]
    Usage(String),
    /// Local file or socket trouble.
    #[error("{context}: {message}")]
    Io { context: String, message: String },
    /// The downloaded file's SHA-256 is not the expected one.
    #[error("SHA-256 mismatch: expected {expected}, got {actual}")]
    Checksum { expected: String, actual: String },
    /// The transfer was shut down.
    #[error("transfer cancelled")]
    Cancelled,
}

impl Error {
    /// Wraps an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, e: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            message: e.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
