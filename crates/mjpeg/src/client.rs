//! Connects to an MJPEG URL and reads frames: the async shell around [`crate::Parser`].
//!
//! [`Client::connect`] makes one request and gives a [`FrameStream`] of every frame of that
//! response, in order: the reader sets the pace (TCP backpressure), nothing is skipped. For
//! "always the newest frame" with reconnects, use [`crate::Capture`].

use crate::{Boundary, Error, Frame, Limits, Parser};
use futures_util::Stream;
use http::{HeaderName, HeaderValue};
use reqwest::Url;
use std::time::{Duration, Instant, SystemTime};

/// Credentials sent with every request.
#[derive(Clone)]
pub enum Auth {
    /// HTTP basic authentication (RFC 7617).
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Bearer TOKEN` (RFC 6750).
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    // Never print secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Auth::Bearer(_) => write!(f, "Bearer(***)"),
        }
    }
}

/// How long to wait between reconnects: doubling from `initial` up to `max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// First wait. Default 250 ms.
    pub initial: Duration,
    /// Longest wait. Default 10 s.
    pub max: Duration,
    /// Give up after this many failed attempts in a row; `None` retries for ever (default).
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(10),
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The wait before attempt `n` (1-based) of a run of failures.
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// What to connect to and how.
#[derive(Clone, Debug)]
pub struct Options {
    /// The stream's URL. `http://user:password@host/...` sends basic auth.
    pub url: String,
    /// Credentials (take precedence over any in the URL).
    pub auth: Option<Auth>,
    /// Extra request headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Time allowed to connect and get the response headers. Default 10 s.
    pub connect_timeout: Duration,
    /// Longest silence while reading the body. Default 10 s.
    pub read_timeout: Duration,
    /// Bounds on part sizes.
    pub limits: Limits,
    /// Reconnect policy of [`crate::Capture`].
    pub backoff: Backoff,
    /// More certificate authorities to trust (PEM), besides the system's: a server's own
    /// certificate, say.
    pub ca_pem: Option<Vec<u8>>,
    /// Accept any certificate, unverified (a `--tls-self-signed` server on a trusted LAN).
    pub insecure: bool,
}

impl Options {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            auth: None,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            backoff: Backoff::default(),
            ca_pem: None,
            insecure: false,
        }
    }
}

/// A certificate refusal is its own error (the fix is an option, not a retry); the rest is
/// "unreachable".
fn unreachable(url: String, source: reqwest::Error) -> Error {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&source);
    while let Some(e) = cause {
        let text = e.to_string();
        if text.contains("certificate") {
            return Error::Untrusted { url, detail: text };
        }
        cause = e.source();
    }
    Error::Unreachable { url, source }
}

/// `url` without its `user:password@` (for titles and messages); unparsable input as it is.
pub fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            // Clearing credentials fails only on URLs that cannot hold them: nothing to clear.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// A configured client; cheap to clone, reusable for reconnects.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    url: Url,
    /// The URL without credentials, for messages.
    shown: String,
    auth: Option<Auth>,
    opts: Options,
}

impl Client {
    /// Checks the options and builds the HTTP client.
    pub fn new(opts: Options) -> Result<Self, Error> {
        let mut url =
            Url::parse(&opts.url).map_err(|e| Error::Config(format!("URL {:?}: {e}", opts.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "URL {:?}: only http and https are supported",
                opts.url
            )));
        }
        let mut auth = opts.auth.clone();
        if !url.username().is_empty() || url.password().is_some() {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let user = decode(url.username());
            let password = decode(url.password().unwrap_or(""));
            auth.get_or_insert(Auth::Basic { user, password });
            // Setting empty credentials on an http(s) URL cannot fail.
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        let mut builder = reqwest::Client::builder().connect_timeout(opts.connect_timeout);
        if let Some(pem) = &opts.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::Config(format!("CA certificates: {e}")))?;
            if certs.is_empty() {
                return Err(Error::Config(
                    "CA certificates: no PEM certificate found".into(),
                ));
            }
            builder = builder.tls_certs_merge(certs);
        }
        if opts.insecure {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            shown: url.to_string(),
            url,
            auth,
            opts,
        })
    }

    /// The options this client was built with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The URL without credentials.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// Makes the request and checks the answer is a multipart stream. Frames are numbered from 0.
    pub async fn connect(&self) -> Result<FrameStream, Error> {
        self.connect_from(0).await
    }

    pub(crate) async fn connect_from(&self, first_seq: u64) -> Result<FrameStream, Error> {
        let mut req = self.http.get(self.url.clone());
        for (name, value) in &self.opts.headers {
            req = req.header(name, value);
        }
        req = match &self.auth {
            Some(Auth::Basic { user, password }) => req.basic_auth(user, Some(password)),
            Some(Auth::Bearer(token)) => req.bearer_auth(token),
            None => req,
        };
        let url = self.shown.clone();
        let limit = self.opts.connect_timeout + self.opts.read_timeout;
        let resp = match tokio::time::timeout(limit, req.send()).await {
            Err(_) => {
                return Err(Error::Timeout {
                    url,
                    secs: limit.as_secs_f64(),
                });
            }
            Ok(Err(source)) => return Err(unreachable(url, source)),
            Ok(Ok(resp)) => resp,
        };
        let status = resp.status();
        if status == http::StatusCode::UNAUTHORIZED || status == http::StatusCode::FORBIDDEN {
            return Err(Error::AuthRefused { url, status });
        }
        if !status.is_success() {
            return Err(Error::Status { url, status });
        }
        let content_type = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let mut stream = FrameStream {
            parser: Parser::new(Boundary::new("unset")?),
            resp,
            url,
            content_type,
            sniffed: Vec::new(),
            next_seq: first_seq,
            read_timeout: self.opts.read_timeout,
            done: false,
        };
        let boundary = match Boundary::from_content_type(&stream.content_type) {
            Err(Error::NotMultipart { content_type }) => stream.sniff(content_type).await?,
            other => other?,
        };
        stream.parser = Parser::new(boundary).with_limits(self.opts.limits);
        let sniffed = std::mem::take(&mut stream.sniffed);
        stream.parser.push(&sniffed);
        tracing::debug!(url = %stream.url, content_type = %stream.content_type, "connected");
        Ok(stream)
    }
}

/// Every frame of one response, in order. Ends (`None`) at the closing delimiter or when the
/// server closes the connection; the last frame is delivered either way.
#[derive(Debug)]
pub struct FrameStream {
    resp: reqwest::Response,
    parser: Parser,
    url: String,
    content_type: String,
    /// Body bytes read to find the boundary, before the parser existed.
    sniffed: Vec<u8>,
    next_seq: u64,
    read_timeout: Duration,
    done: bool,
}

impl FrameStream {
    /// The response's `Content-Type`.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The sequence number the next frame will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The next frame; `None` when the stream has ended normally.
    pub async fn next_frame(&mut self) -> Option<Result<Frame, Error>> {
        loop {
            if self.done {
                return None;
            }
            match self.parser.next_part() {
                Ok(Some(part)) => return Some(Ok(self.frame(part))),
                Ok(None) if self.parser.is_closed() => {
                    self.done = true;
                    return None;
                }
                Ok(None) => {}
                Err(e) => return Some(Err(self.fail(e))),
            }
            match tokio::time::timeout(self.read_timeout, self.resp.chunk()).await {
                Err(_) => {
                    let secs = self.read_timeout.as_secs_f64();
                    return Some(Err(self.fail(Error::Timeout {
                        url: self.url.clone(),
                        secs,
                    })));
                }
                Ok(Err(source)) => {
                    return Some(Err(self.fail(Error::Body {
                        url: self.url.clone(),
                        source,
                    })));
                }
                Ok(Ok(Some(chunk))) => self.parser.push(&chunk),
                Ok(Ok(None)) => {
                    self.done = true;
                    return match self.parser.finish() {
                        Ok(part) => part.map(|p| Ok(self.frame(p))),
                        Err(e) => Some(Err(e)),
                    };
                }
            }
        }
    }

    /// Turns this into a `Stream` of every frame.
    pub fn into_stream(self) -> impl Stream<Item = Result<Frame, Error>> + Send + Unpin + 'static {
        Box::pin(futures_util::stream::unfold(self, |mut s| async move {
            s.next_frame().await.map(|f| (f, s))
        }))
    }

    /// Reads the start of a body sent under a non-multipart `Content-Type` and takes the
    /// boundary from its first line (see [`Boundary::sniff`]); the bytes read are kept.
    async fn sniff(&mut self, content_type: String) -> Result<Boundary, Error> {
        let not_multipart = || Error::NotMultipart {
            content_type: content_type.clone(),
        };
        loop {
            match Boundary::sniff(&self.sniffed) {
                Ok(Some(b)) => {
                    tracing::debug!(url = %self.url, boundary = %b.declared(), %content_type, "multipart body under a non-multipart Content-Type");
                    return Ok(b);
                }
                Err(()) => return Err(not_multipart()),
                Ok(None) => {}
            }
            match tokio::time::timeout(self.read_timeout, self.resp.chunk()).await {
                Err(_) => {
                    return Err(Error::Timeout {
                        url: self.url.clone(),
                        secs: self.read_timeout.as_secs_f64(),
                    });
                }
                Ok(Err(source)) => {
                    return Err(Error::Body {
                        url: self.url.clone(),
                        source,
                    });
                }
                Ok(Ok(Some(chunk))) => self.sniffed.extend_from_slice(&chunk),
                Ok(Ok(None)) => return Err(not_multipart()),
            }
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        self.done = true;
        e
    }

    fn frame(&mut self, part: crate::Part) -> Frame {
        let seq = self.next_seq;
        self.next_seq += 1;
        Frame {
            seq,
            timestamp: part.timestamp(),
            data: part.body,
            headers: part.headers,
            received: SystemTime::now(),
            received_at: Instant::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_max() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_attempts: None,
        };
        assert_eq!(b.delay(1), Duration::from_millis(100));
        assert_eq!(b.delay(3), Duration::from_millis(400));
        assert_eq!(b.delay(5), Duration::from_secs(1));
        assert_eq!(b.delay(100), Duration::from_secs(1));
    }

    #[test]
    fn url_credentials_become_basic_auth_and_leave_the_url() {
        let c = Client::new(Options::new("http://me:p%40ss@127.0.0.1:1/x.mjpg")).unwrap();
        assert_eq!(c.url(), "http://127.0.0.1:1/x.mjpg");
        assert!(
            matches!(&c.auth, Some(Auth::Basic { user, password }) if user == "me" && password == "p@ss")
        );
        assert!(format!("{:?}", c.auth).contains("***"));
        assert!(matches!(
            Client::new(Options::new("ftp://x/")),
            Err(Error::Config(_))
        ));
    }
}
