//! The names of the resources a playlist points to, relative to the playlist:
//! `hls/<run>-i<generation>.mp4` (init), `hls/<run>-<msn>.m4s` (segment),
//! `hls/<run>-<msn>.<part>.m4s` (part).
//!
//! `run` is a random token chosen when the muxer starts: parts and segments are cached as
//! immutable, so a name must never be reused for other bytes, not even after a restart.

use std::fmt;

/// Folder of the resources, relative to the playlist.
pub const DIR: &str = "hls";

/// One resource of a muxer run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// The init segment of an encode generation.
    Init {
        /// Which encode.
        generation: u32,
    },
    /// A whole segment.
    Segment {
        /// Its Media Sequence Number.
        msn: u64,
    },
    /// One part of a segment.
    Part {
        /// The parent segment's Media Sequence Number.
        msn: u64,
        /// Its index in the parent, from 0.
        part: u32,
    },
}

/// A resource name: the run it belongs to and which one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name {
    /// The muxer run.
    pub run: u32,
    /// The resource.
    pub resource: Resource,
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.resource {
            Resource::Init { generation } => write!(f, "{:08x}-i{generation}.mp4", self.run),
            Resource::Segment { msn } => write!(f, "{:08x}-{msn}.m4s", self.run),
            Resource::Part { msn, part } => write!(f, "{:08x}-{msn}.{part}.m4s", self.run),
        }
    }
}

impl Name {
    /// The name as a playlist writes it (with [`DIR`]).
    pub fn uri(&self) -> String {
        format!("{DIR}/{self}")
    }

    /// Parses a file name (the last path segment), `None` for anything not written here.
    pub fn parse(file: &str) -> Option<Name> {
        let (run, rest) = file.split_once('-')?;
        if run.len() != 8
            || !run
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return None;
        }
        let run = u32::from_str_radix(run, 16).ok()?;
        let digits = |s: &str| -> Option<u64> {
            if s.is_empty()
                || s.len() > 20
                || !s.bytes().all(|b| b.is_ascii_digit())
                || (s.len() > 1 && s.starts_with('0'))
            {
                return None;
            }
            s.parse().ok()
        };
        let resource = if let Some(g) = rest.strip_prefix('i').and_then(|r| r.strip_suffix(".mp4"))
        {
            Resource::Init {
                generation: u32::try_from(digits(g)?).ok()?,
            }
        } else {
            let stem = rest.strip_suffix(".m4s")?;
            match stem.split_once('.') {
                None => Resource::Segment { msn: digits(stem)? },
                Some((m, p)) => Resource::Part {
                    msn: digits(m)?,
                    part: u32::try_from(digits(p)?).ok()?,
                },
            }
        };
        Some(Name { run, resource })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_are_refused() {
        for r in [
            Resource::Init { generation: 3 },
            Resource::Segment { msn: 1_796_200_000 },
            Resource::Part { msn: 7, part: 0 },
            Resource::Part {
                msn: u64::MAX,
                part: 12,
            },
        ] {
            let n = Name {
                run: 0x00ab_cdef,
                resource: r,
            };
            assert_eq!(Name::parse(&n.to_string()), Some(n), "{n}");
        }
        assert_eq!(
            Name {
                run: 1,
                resource: Resource::Part { msn: 5, part: 2 }
            }
            .uri(),
            "hls/00000001-5.2.m4s"
        );
        for bad in [
            "",
            "x",
            "0000000-1.m4s",
            "000000001-1.m4s",
            "0000000G-1.m4s",
            "000000AB-1.m4s",
            "00000001-.m4s",
            "00000001-01.m4s",
            "00000001-1.m4s.m4s",
            "00000001-1.2.3.m4s",
            "00000001-i.mp4",
            "00000001-1.mp4",
            "00000001-99999999999999999999999.m4s",
            "00000001-1.99999999999.m4s",
            "../00000001-1.m4s",
            "00000001-+1.m4s",
        ] {
            assert_eq!(Name::parse(bad), None, "{bad}");
        }
    }
}
