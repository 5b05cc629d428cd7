//! Sans-IO parser for `multipart/x-mixed-replace` (RFC 2046 §5.1, §5.1.1): bytes in, parts out.
//!
//! Feed it the response body as it arrives ([`Parser::push`]) and take parts out
//! ([`Parser::next_part`]) until it says it needs more. Each part is handed over the moment it
//! is complete: as soon as its `Content-Length` bytes are in when it declares a length, or when
//! the next delimiter line is seen when it does not. [`Parser::finish`] hands over the last part
//! of a body that simply stopped (no closing delimiter), which a parser that waits for the next
//! delimiter would lose.
//!
//! Accepted on the wire: preambles and epilogues, CRLF or bare LF, transport padding after the
//! boundary, the closing delimiter, header names in any case, and a `Content-Length` that lies
//! (the parser resynchronises on the next delimiter). Memory is bounded by [`Limits`].
//!
//! Speed: the boundary is found with `memchr::memmem`; bodies are split off the receive buffer
//! (`BytesMut::split_to` + `freeze`), so a frame is never copied after it was received.
//! Chunked transfer coding is undone below us by the HTTP client.

use crate::boundary::{Boundary, Line};
use crate::{Error, headers};
use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use std::time::SystemTime;

/// One part of the multipart body: its headers and its bytes (for MJPEG, one JPEG frame).
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The part's headers (names lower-cased by `http`).
    pub headers: HeaderMap,
    /// The part's body, shared without copying.
    pub body: Bytes,
}

impl Part {
    /// The part's `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    /// Capture time from `X-Timestamp` (Unix seconds with decimals, as homestream, ustreamer
    /// and mjpg-streamer write it).
    pub fn timestamp(&self) -> Option<SystemTime> {
        let v = self.headers.get("x-timestamp")?.to_str().ok()?;
        crate::writer::parse_timestamp(v)
    }
}

/// Bounds on what one part may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest part body, in bytes. Default 16 MiB (a 4K JPEG is 1-3 MiB).
    pub max_part: usize,
    /// Largest header block, in bytes. Default 16 KiB.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_part: 16 << 20,
            max_headers: 16 << 10,
        }
    }
}

#[derive(Debug)]
enum State {
    /// Looking for a delimiter line: the preamble, or junk after a part that lied about its length.
    Seek { from: usize },
    /// Reading a part's header block; lines before `from` have been looked at.
    Headers { from: usize },
    /// Reading a body of known length.
    Sized { len: usize, headers: HeaderMap },
    /// After a sized body: the line end and the next delimiter line should follow.
    AfterSized,
    /// Reading a body of unknown length, looking for the delimiter from `from` on.
    Scan { from: usize, headers: HeaderMap },
    /// After the closing delimiter: everything is epilogue and ignored.
    Epilogue,
    /// An error was reported.
    Failed,
}

/// The parser. See the module docs.
#[derive(Debug)]
pub struct Parser {
    boundary: Boundary,
    limits: Limits,
    use_content_length: bool,
    buf: BytesMut,
    state: State,
    /// In `Seek`, whether `buf[0]` starts a line.
    bol0: bool,
    parts: u64,
    resyncs: u64,
}

impl Parser {
    /// A parser for the given boundary with default [`Limits`].
    pub fn new(boundary: Boundary) -> Self {
        Self {
            boundary,
            limits: Limits::default(),
            use_content_length: true,
            buf: BytesMut::with_capacity(64 << 10),
            state: State::Seek { from: 0 },
            bol0: true,
            parts: 0,
            resyncs: 0,
        }
    }

    /// A parser for the boundary of a `multipart/*` `Content-Type` header value.
    pub fn from_content_type(content_type: &str) -> Result<Self, Error> {
        Boundary::from_content_type(content_type).map(Self::new)
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// When `false`, `Content-Length` is ignored and every body is found by scanning for the
    /// next delimiter (for tests, and servers known to send wrong lengths).
    pub fn use_content_length(mut self, yes: bool) -> Self {
        self.use_content_length = yes;
        self
    }

    /// Parts handed over so far.
    pub fn parts(&self) -> u64 {
        self.parts
    }

    /// How many times a part's `Content-Length` did not match the bytes (the parser then
    /// searched for the next delimiter).
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// Whether the closing delimiter was seen.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Epilogue)
    }

    /// Adds received bytes. Call [`Parser::next_part`] until it returns `Ok(None)` afterwards.
    pub fn push(&mut self, data: &[u8]) {
        match self.state {
            State::Epilogue | State::Failed => {}
            _ => self.buf.extend_from_slice(data),
        }
    }

    /// The next complete part, `Ok(None)` if more bytes are needed. After an error the parser
    /// is spent: it returns [`Error::ParserFailed`] from then on.
    pub fn next_part(&mut self) -> Result<Option<Part>, Error> {
        let r = self.step();
        if r.is_err() {
            self.state = State::Failed;
            self.buf = BytesMut::new();
        }
        r
    }

    /// The body ended: hands over a part whose body was still open (one without
    /// `Content-Length`, which ends at the end of the stream), minus a trailing line end and
    /// partial delimiter. A body cut short of its `Content-Length` is [`Error::Truncated`].
    /// Call [`Parser::next_part`] until `Ok(None)` before this.
    pub fn finish(&mut self) -> Result<Option<Part>, Error> {
        let state = std::mem::replace(&mut self.state, State::Epilogue);
        let buf = std::mem::take(&mut self.buf);
        match state {
            State::Scan { headers, .. } => {
                let mut buf = buf;
                let end = self.open_body_end(&buf);
                if end == 0 && headers.is_empty() {
                    return Ok(None);
                }
                if end > self.limits.max_part {
                    self.state = State::Failed;
                    return Err(Error::PartTooLarge {
                        part: self.parts,
                        limit: self.limits.max_part,
                        declared: None,
                    });
                }
                buf.truncate(end);
                self.parts += 1;
                Ok(Some(Part {
                    headers,
                    body: buf.freeze(),
                }))
            }
            State::Sized { len, .. } => {
                self.state = State::Failed;
                Err(Error::Truncated {
                    part: self.parts,
                    expected: len,
                    got: buf.len(),
                })
            }
            State::Failed => {
                self.state = State::Failed;
                Err(Error::ParserFailed)
            }
            _ => Ok(None),
        }
    }

    /// Where an unterminated body ends: before a partial delimiter line and the line end
    /// before it, or before a last line end (the CRLF that RFC 2046 gives to the delimiter).
    fn open_body_end(&self, buf: &[u8]) -> usize {
        let line = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
        let mut end = if self.boundary.line_at(buf, line) == Line::Incomplete {
            line
        } else {
            buf.len()
        };
        if end > 0 && buf[end - 1] == b'\n' {
            end -= 1;
        }
        if end > 0 && buf[end - 1] == b'\r' {
            end -= 1;
        }
        end
    }

    fn step(&mut self) -> Result<Option<Part>, Error> {
        loop {
            let state = std::mem::replace(&mut self.state, State::Failed);
            match state {
                State::Failed => return Err(Error::ParserFailed),
                State::Epilogue => {
                    self.buf.clear();
                    self.state = State::Epilogue;
                    return Ok(None);
                }
                State::Seek { from } => {
                    if !self.seek(from) {
                        return Ok(None);
                    }
                }
                State::Headers { from } => {
                    if !self.headers(from)? {
                        return Ok(None);
                    }
                }
                State::Sized { len, headers } => {
                    if self.buf.len() < len {
                        self.buf
                            .reserve(len - self.buf.len() + self.boundary.max_line_len());
                        self.state = State::Sized { len, headers };
                        return Ok(None);
                    }
                    let body = self.buf.split_to(len).freeze();
                    self.state = State::AfterSized;
                    self.parts += 1;
                    return Ok(Some(Part { headers, body }));
                }
                State::AfterSized => {
                    if !self.after_sized() {
                        return Ok(None);
                    }
                }
                State::Scan { from, headers } => {
                    if let Some(part) = self.scan(from, headers)? {
                        return Ok(Some(part));
                    }
                    if matches!(self.state, State::Scan { .. }) {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Enters the state a delimiter line leads to, dropping the bytes up to `end`.
    fn after_delimiter(&mut self, line: Line) {
        match line {
            Line::Delimiter { end } => {
                self.buf.advance(end);
                self.state = State::Headers { from: 0 };
            }
            _ => {
                self.buf.clear();
                self.state = State::Epilogue;
            }
        }
    }

    /// Looks for a delimiter line; returns whether the state moved on.
    fn seek(&mut self, mut from: usize) -> bool {
        loop {
            let Some(p) = self.boundary.find(&self.buf, from) else {
                // Keep only what may begin a delimiter line.
                if let Some(nl) = memchr::memrchr(b'\n', &self.buf) {
                    self.buf.advance(nl + 1);
                    self.bol0 = true;
                }
                let keep = self.boundary.max_line_len();
                if self.buf.len() > keep {
                    self.buf.advance(self.buf.len() - keep);
                    self.bol0 = false;
                }
                let from = self.buf.len().saturating_sub(self.boundary.core_len() - 1);
                self.state = State::Seek { from };
                return false;
            };
            let q = self.boundary.dashes_start(&self.buf, p);
            let bol = if q == 0 {
                self.bol0
            } else {
                self.buf[q - 1] == b'\n'
            };
            if !bol {
                from = p + 1;
                continue;
            }
            match self.boundary.line_at(&self.buf, q) {
                Line::No => from = p + 1,
                Line::Incomplete => {
                    self.buf.advance(q);
                    self.bol0 = true;
                    self.state = State::Seek { from: p - q };
                    return false;
                }
                line => {
                    self.after_delimiter(line);
                    return true;
                }
            }
        }
    }

    /// Reads header lines; returns whether the block is complete.
    fn headers(&mut self, mut from: usize) -> Result<bool, Error> {
        loop {
            let Some(nl) = memchr::memchr(b'\n', &self.buf[from..]).map(|i| i + from) else {
                if self.buf.len() > self.limits.max_headers {
                    return Err(Error::HeadersTooLarge {
                        part: self.parts,
                        limit: self.limits.max_headers,
                    });
                }
                self.state = State::Headers { from };
                return Ok(false);
            };
            if nl + 1 > self.limits.max_headers {
                return Err(Error::HeadersTooLarge {
                    part: self.parts,
                    limit: self.limits.max_headers,
                });
            }
            let line = &self.buf[from..nl];
            if line.is_empty() || line == b"\r" {
                let (headers, len) = headers::parse_block(&self.buf[..from]);
                self.buf.advance(nl + 1);
                self.state = match len.filter(|_| self.use_content_length) {
                    Some(len) if len > self.limits.max_part => {
                        return Err(Error::PartTooLarge {
                            part: self.parts,
                            limit: self.limits.max_part,
                            declared: Some(len),
                        });
                    }
                    Some(len) => State::Sized { len, headers },
                    None => State::Scan { from: 0, headers },
                };
                return Ok(true);
            }
            from = nl + 1;
        }
    }

    /// After a sized body: skips the line end and expects a delimiter. Returns whether the
    /// state moved on.
    fn after_sized(&mut self) -> bool {
        const MAX_GAP: usize = 16;
        let gap = self
            .buf
            .iter()
            .take(MAX_GAP + 1)
            .take_while(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
            .count();
        if gap == self.buf.len() {
            self.state = State::AfterSized;
            return false;
        }
        match self.boundary.line_at(&self.buf, gap) {
            Line::Incomplete => {
                self.state = State::AfterSized;
                false
            }
            Line::No => {
                self.resyncs += 1;
                tracing::debug!(
                    part = self.parts,
                    "part did not end where its Content-Length said; resynchronising"
                );
                self.bol0 = false;
                self.state = State::Seek { from: 0 };
                true
            }
            line => {
                self.after_delimiter(line);
                true
            }
        }
    }

    /// Scans a body of unknown length for the next delimiter line.
    fn scan(&mut self, mut from: usize, headers: HeaderMap) -> Result<Option<Part>, Error> {
        loop {
            let Some(p) = self.boundary.find(&self.buf, from) else {
                if self.buf.len() > self.limits.max_part + self.boundary.max_line_len() {
                    return Err(Error::PartTooLarge {
                        part: self.parts,
                        limit: self.limits.max_part,
                        declared: None,
                    });
                }
                let from = self.buf.len().saturating_sub(self.boundary.core_len() - 1);
                self.state = State::Scan { from, headers };
                return Ok(None);
            };
            let q = self.boundary.dashes_start(&self.buf, p);
            if q > 0 && self.buf[q - 1] != b'\n' {
                from = p + 1;
                continue;
            }
            match self.boundary.line_at(&self.buf, q) {
                Line::No => from = p + 1,
                Line::Incomplete => {
                    self.state = State::Scan { from: p, headers };
                    return Ok(None);
                }
                line => {
                    let mut end = q.saturating_sub(1);
                    if end > 0 && self.buf[end - 1] == b'\r' {
                        end -= 1;
                    }
                    if end > self.limits.max_part {
                        return Err(Error::PartTooLarge {
                            part: self.parts,
                            limit: self.limits.max_part,
                            declared: None,
                        });
                    }
                    let body = self.buf.split_to(end).freeze();
                    let line = match line {
                        Line::Delimiter { end: e } => Line::Delimiter { end: e - end },
                        Line::Close { end: e } => Line::Close { end: e - end },
                        other => other,
                    };
                    self.after_delimiter(line);
                    self.parts += 1;
                    return Ok(Some(Part { headers, body }));
                }
            }
        }
    }
}
