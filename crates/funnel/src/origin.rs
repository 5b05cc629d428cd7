//! The remote resource: probing it once, pinning its identity, and judging each range answer.
//!
//! RFC 9110: section 14 (Range, Content-Range, 206, 416), 13.1.5 (If-Range needs a strong ETag or
//! a Last-Modified date), 8.8 (validators), 10.2.3 (Retry-After). The probe follows redirects once
//! (reqwest's policy) and every later request goes to the final URL, so a redirecting CDN link is
//! resolved one time only. The pinned validator goes out as If-Range with every piece: if the file
//! changed, the origin answers 200 (or another ETag / size) and the transfer stops with
//! [`Error::OriginChanged`] instead of splicing two versions together.

use crate::error::{Error, Result};
use crate::planner::Failure;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};
use std::time::Duration;

/// What the probe learned about the origin.
#[derive(Debug, Clone)]
pub struct Origin {
    /// Final URL after redirects; every piece is fetched from here.
    pub url: reqwest::Url,
    /// Total length, when known.
    pub size: Option<u64>,
    /// The origin honours byte ranges.
    pub ranges: bool,
    pub etag: Option<HeaderValue>,
    pub last_modified: Option<HeaderValue>,
    pub content_type: Option<HeaderValue>,
}

/// Parses `bytes a-b/total` (total may be `*`). Returns (a, b inclusive, total).
pub fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    let (a, b) = span.trim().split_once('-')?;
    let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b).then_some((a, b, total))
}

/// Parses Retry-After (delay-seconds or an HTTP-date).
pub fn parse_retry_after(v: &HeaderValue) -> Option<Duration> {
    let s = v.to_str().ok()?.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(s).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn is_strong(etag: &HeaderValue) -> bool {
    !etag.as_bytes().starts_with(b"W/")
}

impl Origin {
    /// Probes `url` with `Range: bytes=0-0` (retrying 429/503 a few times).
    pub async fn probe(client: &reqwest::Client, url: &str) -> Result<Origin> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| Error::Usage(format!("bad URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Usage(format!(
                "unsupported URL scheme in {url:?} (http or https)"
            )));
        }
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let resp = client
                .get(parsed.clone())
                .header(header::RANGE, "bytes=0-0")
                .send()
                .await
                .map_err(|e| Error::Http(format!("{url}: {}", error_chain(&e))))?;
            let status = resp.status();
            let h = resp.headers();
            let mut o = Origin {
                url: resp.url().clone(),
                size: None,
                ranges: false,
                etag: h.get(header::ETAG).cloned(),
                last_modified: h.get(header::LAST_MODIFIED).cloned(),
                content_type: h.get(header::CONTENT_TYPE).cloned(),
            };
            match status {
                StatusCode::PARTIAL_CONTENT => {
                    let cr = h
                        .get(header::CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_content_range)
                        .ok_or_else(|| {
                            Error::Protocol("206 without a valid Content-Range".into())
                        })?;
                    o.size = cr.2;
                    o.ranges = cr.0 == 0 && cr.2.is_some();
                    return Ok(o);
                }
                StatusCode::OK => {
                    o.size = resp.content_length();
                    return Ok(o);
                }
                StatusCode::RANGE_NOT_SATISFIABLE => {
                    // Only an empty resource cannot satisfy bytes=0-0.
                    o.size = Some(0);
                    o.ranges = true;
                    return Ok(o);
                }
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE if attempt < 5 => {
                    let wait = h
                        .get(header::RETRY_AFTER)
                        .and_then(parse_retry_after)
                        .unwrap_or(Duration::from_millis(200 << attempt))
                        .min(Duration::from_secs(30));
                    tracing::warn!(%status, ?wait, "origin is busy, waiting before probing again");
                    tokio::time::sleep(wait).await;
                }
                s => {
                    return Err(Error::Status {
                        status: s.as_u16(),
                        what: format!("GET {url} (probe)"),
                    });
                }
            }
        }
    }

    /// The validator sent as If-Range: a strong ETag, else Last-Modified.
    pub fn if_range(&self) -> Option<&HeaderValue> {
        self.etag
            .as_ref()
            .filter(|e| is_strong(e))
            .or(self.last_modified.as_ref())
    }

    /// Judges the answer to `Range: bytes=start-...`. `Ok` means the body is exactly the bytes
    /// from `start` of the pinned representation.
    pub fn check_piece(
        &self,
        status: StatusCode,
        h: &HeaderMap,
        start: u64,
    ) -> Result<(), Failure> {
        let changed = |why: String| Failure::Fatal(Error::OriginChanged(why));
        match status {
            StatusCode::PARTIAL_CONTENT => {
                let (a, _b, total) = h
                    .get(header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_content_range)
                    .ok_or_else(|| {
                        Failure::Fatal(Error::Protocol("206 without a valid Content-Range".into()))
                    })?;
                if a != start {
                    return Err(Failure::Fatal(Error::Protocol(format!(
                        "asked for bytes from {start}, origin sent from {a}"
                    ))));
                }
                if let (Some(t), Some(size)) = (total, self.size)
                    && t != size
                {
                    return Err(changed(format!("size was {size}, now {t}")));
                }
                if let (Some(pinned), Some(now)) = (&self.etag, h.get(header::ETAG))
                    && pinned != now
                {
                    return Err(changed(format!("ETag was {pinned:?}, now {now:?}")));
                }
                if self.etag.is_none()
                    && let (Some(pinned), Some(now)) =
                        (&self.last_modified, h.get(header::LAST_MODIFIED))
                    && pinned != now
                {
                    return Err(changed(format!(
                        "Last-Modified was {pinned:?}, now {now:?}"
                    )));
                }
                Ok(())
            }
            StatusCode::OK if self.if_range().is_some() => Err(changed(
                "the origin answered 200 to If-Range: its validator no longer matches".into(),
            )),
            StatusCode::OK => Err(Failure::Fatal(Error::Protocol(
                "the origin stopped honouring Range requests".into(),
            ))),
            StatusCode::RANGE_NOT_SATISFIABLE => Err(changed(format!(
                "byte {start} is no longer inside the file (416)"
            ))),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => Err(Failure::Busy {
                retry_after: h.get(header::RETRY_AFTER).and_then(parse_retry_after),
                msg: format!("HTTP {}", status.as_u16()),
            }),
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Err(Failure::Retry(format!("HTTP {}", s.as_u16())))
            }
            s => Err(Failure::Fatal(Error::Status {
                status: s.as_u16(),
                what: format!("bytes {start}-"),
            })),
        }
    }
}

/// Formats a reqwest error with its sources ("error sending request: connection refused").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            url: reqwest::Url::parse("http://127.0.0.1/x").unwrap(),
            size: Some(1000),
            ranges: true,
            etag: Some(HeaderValue::from_static("\"v1\"")),
            last_modified: None,
            content_type: None,
        }
    }

    fn hdrs(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 0-0/10"), Some((0, 0, Some(10))));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, 9, None)));
        assert_eq!(parse_content_range("bytes 9-5/10"), None);
        assert_eq!(parse_content_range("bytes */10"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn judges_answers() {
        let o = origin();
        let ok = hdrs(&[("content-range", "bytes 100-199/1000"), ("etag", "\"v1\"")]);
        assert_eq!(o.check_piece(StatusCode::PARTIAL_CONTENT, &ok, 100), Ok(()));
        let other = hdrs(&[("content-range", "bytes 100-199/1000"), ("etag", "\"v2\"")]);
        assert!(matches!(
            o.check_piece(StatusCode::PARTIAL_CONTENT, &other, 100),
            Err(Failure::Fatal(Error::OriginChanged(_)))
        ));
        let bigger = hdrs(&[("content-range", "bytes 100-199/2000")]);
        assert!(matches!(
            o.check_piece(StatusCode::PARTIAL_CONTENT, &bigger, 100),
            Err(Failure::Fatal(Error::OriginChanged(_)))
        ));
        assert!(matches!(
            o.check_piece(StatusCode::OK, &HeaderMap::new(), 100),
            Err(Failure::Fatal(Error::OriginChanged(_)))
        ));
        assert!(matches!(
            o.check_piece(StatusCode::PARTIAL_CONTENT, &ok, 50),
            Err(Failure::Fatal(Error::Protocol(_)))
        ));
        assert_eq!(
            o.check_piece(
                StatusCode::SERVICE_UNAVAILABLE,
                &hdrs(&[("retry-after", "3")]),
                0
            ),
            Err(Failure::Busy {
                retry_after: Some(Duration::from_secs(3)),
                msg: "HTTP 503".into()
            })
        );
        assert!(matches!(
            o.check_piece(StatusCode::INTERNAL_SERVER_ERROR, &HeaderMap::new(), 0),
            Err(Failure::Retry(_))
        ));
        assert!(matches!(
            o.check_piece(StatusCode::NOT_FOUND, &HeaderMap::new(), 0),
            Err(Failure::Fatal(Error::Status { status: 404, .. }))
        ));
    }

    #[test]
    fn weak_etag_falls_back_to_last_modified() {
        let mut o = origin();
        o.etag = Some(HeaderValue::from_static("W/\"v1\""));
        assert_eq!(o.if_range(), None);
        o.last_modified = Some(HeaderValue::from_static("Sat, 21 Nov 2026 08:00:00 GMT"));
        assert_eq!(o.if_range(), o.last_modified.as_ref());
    }
}
