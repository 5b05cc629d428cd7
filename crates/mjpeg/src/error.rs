//! The crate's one error type. Every variant says what happened and to what, so that a log
//! line or the `watch` command's message is enough to act on.

use std::path::PathBuf;

/// Errors from parsing, connecting to and saving MJPEG streams.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The response's `Content-Type` is not `multipart/*`.
    #[error("not a multipart stream: Content-Type is {content_type:?}")]
    NotMultipart {
        /// The `Content-Type` the server sent (empty if none).
        content_type: String,
    },
    /// A `multipart/*` `Content-Type` without a usable `boundary` parameter (RFC 2046 §5.1.1).
    #[error("multipart Content-Type {content_type:?} has no usable boundary parameter")]
    MissingBoundary {
        /// The `Content-Type` the server sent.
        content_type: String,
    },
    /// A part is larger than the configured limit.
    #[error("part {part} is larger than the {limit}-byte limit{}", .declared.map(|d| format!(" (Content-Length: {d})")).unwrap_or_default())]
    PartTooLarge {
        /// Zero-based index of the part in this stream.
        part: u64,
        /// The configured limit in bytes.
        limit: usize,
        /// The length the part declared, if it declared one.
        declared: Option<usize>,
    },
    /// A part's header block is larger than the configured limit (no blank line in sight).
    #[error("part {part}'s headers exceed the {limit}-byte limit without a blank line")]
    HeadersTooLarge {
        /// Zero-based index of the part in this stream.
        part: u64,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The stream ended inside a part whose `Content-Length` promised more bytes.
    #[error("stream ended inside part {part}: got {got} of {expected} bytes")]
    Truncated {
        /// Zero-based index of the part in this stream.
        part: u64,
        /// The part's `Content-Length`.
        expected: usize,
        /// The bytes that arrived.
        got: usize,
    },
    /// The parser was used after it reported an error.
    #[error("the parser stopped at an earlier error")]
    ParserFailed,
    /// The URL or another client setting is unusable.
    #[error("invalid setting: {0}")]
    Config(String),
    #[cfg(feature = "client")]
    /// No connection could be made (DNS, refused, connect timeout).
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        /// The URL asked for.
        url: String,
        /// What the HTTP client said.
        #[source]
        source: reqwest::Error,
    },
    #[cfg(feature = "client")]
    /// The TLS handshake failed on the server's certificate (self-signed, unknown issuer,
    /// wrong name).
    #[error(
        "{url}: the server's certificate is not trusted ({detail}); pass --cacert FILE with \
         the certificate it serves, or --insecure on a network you trust"
    )]
    Untrusted {
        /// The URL asked for.
        url: String,
        /// What the TLS library said.
        detail: String,
    },
    /// The server answered 401 or 403.
    #[error("{url}: authentication refused ({status})")]
    AuthRefused {
        /// The URL asked for.
        url: String,
        /// 401 or 403.
        status: http::StatusCode,
    },
    /// The server answered with another non-success status.
    #[error("{url}: server answered {status}")]
    Status {
        /// The URL asked for.
        url: String,
        /// The status it answered with.
        status: http::StatusCode,
    },
    /// Nothing arrived for longer than the read timeout.
    #[error("{url}: no data for {secs:.1} s")]
    Timeout {
        /// The URL asked for.
        url: String,
        /// The timeout that expired, in seconds.
        secs: f64,
    },
    #[cfg(feature = "client")]
    /// The connection broke while the body was being read.
    #[error("{url}: connection lost: {source}")]
    Body {
        /// The URL asked for.
        url: String,
        /// What the HTTP client said.
        #[source]
        source: reqwest::Error,
    },
    /// The stream ended (the server closed it or sent the closing delimiter).
    #[error("the stream ended")]
    Ended,
    /// The capture was released.
    #[error("the capture is released")]
    Released,
    /// Writing a frame to a file failed.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether reconnecting might help (the network or server had a hiccup), as opposed to
    /// errors that will repeat (wrong credentials, not a multipart stream, bad settings).
    pub fn is_transient(&self) -> bool {
        #[cfg(feature = "client")]
        if matches!(self, Error::Unreachable { .. } | Error::Body { .. }) {
            return true;
        }
        matches!(
            self,
            Error::Timeout { .. }
                | Error::Ended
                | Error::Truncated { .. }
                | Error::PartTooLarge { .. }
                | Error::HeadersTooLarge { .. }
                | Error::ParserFailed
        ) || matches!(self, Error::Status { status, .. } if status.is_server_error())
    }
}
