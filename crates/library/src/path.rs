//! Turning the path part of a URL into a safe relative path.
//!
//! Decoding happens exactly once, here, and every form that could climb out of a served folder
//! is refused before the file system is touched: `..` and `.` segments (also when percent
//! encoded), backslashes (a separator on Windows), NUL bytes, absolute paths and empty
//! segments. Symlinks are checked later, after canonicalization, in `library.rs`.
//!
//! Segments are bytes, not text: a Unix file name is any bytes but `/` and NUL, and names
//! that are not UTF-8 (old disks, shares written by other systems) are served like any other,
//! their bytes percent-encoded in URLs ([`crate::encode_segments`]).

use crate::Error;
use percent_encoding::percent_decode_str;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// Decodes a URL path (without query) into its segments, file names as the file system
/// has them. `""` and `"/"` give no segments.
pub fn decode_url_path(raw: &str) -> Result<Vec<OsString>, Error> {
    let refuse = |reason| Error::Refused {
        path: raw.to_string(),
        reason,
    };
    let decoded: Vec<u8> = percent_decode_str(raw).collect();
    if decoded.contains(&0) {
        return Err(refuse("NUL byte"));
    }
    if decoded.contains(&b'\\') {
        return Err(refuse("backslash"));
    }
    let trimmed = decoded.strip_prefix(b"/").unwrap_or(&decoded);
    // A trailing slash names a folder; it is not an empty segment.
    let trimmed = trimmed.strip_suffix(b"/").unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let mut segments = Vec::new();
    for seg in trimmed.split(|&b| b == b'/') {
        match seg {
            b"" => return Err(refuse("empty segment or absolute path")),
            b"." | b".." => return Err(refuse("dot segment")),
            // A drive prefix such as `C:` would make a Windows join absolute.
            s if s.len() >= 2 && s[1] == b':' => return Err(refuse("drive prefix")),
            s => segments.push(OsString::from_vec(s.to_vec())),
        }
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths() {
        assert_eq!(decode_url_path("").unwrap(), Vec::<OsString>::new());
        assert_eq!(decode_url_path("/").unwrap(), Vec::<OsString>::new());
        assert_eq!(
            decode_url_path("a/b%20c.mp4").unwrap(),
            vec!["a", "b c.mp4"]
        );
        assert_eq!(decode_url_path("/dir/").unwrap(), vec!["dir"]);
        assert_eq!(decode_url_path("%E2%9C%93.mp4").unwrap(), vec!["✓.mp4"]);
        assert_eq!(decode_url_path("..a/b..").unwrap(), vec!["..a", "b.."]);
        // Not UTF-8 (Latin-1 "café"): the file system's bytes, as they are.
        assert_eq!(
            decode_url_path("caf%E9.mp4").unwrap(),
            vec![OsString::from_vec(b"caf\xe9.mp4".to_vec())]
        );
        assert_eq!(
            decode_url_path("%ff%fe/x").unwrap(),
            vec![OsString::from_vec(vec![0xff, 0xfe]), "x".into()]
        );
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
            "%ff%00",
            "%ff/%2E%2e/x",
        ] {
            assert!(decode_url_path(p).is_err(), "{p} must be refused");
        }
    }
}
