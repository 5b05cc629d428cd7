//! A stream's SOURCE as the user writes it: a video source, optional sound joined with `+`, and
//! encoding options after `?`.
//!
//! ```text
//! test[:WxH@FPS][?bitrate=2M&keyint=1]           pattern + its beeping tone
//! camera:0@1280x720@30+mic:default?denoise=on     camera + microphone, denoised
//! jpegs:DIR@5+mic:USB                             a folder of JPEGs + a microphone
//! mjpeg:URL                                       a relay (the URL keeps its own query)
//! ```
//! `test+mic:NAME` replaces the tone by the microphone.

use crate::error::LiveError;
use crate::source::SourceSpec;

/// How a stream's pictures are encoded for its H.264 outputs (once per stream).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoEncoding {
    /// Target bitrate, bits per second.
    pub bitrate_bps: u32,
    /// At most this long between keyframes (a new viewer waits at most this long for picture
    /// when it cannot ask for one), seconds.
    pub keyframe_secs: f64,
}

impl Default for VideoEncoding {
    fn default() -> Self {
        // A LAN carries this easily; 720p30 of a camera looks clean at it.
        VideoEncoding {
            bitrate_bps: 2_500_000,
            keyframe_secs: 1.0,
        }
    }
}

/// Where a stream's sound comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioSpec {
    /// The `test` source's beeps (in step with its flashes).
    Tone,
    /// A microphone.
    Mic {
        /// Its name (or part of it); `None` is the system's default input.
        name: Option<String>,
        /// Noise suppression (RNNoise).
        denoise: bool,
    },
}

/// A parsed SOURCE.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSpec {
    /// Pictures.
    pub video: SourceSpec,
    /// Sound, if any.
    pub audio: Option<AudioSpec>,
    /// H.264 settings.
    pub video_encoding: VideoEncoding,
    /// Opus bitrate, bits per second.
    pub audio_bitrate_bps: u32,
}

/// Default Opus bitrate: speech and a room's sound, mono.
pub const AUDIO_BITRATE: u32 = 64_000;

fn bad(spec: &str, why: impl Into<String>) -> LiveError {
    LiveError::BadSource {
        spec: spec.to_string(),
        reason: why.into(),
    }
}

/// `2500000`, `2500k`, `2.5M` as a count.
fn parse_rate(spec: &str, key: &str, v: &str) -> Result<u32, LiveError> {
    let (num, mult) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1e3),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1e6),
        _ => (v, 1.0),
    };
    match num.parse::<f64>() {
        Ok(n) if n * mult >= 6_000.0 && n * mult <= 50e6 => Ok((n * mult) as u32),
        _ => Err(bad(
            spec,
            format!("{key}={v:?}: expected bits per second between 6k and 50M, e.g. 2M or 64k"),
        )),
    }
}

/// `k=v&k=v` pairs, refusing unknown keys by name.
fn options<'a>(
    spec: &str,
    query: &'a str,
    known: &[&str],
) -> Result<Vec<(&'a str, &'a str)>, LiveError> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !known.contains(&k) {
            return Err(bad(
                spec,
                format!("unknown option {k:?}; expected one of {}", known.join(", ")),
            ));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn on_off(spec: &str, key: &str, v: &str) -> Result<bool, LiveError> {
    match v {
        "on" | "1" | "true" | "yes" => Ok(true),
        "off" | "0" | "false" | "no" => Ok(false),
        _ => Err(bad(spec, format!("{key}={v:?}: expected on or off"))),
    }
}

impl std::str::FromStr for StreamSpec {
    type Err = LiveError;

    fn from_str(spec: &str) -> Result<Self, LiveError> {
        let (video_part, mic_part) = match spec.rsplit_once("+mic:") {
            Some((v, m)) => (v, Some(m)),
            None => (spec, None),
        };
        let is_relay = video_part.starts_with("mjpeg:");
        let (video_src, video_query) = match video_part.split_once('?') {
            Some((v, q)) if !is_relay => (v, q),
            _ => (video_part, ""),
        };
        let video: SourceSpec = video_src.parse().map_err(|e| match e {
            LiveError::BadSource { reason, .. } => bad(spec, reason),
            other => other,
        })?;
        let mut video_encoding = VideoEncoding::default();
        for (k, v) in options(spec, video_query, &["bitrate", "keyint"])? {
            match k {
                "bitrate" => video_encoding.bitrate_bps = parse_rate(spec, k, v)?,
                _ => {
                    video_encoding.keyframe_secs = match v.trim_end_matches('s').parse::<f64>() {
                        Ok(s) if (0.1..=10.0).contains(&s) => s,
                        _ => {
                            return Err(bad(
                                spec,
                                format!("keyint={v:?}: expected seconds between 0.1 and 10"),
                            ));
                        }
                    }
                }
            }
        }
        let mut audio_bitrate_bps = AUDIO_BITRATE;
        let audio = match mic_part {
            Some(m) => {
                let (name, query) = m.split_once('?').unwrap_or((m, ""));
                if name.is_empty() {
                    return Err(bad(spec, "mic needs a NAME or default: +mic:default"));
                }
                let mut denoise = false;
                for (k, v) in options(spec, query, &["denoise", "bitrate"])? {
                    match k {
                        "denoise" => denoise = on_off(spec, k, v)?,
                        _ => audio_bitrate_bps = parse_rate(spec, k, v)?,
                    }
                }
                Some(AudioSpec::Mic {
                    name: (name != "default").then(|| name.to_string()),
                    denoise,
                })
            }
            None if matches!(video, SourceSpec::Test { .. }) => Some(AudioSpec::Tone),
            None => None,
        };
        Ok(StreamSpec {
            video,
            audio,
            video_encoding,
            audio_bitrate_bps,
        })
    }
}

impl StreamSpec {
    /// One line for the home page and logs.
    pub fn describe(&self) -> String {
        let mut s = self.video.describe();
        match &self.audio {
            Some(AudioSpec::Tone) => s += " + tone",
            Some(AudioSpec::Mic { name, denoise }) => {
                s += &match name {
                    Some(n) => format!(" + microphone {n:?}"),
                    None => " + default microphone".to_string(),
                };
                if *denoise {
                    s += " (denoised)";
                }
            }
            None => {}
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sound_and_options() {
        let t: StreamSpec = "test".parse().unwrap();
        assert_eq!(t.audio, Some(AudioSpec::Tone));
        assert_eq!(t.video_encoding, VideoEncoding::default());
        let t: StreamSpec = "test:320x240@15?bitrate=800k&keyint=0.5+mic:default?denoise=on"
            .parse()
            .unwrap();
        assert_eq!(
            t.audio,
            Some(AudioSpec::Mic {
                name: None,
                denoise: true
            })
        );
        assert_eq!(t.video_encoding.bitrate_bps, 800_000);
        assert_eq!(t.video_encoding.keyframe_secs, 0.5);
        let c: StreamSpec = "camera:0+mic:USB Audio?bitrate=96k".parse().unwrap();
        assert_eq!(
            c.audio,
            Some(AudioSpec::Mic {
                name: Some("USB Audio".into()),
                denoise: false
            })
        );
        assert_eq!(c.audio_bitrate_bps, 96_000);
        assert_eq!("jpegs:/tmp/x@2".parse::<StreamSpec>().unwrap().audio, None);
        // A relay's URL keeps its query.
        let r: StreamSpec = "mjpeg:http://cam/video?x=1".parse().unwrap();
        assert_eq!(
            r.video,
            SourceSpec::Relay {
                url: "http://cam/video?x=1".into()
            }
        );
    }

    #[test]
    fn bad_options_are_named() {
        for (spec, needle) in [
            ("test?bitrat=1M", "bitrat"),
            ("test?bitrate=fast", "bitrate"),
            ("test?bitrate=1", "bitrate"),
            ("test?keyint=0", "keyint"),
            ("test+mic:", "mic needs"),
            ("test+mic:default?denoise=maybe", "denoise"),
            ("test+mic:default?loud=1", "loud"),
            ("test:10x10", "size"),
        ] {
            let e = spec.parse::<StreamSpec>().unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
            assert!(e.contains(spec), "{spec}: message names the SOURCE: {e}");
        }
    }
}
