//! A Media Segment (RFC 8216bis §3, §4.4.4) and its Partial Segments (`EXT-X-PART`,
//! §4.4.4.9), with the tags that belong to them.

use super::attributes::{self, parse_bool, parse_seconds, quoted, seconds};
use crate::error::HlsError;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// One Partial Segment: `#EXT-X-PART:DURATION=..,URI="..",INDEPENDENT=YES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `DURATION`: its length.
    pub duration: Duration,
    /// `URI`.
    pub uri: String,
    /// `INDEPENDENT=YES`: it starts with a keyframe, so a player can begin here.
    pub independent: bool,
}

impl Part {
    pub(crate) fn write(&self, out: &mut String) {
        let _ = write!(
            out,
            "#EXT-X-PART:DURATION={},URI=\"{}\"",
            seconds(self.duration),
            self.uri
        );
        if self.independent {
            out.push_str(",INDEPENDENT=YES");
        }
        out.push('\n');
    }

    pub(crate) fn parse(line: &str, value: &str) -> Result<Part, HlsError> {
        let (mut duration, mut uri, mut independent) = (None, None, false);
        for (k, v) in attributes::parse(value)? {
            match k {
                "DURATION" => duration = Some(parse_seconds(line, v)?),
                "URI" => uri = Some(quoted(line, v)?.to_string()),
                "INDEPENDENT" => independent = parse_bool(line, v)?,
                // GAP and BYTERANGE are not written here; a part carrying them is not ours.
                _ => return Err(HlsError::syntax(line, "unsupported EXT-X-PART attribute")),
            }
        }
        Ok(Part {
            duration: duration
                .ok_or_else(|| HlsError::syntax(line, "EXT-X-PART without DURATION"))?,
            uri: uri.ok_or_else(|| HlsError::syntax(line, "EXT-X-PART without URI"))?,
            independent,
        })
    }
}

/// One Media Segment. `uri` is `None` for the segment still being made: only its parts are
/// listed then (it has no `EXTINF` yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSegment {
    /// `EXT-X-DISCONTINUITY` (§4.4.4.3) before it: the encode restarted (a new init segment).
    pub discontinuity: bool,
    /// `EXT-X-MAP:URI=".."` (§4.4.4.5) before it, when it needs another init than the segment
    /// before (always written for the first segment).
    pub map: Option<String>,
    /// `EXT-X-PROGRAM-DATE-TIME` (§4.4.4.6): the wall-clock capture time of its first sample.
    pub program_date_time: Option<SystemTime>,
    /// Its parts, in order (§4.4.4.9: listed before the segment's `EXTINF`).
    pub parts: Vec<Part>,
    /// `EXTINF` duration and the URI, once the segment is complete.
    pub complete: Option<(Duration, String)>,
}

impl MediaSegment {
    pub(crate) fn write(&self, out: &mut String) {
        if self.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if let Some(m) = &self.map {
            let _ = writeln!(out, "#EXT-X-MAP:URI=\"{m}\"");
        }
        if let Some(t) = self.program_date_time {
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:{}",
                humantime::format_rfc3339_millis(t)
            );
        }
        for p in &self.parts {
            p.write(out);
        }
        if let Some((d, uri)) = &self.complete {
            let _ = write!(out, "#EXTINF:{},\n{uri}\n", seconds(*d));
        }
    }
}
