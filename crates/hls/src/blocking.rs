//! Blocking playlist reload (RFC 8216bis §6.2.5.2): whether a playlist request with delivery
//! directives can be answered now, must wait, or is refused. Time is an argument (how long the
//! request has waited); the shell does the waiting.

use crate::config::Config;
use crate::error::HlsError;
use crate::store::Store;
use std::time::Duration;

/// The delivery directives of a playlist request (§6.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    /// A plain request: the playlist as it is.
    Now,
    /// `_HLS_msn=M`: a playlist that contains segment M.
    Msn(u64),
    /// `_HLS_msn=M&_HLS_part=P`: a playlist that contains part P of segment M.
    MsnPart(u64, u64),
}

impl Directive {
    /// From the query's `_HLS_msn` and `_HLS_part`; `_HLS_part` alone, or a value that is not
    /// a decimal integer, is a client error (§6.2.5.2).
    pub fn from_query(msn: Option<&str>, part: Option<&str>) -> Result<Directive, HlsError> {
        let int = |name: &str, v: &str| {
            if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HlsError::Invalid(format!(
                    "{name} must be a decimal integer, got {v:?}"
                )));
            }
            v.parse::<u64>()
                .map_err(|_| HlsError::Invalid(format!("{name} is out of range: {v:?}")))
        };
        match (msn, part) {
            (None, None) => Ok(Directive::Now),
            (Some(m), None) => Ok(Directive::Msn(int("_HLS_msn", m)?)),
            (Some(m), Some(p)) => Ok(Directive::MsnPart(
                int("_HLS_msn", m)?,
                int("_HLS_part", p)?,
            )),
            (None, Some(_)) => Err(HlsError::Invalid("_HLS_part without _HLS_msn".into())),
        }
    }
}

/// What to do with a playlist request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer with the playlist now.
    Ready,
    /// Hold it: ask again when a part is completed.
    Wait,
    /// 400: it asks for something too far in the future (§6.2.5.2).
    BadRequest(String),
    /// 503: it waited as long as it may ([`Config::block_limit`]), or the stream did not start.
    TimedOut,
}

/// Decides a request that has waited `waited` so far.
pub fn decide(cfg: &Config, store: &Store, d: Directive, waited: Duration) -> Decision {
    let timeout = || {
        let limit = match (d, store.last_complete()) {
            (_, None) | (Directive::Now, _) => cfg.start_timeout.max(cfg.block_limit()),
            _ => cfg.block_limit(),
        };
        if waited >= limit {
            Decision::TimedOut
        } else {
            Decision::Wait
        }
    };
    let last = store.last_complete();
    let (msn, part) = match d {
        Directive::Now => {
            return if last.is_some() {
                Decision::Ready
            } else {
                timeout()
            };
        }
        Directive::Msn(m) => (m, None),
        Directive::MsnPart(m, p) => (m, Some(p)),
    };
    // "If the _HLS_msn is greater than the Media Sequence Number of the last Media Segment in
    // the current Playlist plus two, [...] the server SHOULD immediately return Bad Request."
    // Before the first segment the last one is taken as the one before the first to come.
    let last_or_before = last
        .unwrap_or(store.next_msn().saturating_sub(1))
        .saturating_add(2);
    if msn > last_or_before {
        return Decision::BadRequest(format!(
            "_HLS_msn={msn} is more than two segments past the last one ({})",
            last.map_or("none yet".to_string(), |l| l.to_string())
        ));
    }
    let ready = match part {
        None => last.is_some_and(|l| msn <= l),
        Some(p) => last.is_some() && store.has_part(msn, p),
    };
    if ready {
        return Decision::Ready;
    }
    if let (Some(p), Some((open_msn, open_parts))) = (part, store.next_part()) {
        // "[...] or if the _HLS_part exceeds the last Partial Segment in the current Playlist
        // by the Advance Part Limit": counted from the part being made now.
        let ahead = if msn == open_msn {
            p.saturating_sub(u64::from(open_parts))
        } else if msn > open_msn {
            p
        } else {
            0
        };
        if ahead > cfg.advance_part_limit() {
            return Decision::BadRequest(format!(
                "_HLS_part={p} of segment {msn} is more than {} parts past the last one",
                cfg.advance_part_limit()
            ));
        }
    }
    timeout()
}
