//! A sans-IO reader of HLS playlists for `download` (RFC 8216): text in, a typed plan out.
//!
//! The funnel's own rewriter ([`crate::hls::rewrite`]) works line by line so unknown tags pass
//! through untouched; downloading needs the meaning of the tags instead: which segments in which
//! order (4.3.2.1 EXTINF), the byte range of each (4.3.2.2 EXT-X-BYTERANGE, whose offset defaults
//! to the end of the previous range of the same resource), its key (4.3.2.4 EXT-X-KEY, IV from
//! the media sequence number when none is given, 5.2), its init section (4.3.2.5 EXT-X-MAP),
//! whether the playlist ends (4.3.3.4 EXT-X-ENDLIST), and in a master playlist the variants
//! (4.3.4.2 EXT-X-STREAM-INF).

use crate::{Error, Result};

/// At most this many segments in one playlist: far more than any VOD (a 100 000-segment
/// playlist of 2 s segments is 55 hours) while a plan stays a few tens of MB.
pub const MAX_SEGMENTS: usize = 200_000;

/// A byte range of a resource: `len` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub offset: u64,
    pub len: u64,
}

impl ByteRange {
    /// The HTTP `Range` header value (RFC 9110 14.1.2).
    pub fn header(&self) -> String {
        format!("bytes={}-{}", self.offset, self.offset + self.len - 1)
    }
}

/// How a segment is encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    None,
    /// AES-128 CBC with PKCS#7 padding of the whole segment (5.2).
    Aes128 {
        uri: String,
        iv: [u8; 16],
    },
}

/// An init section (EXT-X-MAP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Map {
    pub uri: String,
    pub range: Option<ByteRange>,
}

/// One media segment, with every URI as written in the playlist (resolve against its URL).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub uri: String,
    pub duration: f64,
    pub range: Option<ByteRange>,
    pub key: Key,
    pub map: Option<Map>,
}

/// A media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub target_duration: f64,
    pub media_sequence: u64,
    pub ended: bool,
    pub segments: Vec<Segment>,
}

impl Media {
    pub fn duration(&self) -> f64 {
        self.segments.iter().map(|s| s.duration).sum()
    }

    /// fMP4 segments (there is an init section), as opposed to MPEG-TS.
    pub fn is_fmp4(&self) -> bool {
        self.segments.iter().any(|s| s.map.is_some())
    }
}

/// One variant of a master playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub uri: String,
    pub bandwidth: u64,
}

/// What a playlist is.
#[derive(Debug, Clone, PartialEq)]
pub enum Playlist {
    Master(Vec<Variant>),
    Media(Media),
}

/// Which variant of a master playlist to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Choice {
    #[default]
    Best,
    Worst,
    /// The variant whose BANDWIDTH is nearest to this.
    Bandwidth(u64),
}

impl std::str::FromStr for Choice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "best" => Ok(Choice::Best),
            "worst" => Ok(Choice::Worst),
            n => n.parse().map(Choice::Bandwidth).map_err(|_| {
                format!("--variant takes best, worst or a BANDWIDTH number, not {n:?}")
            }),
        }
    }
}

/// Picks a variant (`None` for an empty list).
pub fn choose(variants: &[Variant], c: Choice) -> Option<&Variant> {
    match c {
        Choice::Best => variants.iter().max_by_key(|v| v.bandwidth),
        Choice::Worst => variants.iter().min_by_key(|v| v.bandwidth),
        Choice::Bandwidth(b) => variants.iter().min_by_key(|v| v.bandwidth.abs_diff(b)),
    }
}

/// The value of attribute `name` in an attribute list (4.2), quotes removed.
pub fn attr<'a>(list: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = list;
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = rest[..eq].trim();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], q[end + 1..].trim_start_matches(','))
        } else {
            match after.find(',') {
                Some(c) => (&after[..c], &after[c + 1..]),
                None => (after, ""),
            }
        };
        if key == name {
            return Some(value);
        }
        rest = next;
    }
    None
}

pub(crate) fn parse_range(v: &str, prev_end: Option<u64>) -> Result<ByteRange> {
    let bad = || Error::Protocol(format!("bad byte range {v:?} in the playlist"));
    let (len, off) = match v.split_once('@') {
        Some((l, o)) => (l, Some(o.trim().parse::<u64>().map_err(|_| bad())?)),
        None => (v, None),
    };
    let len = len.trim().parse::<u64>().map_err(|_| bad())?;
    let offset = match off.or(prev_end) {
        Some(o) => o,
        // 4.3.2.2: without an offset the previous segment must be a sub-range of the same resource.
        None => return Err(bad()),
    };
    if len == 0 || offset.checked_add(len).is_none() {
        return Err(bad());
    }
    Ok(ByteRange { offset, len })
}

fn parse_iv(v: &str) -> Result<[u8; 16]> {
    let hex = v
        .strip_prefix("0x")
        .or_else(|| v.strip_prefix("0X"))
        .ok_or_else(|| Error::Protocol(format!("bad IV {v:?}")))?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Protocol(format!("bad IV {v:?}")));
    }
    let mut iv = [0u8; 16];
    for (i, b) in iv.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| Error::Protocol(format!("bad IV {v:?}")))?;
    }
    Ok(iv)
}

/// Parses a playlist. Errors name what cannot be downloaded (not a playlist, SAMPLE-AES or other
/// DRM, too many segments, a malformed tag that changes what the bytes mean).
pub fn parse(text: &str) -> Result<Playlist> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.trim_start().starts_with("#EXTM3U") {
        return Err(Error::Protocol(
            "not an HLS playlist (it does not start with #EXTM3U)".into(),
        ));
    }
    let mut variants = Vec::new();
    let mut stream_inf: Option<u64> = None;
    let mut media = Media {
        target_duration: 0.0,
        media_sequence: 0,
        ended: false,
        segments: Vec::new(),
    };
    let mut duration: Option<f64> = None;
    let mut range: Option<ByteRange> = None;
    // Key as written: (uri, explicit IV); the IV default depends on each segment's number.
    let mut key: Option<(String, Option<[u8; 16]>)> = None;
    let mut map: Option<Map> = None;
    // End of the last byte range, per resource URI (for EXT-X-BYTERANGE without an offset).
    let mut last_end: Option<(String, u64)> = None;
    let mut pending_range: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(tag) = t.strip_prefix('#') {
            if let Some(v) = tag.strip_prefix("EXT-X-STREAM-INF:") {
                let bw = attr(v, "BANDWIDTH")
                    .and_then(|b| b.parse().ok())
                    .unwrap_or(0);
                stream_inf = Some(bw);
            } else if let Some(v) = tag.strip_prefix("EXTINF:") {
                let d = v.split(',').next().unwrap_or("").trim();
                duration = Some(
                    d.parse()
                        .map_err(|_| Error::Protocol(format!("bad EXTINF duration {d:?}")))?,
                );
            } else if let Some(v) = tag.strip_prefix("EXT-X-TARGETDURATION:") {
                media.target_duration = v.trim().parse().unwrap_or(0.0);
            } else if let Some(v) = tag.strip_prefix("EXT-X-MEDIA-SEQUENCE:") {
                media.media_sequence = v.trim().parse().unwrap_or(0);
            } else if tag == "EXT-X-ENDLIST" {
                media.ended = true;
            } else if let Some(v) = tag.strip_prefix("EXT-X-BYTERANGE:") {
                pending_range = Some(v.trim().to_owned());
            } else if let Some(v) = tag.strip_prefix("EXT-X-KEY:") {
                let method = attr(v, "METHOD").unwrap_or("");
                key = match method {
                    "NONE" => None,
                    "AES-128" => {
                        let uri = attr(v, "URI").ok_or_else(|| {
                            Error::Protocol("EXT-X-KEY METHOD=AES-128 without a URI".into())
                        })?;
                        let iv = attr(v, "IV").map(parse_iv).transpose()?;
                        if let Some(f) = attr(v, "KEYFORMAT")
                            && f != "identity"
                        {
                            return Err(Error::Usage(format!(
                                "the playlist's key format {f:?} is DRM: homestream cannot download it"
                            )));
                        }
                        Some((uri.to_owned(), iv))
                    }
                    m => {
                        return Err(Error::Usage(format!(
                            "the playlist is encrypted with {m} (DRM): homestream downloads only clear or AES-128 HLS"
                        )));
                    }
                };
            } else if let Some(v) = tag.strip_prefix("EXT-X-MAP:") {
                let uri = attr(v, "URI")
                    .ok_or_else(|| Error::Protocol("EXT-X-MAP without a URI".into()))?;
                let range = match attr(v, "BYTERANGE") {
                    // 4.3.2.5: the offset is required here; none means 0.
                    Some(r) => Some(parse_range(r, Some(0))?),
                    None => None,
                };
                map = Some(Map {
                    uri: uri.to_owned(),
                    range,
                });
            }
            continue;
        }
        // A URI line.
        if let Some(bw) = stream_inf.take() {
            variants.push(Variant {
                uri: t.to_owned(),
                bandwidth: bw,
            });
            continue;
        }
        let Some(d) = duration.take() else {
            return Err(Error::Protocol(format!(
                "playlist URI {t:?} has no EXTINF before it"
            )));
        };
        if let Some(r) = pending_range.take() {
            let prev = last_end.as_ref().filter(|(u, _)| u == t).map(|(_, e)| *e);
            let br = parse_range(&r, prev)?;
            last_end = Some((t.to_owned(), br.offset + br.len));
            range = Some(br);
        }
        if media.segments.len() >= MAX_SEGMENTS {
            return Err(Error::Usage(format!(
                "the playlist names more than {MAX_SEGMENTS} segments"
            )));
        }
        let seq = media.media_sequence + media.segments.len() as u64;
        let k = match &key {
            None => Key::None,
            Some((uri, iv)) => Key::Aes128 {
                uri: uri.clone(),
                iv: iv.unwrap_or_else(|| (seq as u128).to_be_bytes()),
            },
        };
        media.segments.push(Segment {
            uri: t.to_owned(),
            duration: d,
            range: range.take(),
            key: k,
            map: map.clone(),
        });
    }
    if !variants.is_empty() {
        return Ok(Playlist::Master(variants));
    }
    Ok(Playlist::Media(media))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(t: &str) -> Media {
        match parse(t).unwrap() {
            Playlist::Media(m) => m,
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn segments_ranges_keys_and_maps() {
        let m = media(
            "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:7\n\
             #EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"100@0\"\n\
             #EXTINF:4.0,\n#EXT-X-BYTERANGE:500@100\nall.mp4\n\
             #EXT-X-KEY:METHOD=AES-128,URI=\"k.bin\"\n\
             #EXTINF:3.5,\n#EXT-X-BYTERANGE:300\nall.mp4\n\
             #EXT-X-KEY:METHOD=AES-128,URI=\"k2.bin\",IV=0x000102030405060708090a0b0c0d0e0f\n\
             #EXTINF:1,\nb.m4s\n#EXT-X-ENDLIST\n",
        );
        assert!(m.ended);
        assert_eq!(m.media_sequence, 7);
        assert_eq!(m.segments.len(), 3);
        assert_eq!(m.duration(), 8.5);
        assert_eq!(
            m.segments[0].range,
            Some(ByteRange {
                offset: 100,
                len: 500
            })
        );
        assert_eq!(
            m.segments[1].range,
            Some(ByteRange {
                offset: 600,
                len: 300
            })
        );
        assert_eq!(m.segments[0].key, Key::None);
        assert_eq!(
            m.segments[1].key,
            Key::Aes128 {
                uri: "k.bin".into(),
                iv: 8u128.to_be_bytes()
            }
        );
        let Key::Aes128 { iv, .. } = &m.segments[2].key else {
            panic!()
        };
        assert_eq!(iv[15], 15);
        assert_eq!(
            m.segments[2].map.as_ref().unwrap().range,
            Some(ByteRange {
                offset: 0,
                len: 100
            })
        );
        assert!(m.is_fmp4());
    }

    #[test]
    fn master_and_choice() {
        let p = parse(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.4d401e,mp4a.40.2\"\nlo/i.m3u8\n\
             #EXT-X-STREAM-INF:RESOLUTION=1280x720,BANDWIDTH=3000000\nhi/i.m3u8\n",
        )
        .unwrap();
        let Playlist::Master(v) = p else { panic!() };
        assert_eq!(choose(&v, Choice::Best).unwrap().uri, "hi/i.m3u8");
        assert_eq!(choose(&v, Choice::Worst).unwrap().uri, "lo/i.m3u8");
        assert_eq!(
            choose(&v, Choice::Bandwidth(1_000_000)).unwrap().uri,
            "lo/i.m3u8"
        );
        assert_eq!("best".parse::<Choice>(), Ok(Choice::Best));
        assert!("fast".parse::<Choice>().is_err());
    }

    #[test]
    fn what_cannot_be_downloaded_is_an_error() {
        for (t, want) in [
            ("<html>", "not an HLS playlist"),
            (
                "#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://x\"\n#EXTINF:4,\na.ts\n",
                "SAMPLE-AES",
            ),
            (
                "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",KEYFORMAT=\"com.apple.streamingkeydelivery\"\n",
                "DRM",
            ),
            ("#EXTM3U\na.ts\n", "no EXTINF"),
            (
                "#EXTM3U\n#EXTINF:4,\n#EXT-X-BYTERANGE:10\na.ts\n",
                "byte range",
            ),
            (
                "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x12\n",
                "bad IV",
            ),
        ] {
            let e = parse(t).unwrap_err().to_string();
            assert!(e.contains(want), "{t:?}: {e}");
        }
    }

    #[test]
    fn a_huge_playlist_is_bounded() {
        let mut t = String::from("#EXTM3U\n");
        for i in 0..100_000 {
            t.push_str(&format!("#EXTINF:2,\ns{i}.ts\n"));
        }
        assert_eq!(media(&t).segments.len(), 100_000);
        for i in 0..MAX_SEGMENTS {
            t.push_str(&format!("#EXTINF:2,\nt{i}.ts\n"));
        }
        assert!(parse(&t).unwrap_err().to_string().contains("more than"));
    }

    #[test]
    fn attribute_lists() {
        let l = "METHOD=AES-128,URI=\"a,b=c\",IV=0x01";
        assert_eq!(attr(l, "URI"), Some("a,b=c"));
        assert_eq!(attr(l, "IV"), Some("0x01"));
        assert_eq!(attr(l, "METHOD"), Some("AES-128"));
        assert_eq!(attr(l, "X"), None);
    }

    proptest::proptest! {
        /// Any text: an error or a plan, never a panic.
        #[test]
        fn never_panics(t in "(#EXTM3U\n)?((#EXT(INF|-X-BYTERANGE|-X-KEY|-X-MAP|-X-STREAM-INF):[ -~]{0,30}|[a-z./@0-9]{0,12})\n){0,20}") {
            let _ = parse(&t);
        }

        /// Byte ranges without an offset continue where the previous range of the same URI ended.
        #[test]
        fn byte_ranges_are_contiguous(lens in proptest::collection::vec(1u64..1_000_000, 1..50), start in 0u64..1000) {
            let mut t = String::from("#EXTM3U\n");
            for (i, l) in lens.iter().enumerate() {
                if i == 0 {
                    t.push_str(&format!("#EXTINF:1,\n#EXT-X-BYTERANGE:{l}@{start}\nall.ts\n"));
                } else {
                    t.push_str(&format!("#EXTINF:1,\n#EXT-X-BYTERANGE:{l}\nall.ts\n"));
                }
            }
            let m = media(&t);
            let mut off = start;
            for (s, l) in m.segments.iter().zip(&lens) {
                proptest::prop_assert_eq!(s.range, Some(ByteRange { offset: off, len: *l }));
                off += l;
            }
        }
    }
}
