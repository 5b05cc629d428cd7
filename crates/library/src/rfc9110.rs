//! Request headers put into the shape http-serve handles correctly.
//!
//! http-serve (0.4.0-rc.2) does the heavy lifting for ranges and conditionals, but deviates
//! from RFC 9110 in a few corners; no maintained crate gets all of them right (tower-http
//! refuses multiple ranges and ignores If-Range), so these few lines fix them up front:
//! - §14.1.2: a suffix range longer than the representation selects all of it (http-serve
//!   answers 416), and `-0` is unsatisfiable (http-serve sends an empty part);
//! - a last-byte-pos at or past the end is clamped (http-serve adds 1 to it, which overflows
//!   for `u64::MAX`);
//! - §14.2: an invalid range set (last < first, non-digits, another unit) is ignored, as is a
//!   set of more than [`MAX_RANGES`] ranges (multipart amplification);
//! - §13.1.3/§13.1.4: an invalid HTTP-date in If-Modified-Since or If-Unmodified-Since is
//!   ignored (http-serve answers 400).

use http::header::{HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE, RANGE};

/// More ranges than this in one request are ignored and the whole representation is sent.
pub const MAX_RANGES: usize = 64;

/// Rewrites `Range` and the date preconditions of a request for a body of `len` bytes.
pub fn normalize_request(h: &mut HeaderMap, len: u64) {
    if let Some(v) = h.get(RANGE) {
        match v.to_str().ok().and_then(|s| rewrite_range(s, len)) {
            Some(new) => {
                if let Ok(v) = HeaderValue::from_str(&new) {
                    h.insert(RANGE, v);
                }
            }
            None => {
                h.remove(RANGE);
            }
        }
    }
    for name in [IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE] {
        let valid = h
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .map(|s| httpdate::parse_http_date(s).is_ok());
        if valid == Some(false) {
            h.remove(&name);
        }
    }
}

/// The ranges a normalized request selects from a body of `len` bytes, in request order,
/// unsatisfiable ones left out (§14.1.1). Meant for a `Range` that [`normalize_request`] has
/// rewritten, whose specs are all `a-b`, `a-` or `-n` with `n < len`.
pub fn selected_ranges(h: &HeaderMap, len: u64) -> Vec<std::ops::Range<u64>> {
    let Some(set) = h
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.strip_prefix("bytes="))
    else {
        return Vec::new();
    };
    set.split(',')
        .filter_map(|spec| {
            let (first, last) = spec.split_once('-')?;
            if first.is_empty() {
                let n = digits(last)?;
                return (n > 0 && n < len).then(|| len - n..len);
            }
            let a = digits(first)?;
            let end = match last {
                "" => len,
                l => digits(l)?.saturating_add(1).min(len),
            };
            (a < end).then_some(a..end)
        })
        .collect()
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More digits than fit in u64 means "past any end": saturate.
    Some(s.parse().unwrap_or(u64::MAX))
}

/// The rewritten range set, or `None` when the header must be ignored.
fn rewrite_range(s: &str, len: u64) -> Option<String> {
    let (unit, set) = s.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut out = Vec::new();
    for spec in set.split(',') {
        let spec = spec.trim_matches([' ', '\t']);
        if spec.is_empty() {
            continue;
        }
        let (first, last) = spec.split_once('-')?;
        if first.is_empty() {
            let n = digits(last)?;
            out.push(if n == 0 {
                format!("{len}-") // unsatisfiable
            } else if n >= len {
                "0-".to_string()
            } else {
                format!("-{n}")
            });
        } else {
            let a = digits(first)?;
            match last {
                "" => out.push(format!("{a}-")),
                l => {
                    let b = digits(l)?;
                    if b < a {
                        return None;
                    }
                    out.push(if b >= len {
                        format!("{a}-")
                    } else {
                        format!("{a}-{b}")
                    });
                }
            }
        }
    }
    if out.is_empty() || out.len() > MAX_RANGES {
        return None;
    }
    Some(format!("bytes={}", out.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites() {
        assert_eq!(rewrite_range("bytes=-1", 1).as_deref(), Some("bytes=0-"));
        assert_eq!(rewrite_range("bytes=-5", 10).as_deref(), Some("bytes=-5"));
        assert_eq!(rewrite_range("bytes=-0", 10).as_deref(), Some("bytes=10-"));
        assert_eq!(
            rewrite_range("bytes=0-18446744073709551615", 10).as_deref(),
            Some("bytes=0-")
        );
        assert_eq!(
            rewrite_range("bytes=0-99999999999999999999999", 10).as_deref(),
            Some("bytes=0-")
        );
        assert_eq!(
            rewrite_range("Bytes = 1-2, ,3-", 10).as_deref(),
            Some("bytes=1-2,3-")
        );
        assert_eq!(rewrite_range("bytes=5-3", 10), None);
        assert_eq!(rewrite_range("bytes=+1-2", 10), None);
        assert_eq!(rewrite_range("bytes=a-b", 10), None);
        assert_eq!(rewrite_range("items=1-2", 10), None);
        assert_eq!(rewrite_range("bytes=", 10), None);
        let many = format!("bytes={}", vec!["0-0"; MAX_RANGES + 1].join(","));
        assert_eq!(rewrite_range(&many, 10), None);
    }

    #[test]
    fn selects_what_the_normalized_header_names() {
        let mut h = HeaderMap::new();
        h.insert(
            RANGE,
            HeaderValue::from_static("bytes=-5,0-0,4-,8-100,20-,3-2"),
        );
        assert_eq!(selected_ranges(&h, 10), [5..10, 0..1, 4..10, 8..10]);
        assert!(selected_ranges(&HeaderMap::new(), 10).is_empty());
    }

    #[test]
    fn drops_invalid_dates() {
        let mut h = HeaderMap::new();
        h.insert(IF_MODIFIED_SINCE, HeaderValue::from_static("yesterday"));
        h.insert(
            IF_UNMODIFIED_SINCE,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        normalize_request(&mut h, 10);
        assert!(h.get(IF_MODIFIED_SINCE).is_none());
        assert!(h.get(IF_UNMODIFIED_SINCE).is_some());
    }
}
