//! Checks on a WHEP offer before str0m sees it (draft-ietf-wish-whep §4.2: the body of the
//! `POST` is an SDP offer, RFC 8866).
//!
//! str0m parses and negotiates; this module refuses, with a reason a person can act on, what
//! no viewer would send: an empty, huge or binary body, text that is not SDP, an offer with no
//! audio or video, one whose codecs are all ones this server does not send (it sends H.264
//! and Opus only, from the stream's one encode), or one that only sends. It reads at most
//! [`MAX_OFFER_BYTES`], [`MAX_LINES`] lines and [`MAX_MEDIA`] media sections, so its cost is
//! bounded whatever arrives.

use crate::error::OfferError;
use str0m::change::SdpOffer;

/// Larger than any viewer's offer: Chromium's, with audio, video and a dozen codecs, is ~5 KB.
pub const MAX_OFFER_BYTES: usize = 32 * 1024;
/// Lines an offer may have.
pub const MAX_LINES: usize = 1024;
/// Media sections (`m=`) an offer may have.
pub const MAX_MEDIA: usize = 16;

/// What the offer asks for that this server can send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offered {
    /// A video section that receives and lists H.264.
    pub h264: bool,
    /// An audio section that receives and lists Opus.
    pub opus: bool,
    /// `(is video, mid)` of those sections, in offer order.
    mids: Vec<(bool, String)>,
}

impl Offered {
    /// `(is video, mid)` of the sections this server can send on, in offer order.
    pub fn mids(&self) -> impl Iterator<Item = (bool, &str)> {
        self.mids.iter().map(|(v, m)| (*v, m.as_str()))
    }
}

/// One `m=` section as far as the checks need it.
#[derive(Debug, Default)]
pub(crate) struct Section {
    /// `audio`, `video`, `application`, ...
    pub(crate) kind: String,
    /// Encoding names from `a=rtpmap` (RFC 8866 §6.6), lowercased.
    pub(crate) codecs: Vec<String>,
    /// The section's own direction attribute, if any (RFC 8866 §6.7).
    pub(crate) direction: Option<Direction>,
    /// `a=mid` (RFC 8843 §14): how the answer and str0m name the section.
    pub(crate) mid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn parse(attr: &str) -> Option<Direction> {
        Some(match attr {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// Whether the offerer receives media in this direction (we send).
    fn offerer_receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// Checks an offer's bytes and parses it with str0m. The order of the checks is the order of
/// the variants of [`OfferError`]: the first failing one is reported.
pub fn check_offer(body: &[u8]) -> Result<(SdpOffer, Offered), OfferError> {
    let text = check_text(body)?;
    let (session_dir, sections) = scan(text)?;
    let offered = summarize(session_dir, &sections)?;
    let offer =
        SdpOffer::from_sdp_string(text).map_err(|e| OfferError::Malformed(e.to_string()))?;
    Ok((offer, offered))
}

pub(crate) fn check_text(body: &[u8]) -> Result<&str, OfferError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(OfferError::Empty);
    }
    if body.len() > MAX_OFFER_BYTES {
        return Err(OfferError::TooLarge {
            len: body.len(),
            max: MAX_OFFER_BYTES,
        });
    }
    if let Some(at) = body
        .iter()
        .position(|&b| b < 0x20 && !matches!(b, b'\r' | b'\n' | b'\t') || b == 0x7f)
    {
        return Err(OfferError::NotText { at, byte: body[at] });
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        OfferError::NotText { at, byte: body[at] }
    })?;
    if !text.trim_start().starts_with("v=0") {
        return Err(OfferError::NotSdp);
    }
    Ok(text)
}

/// The session-level direction and the media sections.
pub(crate) fn scan(text: &str) -> Result<(Option<Direction>, Vec<Section>), OfferError> {
    let mut session_dir = None;
    let mut sections: Vec<Section> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if n >= MAX_LINES {
            return Err(OfferError::TooMany {
                what: format!("more than {MAX_LINES} lines"),
                max: MAX_LINES,
            });
        }
        let line = line.trim_end_matches('\r');
        if let Some(m) = line.strip_prefix("m=") {
            if sections.len() == MAX_MEDIA {
                return Err(OfferError::TooMany {
                    what: format!("more than {MAX_MEDIA} media sections"),
                    max: MAX_MEDIA,
                });
            }
            let kind = m.split(' ').next().unwrap_or_default().to_ascii_lowercase();
            sections.push(Section {
                kind,
                ..Section::default()
            });
        } else if let Some(a) = line.strip_prefix("a=") {
            if let Some(d) = Direction::parse(a) {
                match sections.last_mut() {
                    Some(s) => s.direction = Some(d),
                    None => session_dir = Some(d),
                }
            } else if let Some(mid) = a.strip_prefix("mid:")
                && let Some(s) = sections.last_mut()
            {
                s.mid = Some(mid.trim().chars().take(32).collect());
            } else if let Some(map) = a.strip_prefix("rtpmap:")
                && let Some(s) = sections.last_mut()
            {
                // `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<parameters>]`
                let name = map
                    .split_once(' ')
                    .and_then(|(_, enc)| enc.split('/').next())
                    .unwrap_or_default();
                if !name.is_empty() && s.codecs.len() < 64 {
                    s.codecs.push(name.to_ascii_lowercase());
                }
            }
        }
    }
    Ok((session_dir, sections))
}

fn summarize(session_dir: Option<Direction>, sections: &[Section]) -> Result<Offered, OfferError> {
    let media: Vec<&Section> = sections
        .iter()
        .filter(|s| s.kind == "audio" || s.kind == "video")
        .collect();
    if media.is_empty() {
        return Err(OfferError::NoMedia);
    }
    let supported = |s: &Section| {
        let want = if s.kind == "video" { "h264" } else { "opus" };
        s.codecs.iter().any(|c| c == want)
    };
    let usable: Vec<&&Section> = media.iter().filter(|s| supported(s)).collect();
    if usable.is_empty() {
        let mut offered: Vec<&str> = media
            .iter()
            .flat_map(|s| s.codecs.iter().map(String::as_str))
            .collect();
        offered.sort_unstable();
        offered.dedup();
        offered.truncate(16);
        let offered = if offered.is_empty() {
            "none".to_string()
        } else {
            offered.join(", ")
        };
        return Err(OfferError::NoSupportedCodec { offered });
    }
    let mut out = Offered::default();
    for s in usable {
        let dir = s.direction.or(session_dir).unwrap_or(Direction::SendRecv);
        if dir.offerer_receives() {
            let video = s.kind == "video";
            if video {
                out.h264 = true;
            } else {
                out.opus = true;
            }
            if let Some(mid) = &s.mid {
                out.mids.push((video, mid.clone()));
            }
        }
    }
    if !out.h264 && !out.opus {
        return Err(OfferError::NotReceiving);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
