use std::path::PathBuf;

/// Why a library operation failed. Request-facing variants map to 404 without saying why,
/// so that probing cannot tell a forbidden path from a missing one; the log line says why.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL path is malformed or tries to leave the served folders.
    #[error("refused path {path:?}: {reason}")]
    Refused { path: String, reason: &'static str },
    /// Nothing there (or a symlink that points outside the served folders).
    #[error("not found: {0:?}")]
    NotFound(String),
    /// A folder given on the command line cannot be served.
    #[error("cannot serve {path}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    /// I/O on a file inside the library.
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
