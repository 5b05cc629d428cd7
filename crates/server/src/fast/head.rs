//! Sans-IO: is the next request in the buffer one the fast path takes?
//!
//! Only the plainest requests qualify (RFC 9112 §3, §6): `GET` or `HEAD` in origin form, not
//! for a live stream or the API, HTTP/1.1, no message body (no `Transfer-Encoding`, `Content-Length`
//! at most 0), no `Upgrade` or `Expect`. Everything else, malformed input included, is [`Head::Other`]
//! and goes to hyper, whose parser (httparse, the same as here) and error answers apply.

use http::{HeaderName, HeaderValue, Method, Request, Uri, Version};

/// Longest request head read before giving the connection to hyper (which answers 431).
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header lines taken; more go to hyper.
const MAX_HEADERS: usize = 64;
/// Paths left to hyper: live streams and the API answer with bodies of unknown length that
/// run for hours. Everything else (the library's pages, assets and files, the login page, and
/// the 404s a browser's `/favicon.ico` gets) has a known length, so a browser's whole visit,
/// movie ranges included, stays on this path.
const HYPERS: &[&str] = &["/live/", "/api/"];

fn ours(target: &str) -> bool {
    target.starts_with('/') && !HYPERS.iter().any(|prefix| target.starts_with(prefix))
}

/// What the buffer starts with.
#[derive(Debug)]
pub enum Head {
    /// Not a whole head yet: read more.
    Partial,
    /// A request for the fast path, `len` bytes long; `close` when the client asked for the
    /// connection to end after it.
    Plain {
        req: Box<Request<()>>,
        len: usize,
        close: bool,
    },
    /// Anything else: hyper's.
    Other,
}

/// Looks at the start of `buf`.
pub fn parse(buf: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Head::Partial,
        _ => return Head::Other,
    };
    if len > MAX_HEAD || parsed.version != Some(1) {
        return Head::Other;
    }
    let method = match parsed.method {
        Some("GET") => Method::GET,
        Some("HEAD") => Method::HEAD,
        _ => return Head::Other,
    };
    let Some(path) = parsed.path.filter(|p| ours(p)) else {
        return Head::Other;
    };
    let Ok(uri) = path.parse::<Uri>() else {
        return Head::Other;
    };
    let mut req = Request::new(());
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.version_mut() = Version::HTTP_11;
    let mut close = false;
    let mut hosts = 0;
    for h in parsed.headers.iter() {
        let Ok(name) = HeaderName::from_bytes(h.name.as_bytes()) else {
            return Head::Other;
        };
        let Ok(value) = HeaderValue::from_bytes(h.value) else {
            return Head::Other;
        };
        match name.as_str() {
            "transfer-encoding" | "upgrade" | "expect" => return Head::Other,
            "content-length" if value.as_bytes() != b"0" => return Head::Other,
            "host" => hosts += 1,
            "connection" => {
                for token in value.as_bytes().split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        return Head::Other;
                    }
                }
            }
            _ => {}
        }
        req.headers_mut().append(name, value);
    }
    // RFC 9112 §3.2: exactly one Host; hyper decides what to say otherwise.
    if hosts != 1 {
        return Head::Other;
    }
    Head::Plain {
        req: Box::new(req),
        len,
        close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(raw: &str) -> (Request<()>, usize, bool) {
        match parse(raw.as_bytes()) {
            Head::Plain { req, len, close } => (*req, len, close),
            other => panic!("{raw:?} -> {other:?}"),
        }
    }

    fn other(raw: &str) {
        assert!(
            matches!(parse(raw.as_bytes()), Head::Other),
            "{raw:?} should go to hyper"
        );
    }

    #[test]
    fn plain_media_requests_are_taken_with_their_headers() {
        let raw = "GET /media/a%20b.mp4?x=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=0-9\r\nRange: bytes=5-\r\n\r\nGET /next";
        let (req, len, close) = plain(raw);
        assert_eq!(len, raw.find("GET /next").unwrap());
        assert!(!close);
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri().path(), "/media/a%20b.mp4");
        assert_eq!(req.uri().query(), Some("x=1"));
        let ranges: Vec<_> = req.headers().get_all("range").iter().collect();
        assert_eq!(ranges, ["bytes=0-9", "bytes=5-"]);
        let (req, _, close) =
            plain("HEAD /media/x HTTP/1.1\r\nhost: h\r\nConnection: keep-alive, Close\r\n\r\n");
        assert_eq!(req.method(), Method::HEAD);
        assert!(close);
        plain("GET /media/x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        for path in [
            "/",
            "/?sort=name",
            "/vtt/a.srt",
            "/watch/a%20b.mp4",
            "/browse/d/",
            "/assets/style.css",
        ] {
            plain(&format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n"));
        }
    }

    #[test]
    fn every_head_split_is_partial_until_whole() {
        let raw = b"GET /media/x.mp4 HTTP/1.1\r\nHost: h\r\nRange: bytes=1-2\r\n\r\n";
        for cut in 0..raw.len() {
            assert!(matches!(parse(&raw[..cut]), Head::Partial), "cut at {cut}");
        }
        assert!(matches!(parse(raw), Head::Plain { .. }));
    }

    proptest::proptest! {
        /// Any bytes at all: no panic, and a taken head never claims more than the buffer.
        #[test]
        fn arbitrary_bytes_are_safe(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            if let Head::Plain { len, .. } = parse(&buf) {
                proptest::prop_assert!(len <= buf.len());
            }
        }

        /// Plain requests with arbitrary header values and paths, cut anywhere.
        #[test]
        fn plain_requests_cut_anywhere(
            path in "/media/[a-zA-Z0-9%._~/-]{0,40}",
            value in "[ -~]{0,60}",
            cut in 0usize..200,
        ) {
            let raw = format!("GET {path} HTTP/1.1\r\nHost: h\r\nX-V: {value}\r\n\r\n");
            let whole = parse(raw.as_bytes());
            let Head::Plain { req, len, close } = whole else {
                return Err(proptest::test_runner::TestCaseError::fail(format!("{raw:?}")));
            };
            proptest::prop_assert_eq!(len, raw.len());
            proptest::prop_assert!(!close);
            proptest::prop_assert_eq!(req.uri().path(), path.as_str());
            proptest::prop_assert_eq!(req.headers()["x-v"].as_bytes(), value.trim().as_bytes());
            let cut = cut.min(raw.len() - 1);
            proptest::prop_assert!(matches!(parse(&raw.as_bytes()[..cut]), Head::Partial));
        }
    }

    #[test]
    fn anything_less_plain_goes_to_hyper() {
        for raw in [
            "GET /live/demo/stream.mjpg HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET /api/status HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET /live/ HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET /api/ HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST /media/x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
            "OPTIONS /media/x HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET /media/x HTTP/1.0\r\nHost: h\r\n\r\n",
            "GET http://h/media/x HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET /media/x HTTP/1.1\r\n\r\n",
            "GET /media/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET /media/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
            "GET /media/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "GET /media/x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
            "GET /media/x HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "GET /media/x HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n",
            "GET /media/x\0 HTTP/1.1\r\nHost: h\r\n\r\n",
            "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03",
        ] {
            other(raw);
        }
        let many: String = (0..MAX_HEADERS + 1)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect();
        other(&format!("GET /media/x HTTP/1.1\r\nHost: h\r\n{many}\r\n"));
        let long = format!(
            "GET /media/x HTTP/1.1\r\nHost: h\r\nX: {}",
            "a".repeat(MAX_HEAD)
        );
        other(&long);
    }
}
