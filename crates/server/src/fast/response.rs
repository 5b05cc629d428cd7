//! Sans-IO: a response head in HTTP/1.1 wire form (RFC 9112 §4, §6), and how its body is
//! framed.

use http::{StatusCode, header, response::Parts};

/// How the body after the head is delimited.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body follows (HEAD, 204, 304, 1xx).
    None,
    /// Exactly this many bytes follow.
    Length(u64),
    /// The body runs until the connection closes (its length is not known up front).
    UntilClose,
}

/// Serializes the head. `body_len` is the body's exact length when known; `head_request`
/// says the request was HEAD (the headers describe the body a GET would get, none follows);
/// `close` says the connection ends after this response. `date` is an IMF-fixdate.
pub fn encode(
    parts: &Parts,
    body_len: Option<u64>,
    head_request: bool,
    close: bool,
    date: &str,
) -> (Vec<u8>, Framing) {
    let status = parts.status;
    let bodiless = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let length = declared.or(body_len);
    let framing = match (bodiless, length) {
        (true, _) => Framing::None,
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::UntilClose,
    };
    let close = close || framing == Framing::UntilClose;

    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        // Framing and connection headers are this writer's to set.
        if name == header::CONNECTION
            || name == header::TRANSFER_ENCODING
            || name == header::CONTENT_LENGTH
        {
            continue;
        }
        line(&mut out, name.as_str(), value.as_bytes());
    }
    // RFC 9110 §8.6: never on 1xx/204, nor on 304 (as hyper does); on HEAD only what the
    // handler declared.
    let shown = if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        None
    } else if head_request {
        declared
    } else {
        length
    };
    if let Some(n) = shown {
        line(&mut out, "content-length", n.to_string().as_bytes());
    }
    if !parts.headers.contains_key(header::DATE) {
        line(&mut out, "date", date.as_bytes());
    }
    if close {
        line(&mut out, "connection", b"close");
    }
    out.extend_from_slice(b"\r\n");
    (out, framing)
}

fn line(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Response;

    const DATE: &str = "Sat, 21 Nov 2026 10:00:00 GMT";

    fn parts(status: u16, headers: &[(&str, &str)]) -> Parts {
        let mut b = Response::builder().status(status);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn text(v: &[u8]) -> &str {
        std::str::from_utf8(v).unwrap()
    }

    #[test]
    fn partial_content_keeps_its_headers_and_length() {
        let p = parts(
            206,
            &[
                ("content-range", "bytes 0-9/100"),
                ("content-length", "10"),
                ("etag", "\"x\""),
                ("connection", "keep-alive"),
            ],
        );
        let (head, framing) = encode(&p, Some(10), false, false, DATE);
        assert_eq!(
            text(&head),
            "HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 0-9/100\r\netag: \"x\"\r\n\
             content-length: 10\r\ndate: Sat, 21 Nov 2026 10:00:00 GMT\r\n\r\n"
        );
        assert_eq!(framing, Framing::Length(10));
    }

    #[test]
    fn head_requests_and_bodiless_statuses_send_no_body() {
        let p = parts(200, &[("content-length", "1000")]);
        let (head, framing) = encode(&p, Some(0), true, false, DATE);
        assert!(text(&head).contains("content-length: 1000\r\n"));
        assert_eq!(framing, Framing::None);
        // A HEAD whose handler said nothing of the length does not claim 0.
        let (head, _) = encode(&parts(200, &[]), Some(0), true, false, DATE);
        assert!(!text(&head).contains("content-length"));
        let p = parts(304, &[("etag", "\"x\""), ("content-length", "0")]);
        let (head, framing) = encode(&p, Some(0), false, false, DATE);
        assert_eq!(framing, Framing::None);
        assert!(!text(&head).contains("content-length"));
        assert!(text(&head).starts_with("HTTP/1.1 304 Not Modified\r\n"));
        let (head, framing) = encode(&parts(204, &[]), Some(0), false, false, DATE);
        assert_eq!(framing, Framing::None);
        assert!(!text(&head).contains("content-length"));
    }

    #[test]
    fn unknown_lengths_close_and_close_is_said() {
        let (head, framing) = encode(&parts(200, &[]), None, false, false, DATE);
        assert_eq!(framing, Framing::UntilClose);
        assert!(text(&head).ends_with("connection: close\r\n\r\n"));
        let (head, framing) = encode(&parts(404, &[]), Some(10), false, true, DATE);
        assert_eq!(framing, Framing::Length(10));
        assert!(text(&head).contains("content-length: 10\r\n"));
        assert!(text(&head).ends_with("connection: close\r\n\r\n"));
        let (head, _) = encode(
            &parts(200, &[("date", "earlier")]),
            Some(0),
            false,
            false,
            DATE,
        );
        assert!(text(&head).contains("date: earlier\r\n") && !text(&head).contains(DATE));
    }
}
