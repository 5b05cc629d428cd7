//! Turning the path part of a URL into a safe relative path.
//!
//! Decoding happens exactly once, here, and every form that could climb out of a served folder
//! is refused before the file system is touched: `..` and `.` segments (also when percent
//! encoded), backslashes (a separator on Windows), NUL bytes, absolute paths, empty segments,
//! and invalid UTF-8. Symlinks are checked later, after canonicalization, in `library.rs`.

use crate::Error;
use percent_encoding::percent_decode_str;

/// Decodes a URL path (without query) into its segments. `""` and `"/"` give no segments.
pub fn decode_url_path(raw: &str) -> Result<Vec<String>, Error> {
    let refuse = |reason| Error::Refused {
        path: raw.to_string(),
        reason,
    };
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| refuse("not UTF-8"))?;
    if decoded.contains('\0') {
        return Err(refuse("NUL byte"));
    }
    if decoded.contains('\\') {
        return Err(refuse("backslash"));
    }
    let trimmed = decoded.strip_prefix('/').unwrap_or(&decoded);
    // A trailing slash names a folder; it is not an empty segment.
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let mut segments = Vec::new();
    for seg in trimmed.split('/') {
        match seg {
            "" => return Err(refuse("empty segment or absolute path")),
            "." | ".." => return Err(refuse("dot segment")),
            // A drive prefix such as `C:` would make a Windows join absolute.
            s if s.len() >= 2 && s.as_bytes()[1] == b':' => return Err(refuse("drive prefix")),
            s => segments.push(s.to_string()),
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths() {
        assert_eq!(decode_url_path("").unwrap(), Vec::<String>::new());
        assert_eq!(decode_url_path("/").unwrap(), Vec::<String>::new());
        assert_eq!(
            decode_url_path("a/b%20c.mp4").unwrap(),
            vec!["a", "b c.mp4"]
        );
        assert_eq!(decode_url_path("/dir/").unwrap(), vec!["dir"]);
        assert_eq!(decode_url_path("%E2%9C%93.mp4").unwrap(), vec!["✓.mp4"]);
        assert_eq!(decode_url_path("..a/b..").unwrap(), vec!["..a", "b.."]);
    }

    #[test]
    fn hostile_paths() {
        for p in [
            "..",
            "../etc/passwd",
            "a/../../b",
            "%2e%2e/x",
            "%2E%2E%2Fx",
            "a%2f..%2f..%2fb",
            "..%5cwin.ini",
            "a\\b",
            "/etc/passwd/..",
            "//etc/passwd",
            "a//b",
            "a/./b",
            "x%00.mp4",
            "C:/Windows",
            "%ff%fe",
        ] {
            assert!(decode_url_path(p).is_err(), "{p} must be refused");
        }
    }
}
