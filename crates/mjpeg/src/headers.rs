//! A part's header block (RFC 2046 §5.1.1 body-part headers, RFC 9110 §5 field syntax): names in
//! any letter case, values trimmed, CRLF or bare LF line ends.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Parses a header block (without its terminating blank line). Lines that are not
/// `name: value` fields are skipped: cameras write odd things and a frame is still a frame.
/// Returns the headers and the `Content-Length`, when it is a plain decimal number.
pub(crate) fn parse_block(block: &[u8]) -> (HeaderMap, Option<usize>) {
    let mut headers = HeaderMap::new();
    let mut content_length = None;
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        let value = line[colon + 1..].trim_ascii();
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        else {
            tracing::debug!(line = %String::from_utf8_lossy(line), "skipping unparsable part header");
            continue;
        };
        if name == http::header::CONTENT_LENGTH {
            content_length = std::str::from_utf8(value.as_bytes())
                .ok()
                .and_then(|s| s.parse::<usize>().ok());
        }
        headers.append(name, value);
    }
    (headers, content_length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_case_and_padding() {
        let (h, cl) = parse_block(
            b"content-TYPE: image/jpeg\r\nContent-length:   1234\r\nnonsense\nX-Timestamp:1.5",
        );
        assert_eq!(h.get("content-type").unwrap(), "image/jpeg");
        assert_eq!(h.get("x-timestamp").unwrap(), "1.5");
        assert_eq!(cl, Some(1234));
        let (_, cl) = parse_block(b"Content-Length: 12x\r\n");
        assert_eq!(cl, None);
    }
}
