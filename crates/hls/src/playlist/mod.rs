//! Media Playlists as typed data (RFC 8216bis §4.4), written by [`MediaPlaylist::write`] and
//! read back by [`MediaPlaylist::parse`] (the parser knows the tags this writer uses and
//! refuses the rest; the tests and the simulated players read playlists with it).
//!
//! ```text
//! #EXTM3U
//! #EXT-X-VERSION:6                         §4.3.1.2 (EXT-X-MAP without I-frames needs 6)
//! #EXT-X-TARGETDURATION:2                  §4.4.3.1
//! #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.705   §4.4.3.8
//! #EXT-X-PART-INF:PART-TARGET=0.235        §4.4.3.7
//! #EXT-X-MEDIA-SEQUENCE:1796200000         §4.4.3.2
//! #EXT-X-DISCONTINUITY-SEQUENCE:0          §4.4.3.3 (only when not 0)
//! then per segment (segment.rs): DISCONTINUITY, MAP, PROGRAM-DATE-TIME, PARTs, EXTINF + URI
//! #EXT-X-PRELOAD-HINT:TYPE=PART,URI="..."  §4.4.5.3
//! ```

pub mod attributes;
pub mod segment;
pub mod server_control;

pub use segment::{MediaSegment, Part};
pub use server_control::ServerControl;

use crate::error::HlsError;
use attributes::{check_quotable, parse_integer, parse_seconds, round_ms, seconds};
use std::fmt::Write as _;
use std::time::Duration;

/// The segment whose tags are being read.
fn seg(cur: &mut Option<MediaSegment>) -> &mut MediaSegment {
    cur.get_or_insert_with(empty_segment)
}

fn empty_segment() -> MediaSegment {
    MediaSegment {
        discontinuity: false,
        map: None,
        program_date_time: None,
        parts: Vec::new(),
        complete: None,
    }
}

/// The compatibility version written (§4.3.1.2, §8: EXT-X-MAP in a playlist without
/// EXT-X-I-FRAMES-ONLY needs 6; nothing written here needs more).
pub const VERSION: u64 = 6;

/// A Media Playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPlaylist {
    /// `EXT-X-TARGETDURATION`: every `EXTINF`, rounded to the nearest integer, is at most
    /// this many seconds; it never changes while the stream lasts.
    pub target_duration: u64,
    /// `EXT-X-SERVER-CONTROL`.
    pub server_control: ServerControl,
    /// `EXT-X-PART-INF:PART-TARGET`: the longest part.
    pub part_target: Option<Duration>,
    /// `EXT-X-MEDIA-SEQUENCE`: the Media Sequence Number of the first segment listed.
    pub media_sequence: u64,
    /// `EXT-X-DISCONTINUITY-SEQUENCE`: discontinuities that have left the playlist.
    pub discontinuity_sequence: u64,
    /// The segments, oldest first; only the last may be incomplete.
    pub segments: Vec<MediaSegment>,
    /// `EXT-X-PRELOAD-HINT:TYPE=PART`: the next part's URI.
    pub preload_hint: Option<String>,
}

impl MediaPlaylist {
    /// Checks the rules a writer must keep (§4.4, §6.2.1): target duration and part target
    /// bound every duration, only the last segment is incomplete, a segment that has parts
    /// lists parts that add up to its duration, URIs can be quoted.
    pub fn validate(&self) -> Result<(), HlsError> {
        let bad = |m: String| Err(HlsError::Invalid(m));
        if self.target_duration == 0 {
            return bad("target duration 0".into());
        }
        if let Some(pt) = self.part_target {
            if pt.is_zero() {
                return bad("part target 0".into());
            }
            if let Some(h) = self.server_control.part_hold_back
                && h < 2 * pt
            {
                return bad(format!("PART-HOLD-BACK {h:?} below twice the part target"));
            }
        }
        let n = self.segments.len();
        for (i, s) in self.segments.iter().enumerate() {
            if let Some(m) = &s.map {
                check_quotable(m)?;
            }
            if i == 0 && s.map.is_none() {
                return bad("the first segment has no EXT-X-MAP".into());
            }
            for p in &s.parts {
                check_quotable(&p.uri)?;
                match self.part_target {
                    None => return bad("parts without EXT-X-PART-INF".into()),
                    Some(pt) if round_ms(p.duration) > round_ms(pt) => {
                        return bad(format!("part {} longer than the part target", p.uri));
                    }
                    _ => {}
                }
            }
            match &s.complete {
                Some((d, uri)) => {
                    if uri.is_empty() || uri.contains(['\r', '\n']) || uri.starts_with('#') {
                        return bad(format!("bad segment URI {uri:?}"));
                    }
                    let secs = (round_ms(*d).as_millis() + 500) / 1000;
                    if secs as u64 > self.target_duration {
                        return bad(format!("segment {uri} longer than the target duration"));
                    }
                }
                None if i + 1 != n => return bad("an incomplete segment before the last".into()),
                None if s.parts.is_empty() => return bad("an empty incomplete segment".into()),
                None => {}
            }
        }
        if let Some(h) = &self.preload_hint {
            check_quotable(h)?;
        }
        Ok(())
    }

    /// The playlist's text.
    pub fn write(&self) -> String {
        let mut out = String::with_capacity(256 + 96 * self.segments.len() * 6);
        out.push_str("#EXTM3U\n");
        let _ = writeln!(out, "#EXT-X-VERSION:{VERSION}");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", self.target_duration);
        self.server_control.write(&mut out);
        if let Some(pt) = self.part_target {
            let _ = writeln!(out, "#EXT-X-PART-INF:PART-TARGET={}", seconds(pt));
        }
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence);
        if self.discontinuity_sequence != 0 {
            let _ = writeln!(
                out,
                "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
                self.discontinuity_sequence
            );
        }
        for s in &self.segments {
            s.write(&mut out);
        }
        if let Some(h) = &self.preload_hint {
            server_control::write_preload_hint(h, &mut out);
        }
        out
    }

    /// Reads a playlist this writer could have written.
    pub fn parse(text: &str) -> Result<MediaPlaylist, HlsError> {
        let mut lines = text.lines();
        if lines.next() != Some("#EXTM3U") {
            return Err(HlsError::syntax(
                text.lines().next().unwrap_or(""),
                "no #EXTM3U",
            ));
        }
        let mut p = MediaPlaylist {
            target_duration: 0,
            server_control: ServerControl {
                can_block_reload: false,
                part_hold_back: None,
            },
            part_target: None,
            media_sequence: 0,
            discontinuity_sequence: 0,
            segments: Vec::new(),
            preload_hint: None,
        };
        let mut cur: Option<MediaSegment> = None;
        let mut pending_inf: Option<Duration> = None;
        let (mut saw_target, mut saw_version) = (false, false);
        for line in lines {
            if line.is_empty() {
                continue;
            }
            if let Some(d) = pending_inf.take() {
                if line.starts_with('#') {
                    return Err(HlsError::syntax(line, "EXTINF not followed by a URI"));
                }
                let mut s = cur.take().unwrap_or_else(empty_segment);
                s.complete = Some((d, line.to_string()));
                p.segments.push(s);
                continue;
            }
            if p.preload_hint.is_some() {
                return Err(HlsError::syntax(line, "tags after EXT-X-PRELOAD-HINT"));
            }
            let (tag, value) = line.split_once(':').unwrap_or((line, ""));
            match tag {
                "#EXT-X-VERSION" => {
                    let v = parse_integer(line, value)?;
                    if v != VERSION || saw_version {
                        return Err(HlsError::syntax(line, "unexpected version"));
                    }
                    saw_version = true;
                }
                "#EXT-X-TARGETDURATION" => {
                    p.target_duration = parse_integer(line, value)?;
                    saw_target = true;
                }
                "#EXT-X-SERVER-CONTROL" => {
                    p.server_control = ServerControl::parse(line, value)?;
                }
                "#EXT-X-PART-INF" => {
                    p.part_target = Some(server_control::parse_part_inf(line, value)?);
                }
                "#EXT-X-MEDIA-SEQUENCE" => p.media_sequence = parse_integer(line, value)?,
                "#EXT-X-DISCONTINUITY-SEQUENCE" => {
                    p.discontinuity_sequence = parse_integer(line, value)?
                }
                "#EXT-X-DISCONTINUITY" if value.is_empty() && line == tag => {
                    seg(&mut cur).discontinuity = true
                }
                "#EXT-X-MAP" => {
                    let attrs = attributes::parse(value)?;
                    let [("URI", uri)] = attrs[..] else {
                        return Err(HlsError::syntax(line, "EXT-X-MAP with other than URI"));
                    };
                    seg(&mut cur).map = Some(attributes::quoted(line, uri)?.to_string());
                }
                "#EXT-X-PROGRAM-DATE-TIME" => {
                    let t = humantime::parse_rfc3339(value)
                        .map_err(|_| HlsError::syntax(line, "bad date-time"))?;
                    seg(&mut cur).program_date_time = Some(t);
                }
                "#EXT-X-PART" => seg(&mut cur).parts.push(Part::parse(line, value)?),
                "#EXTINF" => {
                    let d = value
                        .strip_suffix(',')
                        .ok_or_else(|| HlsError::syntax(line, "EXTINF without ','"))?;
                    pending_inf = Some(parse_seconds(line, d)?);
                }
                "#EXT-X-PRELOAD-HINT" => {
                    p.preload_hint = Some(server_control::parse_preload_hint(line, value)?);
                }
                _ => return Err(HlsError::syntax(line, "unexpected line")),
            }
        }
        if pending_inf.is_some() {
            return Err(HlsError::syntax(
                "#EXTINF",
                "EXTINF at the end without a URI",
            ));
        }
        if let Some(s) = cur {
            p.segments.push(s);
        }
        if !saw_target || !saw_version {
            return Err(HlsError::syntax(
                text,
                "no EXT-X-TARGETDURATION or EXT-X-VERSION",
            ));
        }
        Ok(p)
    }

    /// This playlist as [`MediaPlaylist::write`] writes it: durations rounded to milliseconds.
    pub fn rounded(&self) -> MediaPlaylist {
        let mut p = self.clone();
        p.part_target = p.part_target.map(round_ms);
        p.server_control.part_hold_back = p.server_control.part_hold_back.map(round_ms);
        for s in &mut p.segments {
            for part in &mut s.parts {
                part.duration = round_ms(part.duration);
            }
            if let Some((d, _)) = &mut s.complete {
                *d = round_ms(*d);
            }
            s.program_date_time = s.program_date_time.map(|t| {
                let since = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                std::time::UNIX_EPOCH + Duration::from_millis(since.as_millis() as u64)
            });
        }
        p
    }

    /// The Media Sequence Number of the last complete segment.
    pub fn last_complete_msn(&self) -> Option<u64> {
        let complete = self
            .segments
            .iter()
            .filter(|s| s.complete.is_some())
            .count();
        (complete > 0).then(|| self.media_sequence + complete as u64 - 1)
    }
}
