//! The multipart boundary: taken from the `Content-Type` parameter and recognised on the wire.
//!
//! RFC 2046 §5.1.1 puts `--` + boundary at the start of a line (the CRLF before it belongs to the
//! delimiter), `--` + boundary + `--` closes the body, and allows transport padding (spaces,
//! tabs) before the line end. Real servers differ: some IP cameras declare
//! `boundary=--myboundary` and write `--myboundary` as is (no extra dashes), others write the
//! RFC form `----myboundary`; many end lines with a bare LF. We therefore match a line of dashes
//! followed by the boundary without its leading dashes, and accept either dash count.

use crate::Error;
use memchr::memmem;

/// Longest boundary accepted. RFC 2046 allows 70 characters; cameras stay well below this.
const MAX_BOUNDARY: usize = 200;
/// Longest run of transport padding accepted after a delimiter.
const MAX_PADDING: usize = 64;

/// A boundary, ready to be searched for.
#[derive(Clone, Debug)]
pub struct Boundary {
    /// The boundary without its leading dashes.
    core: Vec<u8>,
    /// How many leading dashes the declared parameter had.
    lead: usize,
    finder: memmem::Finder<'static>,
}

/// What a line that starts at a given offset is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// Not a delimiter.
    No,
    /// Could still become a delimiter: more bytes are needed.
    Incomplete,
    /// A delimiter line; the next part's headers start at `end`.
    Delimiter { end: usize },
    /// The closing delimiter (`--boundary--`), which ends at `end`.
    Close { end: usize },
}

impl Boundary {
    /// A boundary from the `boundary` parameter's value (already unquoted).
    pub fn new(param: &str) -> Result<Self, Error> {
        let bytes = param.as_bytes();
        if bytes.is_empty()
            || bytes.len() > MAX_BOUNDARY
            || bytes.iter().any(|b| b.is_ascii_control())
        {
            return Err(Error::MissingBoundary {
                content_type: format!("boundary={param:?}"),
            });
        }
        let lead = bytes.iter().take_while(|&&b| b == b'-').count();
        let (core, lead) = if lead == bytes.len() {
            (bytes.to_vec(), 0)
        } else {
            (bytes[lead..].to_vec(), lead)
        };
        let finder = memmem::Finder::new(&core).into_owned();
        Ok(Self { core, lead, finder })
    }

    /// The boundary of a `multipart/*` `Content-Type` header value, e.g.
    /// `multipart/x-mixed-replace; boundary="--myboundary"`.
    pub fn from_content_type(content_type: &str) -> Result<Self, Error> {
        let mut params = content_type.split(';');
        let media = params.next().unwrap_or_default().trim();
        if !media.to_ascii_lowercase().starts_with("multipart/") {
            return Err(Error::NotMultipart {
                content_type: content_type.to_owned(),
            });
        }
        let missing = || Error::MissingBoundary {
            content_type: content_type.to_owned(),
        };
        let value = params
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
            .map(|(_, v)| unquote(v.trim()))
            .ok_or_else(missing)?;
        Self::new(&value).map_err(|_| missing())
    }

    /// For servers that send a multipart body under another `Content-Type` (ffmpeg's HTTP
    /// server says `application/octet-stream` for its mpjpeg stream): takes the boundary from
    /// the body's first line if that line looks like a delimiter (`--` and a token).
    /// `Ok(None)` means more bytes are needed; `Err(())` that this is not a multipart body.
    #[allow(clippy::result_unit_err)]
    pub fn sniff(body_start: &[u8]) -> Result<Option<Self>, ()> {
        let start = body_start
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let rest = &body_start[start..];
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            let plausible =
                rest.len() < 2 + MAX_BOUNDARY && rest.iter().take(2).all(|&b| b == b'-');
            return if plausible { Ok(None) } else { Err(()) };
        };
        let line = rest[..nl].trim_ascii_end();
        let token = line.strip_prefix(b"--").filter(|t| {
            !t.is_empty()
                && t.len() <= MAX_BOUNDARY
                && t.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
        });
        match token.and_then(|t| std::str::from_utf8(t).ok()) {
            Some(t) => Self::new(t).map(Some).map_err(|_| ()),
            None => Err(()),
        }
    }

    /// The boundary as declared, for messages.
    pub fn declared(&self) -> String {
        format!(
            "{}{}",
            "-".repeat(self.lead),
            String::from_utf8_lossy(&self.core)
        )
    }

    /// Bytes a partial delimiter line can take up (dashes, boundary, `--`, CRLF).
    pub(crate) fn max_line_len(&self) -> usize {
        self.lead + 2 + self.core.len() + 2 + MAX_PADDING + 2
    }

    pub(crate) fn core_len(&self) -> usize {
        self.core.len()
    }

    /// Offset of the next occurrence of the boundary (without dashes) at or after `from`.
    pub(crate) fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        hay.get(from..)
            .and_then(|h| self.finder.find(h))
            .map(|i| i + from)
    }

    /// Start of the run of dashes that ends at `p` (where the boundary was found).
    pub(crate) fn dashes_start(&self, buf: &[u8], p: usize) -> usize {
        let run = buf[..p]
            .iter()
            .rev()
            .take(self.lead + 3)
            .take_while(|&&b| b == b'-')
            .count();
        p - run
    }

    /// Classifies the line that starts at `at`.
    pub(crate) fn line_at(&self, buf: &[u8], at: usize) -> Line {
        let rest = &buf[at..];
        let d = rest.iter().take_while(|&&b| b == b'-').count();
        let want_rfc = self.lead + 2;
        let dashes_ok = d == want_rfc || (self.lead >= 1 && d == self.lead);
        if d == rest.len() {
            return if d <= want_rfc {
                Line::Incomplete
            } else {
                Line::No
            };
        }
        if !dashes_ok {
            return Line::No;
        }
        let after = &rest[d..];
        let n = after.len().min(self.core.len());
        if after[..n] != self.core[..n] {
            return Line::No;
        }
        if n < self.core.len() {
            return Line::Incomplete;
        }
        let mut i = at + d + self.core.len();
        match buf.get(i) {
            None => return Line::Incomplete,
            Some(b'-') => {
                return match buf.get(i + 1) {
                    None => Line::Incomplete,
                    Some(b'-') => Line::Close { end: i + 2 },
                    Some(_) => Line::No,
                };
            }
            _ => {}
        }
        let pad = buf[i..]
            .iter()
            .take(MAX_PADDING + 1)
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if pad > MAX_PADDING {
            return Line::No;
        }
        i += pad;
        match (buf.get(i), buf.get(i + 1)) {
            (Some(b'\n'), _) => Line::Delimiter { end: i + 1 },
            (Some(b'\r'), Some(b'\n')) => Line::Delimiter { end: i + 2 },
            (None, _) | (Some(b'\r'), None) => Line::Incomplete,
            _ => Line::No,
        }
    }
}

/// Removes the quotes of an RFC 9110 quoted-string (with its backslash escapes).
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"') else {
        return v.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ct: &str) -> Boundary {
        Boundary::from_content_type(ct).expect("boundary")
    }

    #[test]
    fn parameter_forms() {
        assert_eq!(
            b("multipart/x-mixed-replace; boundary=frame").declared(),
            "frame"
        );
        assert_eq!(
            b("multipart/x-mixed-replace;boundary=ffmpeg").declared(),
            "ffmpeg"
        );
        assert_eq!(
            b("Multipart/X-Mixed-Replace; BOUNDARY=\"--myboundary\"").declared(),
            "--myboundary"
        );
        assert_eq!(
            b("multipart/x-mixed-replace; charset=x; boundary=\"a\\\"b\"; x=y").declared(),
            "a\"b"
        );
        assert!(matches!(
            Boundary::from_content_type("image/jpeg"),
            Err(Error::NotMultipart { .. })
        ));
        assert!(matches!(
            Boundary::from_content_type("multipart/x-mixed-replace"),
            Err(Error::MissingBoundary { .. })
        ));
        assert!(matches!(
            Boundary::from_content_type("multipart/x-mixed-replace; boundary=\"\""),
            Err(Error::MissingBoundary { .. })
        ));
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            Boundary::sniff(b"--ffm").unwrap().map(|b| b.declared()),
            None
        );
        assert_eq!(
            Boundary::sniff(b"--ffmpeg\r\nContent-type")
                .unwrap()
                .unwrap()
                .declared(),
            "ffmpeg"
        );
        assert_eq!(
            Boundary::sniff(b"\r\n--myboundary \r\n")
                .unwrap()
                .unwrap()
                .declared(),
            "myboundary"
        );
        assert!(Boundary::sniff(b"<!DOCTYPE html>").is_err());
        assert!(Boundary::sniff(b"--\r\n").is_err());
    }

    #[test]
    fn lines() {
        let f = b("multipart/x-mixed-replace; boundary=frame");
        assert_eq!(f.line_at(b"--frame\r\nX", 0), Line::Delimiter { end: 9 });
        assert_eq!(f.line_at(b"--frame \t\nX", 0), Line::Delimiter { end: 10 });
        assert_eq!(f.line_at(b"--frame--", 0), Line::Close { end: 9 });
        assert_eq!(f.line_at(b"--frame\r", 0), Line::Incomplete);
        assert_eq!(f.line_at(b"--fr", 0), Line::Incomplete);
        assert_eq!(f.line_at(b"--", 0), Line::Incomplete);
        assert_eq!(f.line_at(b"--framex\r\n", 0), Line::No);
        assert_eq!(f.line_at(b"----frame\r\n", 0), Line::No);
        assert_eq!(f.line_at(b"frame\r\n", 0), Line::No);
        let m = b("multipart/x-mixed-replace; boundary=--myboundary");
        assert_eq!(
            m.line_at(b"--myboundary\r\n", 0),
            Line::Delimiter { end: 14 }
        );
        assert_eq!(
            m.line_at(b"----myboundary\n", 0),
            Line::Delimiter { end: 15 }
        );
        assert_eq!(m.line_at(b"------myboundary\n", 0), Line::No);
    }
}
