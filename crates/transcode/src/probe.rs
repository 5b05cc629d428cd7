//! What a file holds, from `ffprobe -show_format -show_streams -of json` (sans-IO: text in,
//! [`Probe`] out), and its video keyframes from `ffprobe -show_entries packet=pts_time,flags`.

use crate::Error;
use serde::Serialize;

/// A stream's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Video,
    Audio,
    Subtitle,
    Other,
}

/// One stream of a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stream {
    /// ffmpeg's stream index (`-map 0:N`).
    pub index: u32,
    pub kind: Kind,
    /// ffmpeg's codec name (`h264`, `hevc`, `ac3`, `subrip`...).
    pub codec: String,
    pub profile: Option<String>,
    pub pix_fmt: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub channels: Option<u32>,
    pub language: Option<String>,
    pub title: Option<String>,
    pub default: bool,
    /// A cover picture stored as a video stream (MP3/MKV attachments): never the movie.
    pub attached_pic: bool,
}

/// A probed file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    /// ffmpeg's demuxer names (`matroska,webm`, `mov,mp4,m4a,3gp,3g2,mj2`, `avi`, `mpegts`).
    pub format: String,
    pub duration_secs: Option<f64>,
    /// The container's first timestamp (`-ss` counts from it).
    pub start_secs: f64,
    pub streams: Vec<Stream>,
}

impl Probe {
    /// The movie's video stream: the first that is not a cover picture.
    pub fn video(&self) -> Option<&Stream> {
        self.streams
            .iter()
            .find(|s| s.kind == Kind::Video && !s.attached_pic)
    }

    /// The audio streams, in file order.
    pub fn audio(&self) -> impl Iterator<Item = &Stream> {
        self.streams.iter().filter(|s| s.kind == Kind::Audio)
    }

    /// The text subtitle streams ffmpeg can turn into WebVTT (not bitmap ones: PGS, VobSub).
    pub fn text_subtitles(&self) -> impl Iterator<Item = &Stream> {
        self.streams.iter().filter(|s| {
            s.kind == Kind::Subtitle
                && matches!(
                    s.codec.as_str(),
                    "subrip" | "srt" | "ass" | "ssa" | "webvtt" | "mov_text" | "text"
                )
        })
    }

    /// A stream by ffmpeg index.
    pub fn stream(&self, index: u32) -> Option<&Stream> {
        self.streams.iter().find(|s| s.index == index)
    }
}

#[derive(serde::Deserialize)]
struct RawProbe {
    #[serde(default)]
    format: RawFormat,
    #[serde(default)]
    streams: Vec<RawStream>,
}

#[derive(serde::Deserialize, Default)]
struct RawFormat {
    #[serde(default)]
    format_name: String,
    duration: Option<String>,
    start_time: Option<String>,
}

#[derive(serde::Deserialize)]
struct RawStream {
    index: u32,
    #[serde(default)]
    codec_type: String,
    #[serde(default)]
    codec_name: String,
    profile: Option<String>,
    pix_fmt: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    channels: Option<u32>,
    duration: Option<String>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
    #[serde(default)]
    disposition: std::collections::HashMap<String, i64>,
}

/// Parses ffprobe's JSON.
pub fn parse_probe(json: &[u8]) -> Result<Probe, Error> {
    let raw: RawProbe = serde_json::from_slice(json).map_err(|e| Error::Parse {
        what: "ffprobe output",
        message: e.to_string(),
    })?;
    let secs = |s: &Option<String>| {
        s.as_deref()
            .and_then(|d| d.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d > 0.0)
    };
    // Some containers (MKV from some muxers, raw TS) give the duration on a stream only.
    let duration_secs = secs(&raw.format.duration).or_else(|| {
        raw.streams
            .iter()
            .filter_map(|s| secs(&s.duration))
            .reduce(f64::max)
    });
    let streams = raw
        .streams
        .into_iter()
        .map(|s| {
            let tag = |k: &str| {
                s.tags
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v.clone())
                    .filter(|v| !v.is_empty() && v != "und")
            };
            Stream {
                index: s.index,
                kind: match s.codec_type.as_str() {
                    "video" => Kind::Video,
                    "audio" => Kind::Audio,
                    "subtitle" => Kind::Subtitle,
                    _ => Kind::Other,
                },
                language: tag("language"),
                title: tag("title"),
                default: s.disposition.get("default").copied().unwrap_or(0) == 1,
                attached_pic: s.disposition.get("attached_pic").copied().unwrap_or(0) == 1,
                codec: s.codec_name,
                profile: s.profile,
                pix_fmt: s.pix_fmt,
                width: s.width,
                height: s.height,
                channels: s.channels,
            }
        })
        .collect();
    let start_secs = raw
        .format
        .start_time
        .as_deref()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite())
        .unwrap_or(0.0);
    Ok(Probe {
        start_secs,
        format: raw.format.format_name,
        duration_secs,
        streams,
    })
}

/// A video stream's keyframes.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyframes {
    /// The first keyframe's timestamp in the container, in seconds.
    pub first: f64,
    /// Every keyframe's time from the first (so the first is 0), sorted.
    pub times: Vec<f64>,
}

/// Parses `ffprobe -select_streams N -show_entries packet=pts_time,flags -of csv=p=0`.
/// Packets without a time (`N/A`) are skipped.
pub fn parse_keyframes(csv: &[u8]) -> Keyframes {
    let text = String::from_utf8_lossy(csv);
    let mut times: Vec<f64> = text
        .lines()
        .filter_map(|line| {
            let (t, flags) = line.split_once(',')?;
            if !flags.starts_with('K') {
                return None;
            }
            t.trim().parse::<f64>().ok().filter(|t| t.is_finite())
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let first = times.first().copied().unwrap_or(0.0);
    Keyframes {
        first,
        times: times.iter().map(|t| t - first).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MKV: &str = r#"{"streams":[
      {"index":0,"codec_name":"h264","profile":"High","codec_type":"video","width":640,"height":360,"pix_fmt":"yuv420p","disposition":{"default":1,"attached_pic":0}},
      {"index":1,"codec_name":"ac3","codec_type":"audio","channels":2,"tags":{"language":"eng"},"disposition":{"default":1}},
      {"index":2,"codec_name":"subrip","codec_type":"subject","tags":{"LANGUAGE":"fre","title":"Français"}},
      {"index":3,"codec_name":"mjpeg","codec_type":"video","disposition":{"attached_pic":1}}
    ],"format":{"format_name":"matroska,webm","duration":"30.000000","start_time":"1.400000"}}"#;

    #[test]
    fn reads_streams_and_duration() {
        let p = parse_probe(MKV.as_bytes()).unwrap();
        assert_eq!(p.format, "matroska,webm");
        assert_eq!(p.duration_secs, Some(30.0));
        assert_eq!(p.start_secs, 1.4);
        assert_eq!(p.video().unwrap().codec, "h264");
        assert_eq!(p.audio().next().unwrap().language.as_deref(), Some("eng"));
        // An unknown codec_type is Other, never a subtitle.
        assert_eq!(p.stream(2).unwrap().kind, Kind::Other);
        assert_eq!(p.stream(2).unwrap().language.as_deref(), Some("fre"));
        assert!(p.stream(3).unwrap().attached_pic);
    }

    #[test]
    fn a_stream_duration_stands_in_for_a_missing_one() {
        let p = parse_probe(
            br#"{"streams":[{"index":0,"codec_type":"video","codec_name":"h264","duration":"12.5"}],"format":{"format_name":"mpegts"}}"#,
        )
        .unwrap();
        assert_eq!(p.duration_secs, Some(12.5));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_probe(b"not json").is_err());
        assert!(parse_probe(b"{\"streams\":[{\"index\":-1}]}").is_err());
        let empty = parse_probe(b"{}").unwrap();
        assert!(empty.video().is_none() && empty.duration_secs.is_none());
    }

    #[test]
    fn keyframes_are_sorted_and_start_at_zero() {
        let k = parse_keyframes(b"1.5,K_\n1.54,__\nN/A,K_\n5.5,K_\n3.5,K_\n3.5,K_\n");
        assert_eq!(k.first, 1.5);
        assert_eq!(k.times, vec![0.0, 2.0, 4.0]);
        assert!(parse_keyframes(b"").times.is_empty());
    }
}
