//! `EXT-X-SERVER-CONTROL` (RFC 8216bis §4.4.3.8), `EXT-X-PART-INF` (§4.4.3.7) and
//! `EXT-X-PRELOAD-HINT` (§4.4.5.3): what the server promises a low-latency client.

use super::attributes::{self, parse_bool, parse_seconds, quoted, seconds};
use crate::error::HlsError;
use std::fmt::Write as _;
use std::time::Duration;

/// `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerControl {
    /// `CAN-BLOCK-RELOAD=YES`: `_HLS_msn` / `_HLS_part` requests are held until they can be
    /// answered (§6.2.5.2).
    pub can_block_reload: bool,
    /// `PART-HOLD-BACK`: how far from the live edge a low-latency client should play; at
    /// least twice the part target (§4.4.3.8).
    pub part_hold_back: Option<Duration>,
}

impl ServerControl {
    pub(crate) fn write(&self, out: &mut String) {
        let mut attrs = Vec::new();
        if self.can_block_reload {
            attrs.push("CAN-BLOCK-RELOAD=YES".to_string());
        }
        if let Some(h) = self.part_hold_back {
            attrs.push(format!("PART-HOLD-BACK={}", seconds(h)));
        }
        let _ = writeln!(out, "#EXT-X-SERVER-CONTROL:{}", attrs.join(","));
    }

    pub(crate) fn parse(line: &str, value: &str) -> Result<ServerControl, HlsError> {
        let mut sc = ServerControl {
            can_block_reload: false,
            part_hold_back: None,
        };
        for (k, v) in attributes::parse(value)? {
            match k {
                "CAN-BLOCK-RELOAD" => sc.can_block_reload = parse_bool(line, v)?,
                "PART-HOLD-BACK" => sc.part_hold_back = Some(parse_seconds(line, v)?),
                _ => {
                    return Err(HlsError::syntax(
                        line,
                        "unsupported EXT-X-SERVER-CONTROL attribute",
                    ));
                }
            }
        }
        Ok(sc)
    }
}

/// `#EXT-X-PART-INF:PART-TARGET=..`: the longest a part may last.
pub(crate) fn parse_part_inf(line: &str, value: &str) -> Result<Duration, HlsError> {
    let mut target = None;
    for (k, v) in attributes::parse(value)? {
        match k {
            "PART-TARGET" => target = Some(parse_seconds(line, v)?),
            _ => {
                return Err(HlsError::syntax(
                    line,
                    "unsupported EXT-X-PART-INF attribute",
                ));
            }
        }
    }
    target.ok_or_else(|| HlsError::syntax(line, "EXT-X-PART-INF without PART-TARGET"))
}

/// `#EXT-X-PRELOAD-HINT:TYPE=PART,URI=".."`: the part being made now, which a client may
/// request before it exists (the server answers once it is complete).
pub(crate) fn write_preload_hint(uri: &str, out: &mut String) {
    let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{uri}\"");
}

pub(crate) fn parse_preload_hint(line: &str, value: &str) -> Result<String, HlsError> {
    let (mut kind, mut uri) = (None, None);
    for (k, v) in attributes::parse(value)? {
        match k {
            "TYPE" => kind = Some(v),
            "URI" => uri = Some(quoted(line, v)?.to_string()),
            _ => {
                return Err(HlsError::syntax(
                    line,
                    "unsupported EXT-X-PRELOAD-HINT attribute",
                ));
            }
        }
    }
    if kind != Some("PART") {
        return Err(HlsError::syntax(
            line,
            "only TYPE=PART preload hints are written here",
        ));
    }
    uri.ok_or_else(|| HlsError::syntax(line, "EXT-X-PRELOAD-HINT without URI"))
}
