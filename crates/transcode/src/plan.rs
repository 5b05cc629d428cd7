//! The play decision (sans-IO): from a [`Probe`] and what the browser says it plays, whether a
//! file goes out as it is, remuxed into fMP4, or with the streams it cannot decode transcoded.

use crate::probe::{Kind, Probe};
use serde::Serialize;
use std::collections::BTreeSet;

/// What the page reports it can play: tokens from `canPlayType` (containers) and
/// `MediaSource.isTypeSupported` (codecs in fMP4), e.g. `mp4,webm,h264,aac,opus,hls`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caps(BTreeSet<String>);

/// Tokens a page may report; anything else is ignored, so a query cannot grow the set.
const KNOWN: &[&str] = &[
    "mp4", "webm", "hls", "h264", "hevc", "vp8", "vp9", "av1", "aac", "mp3", "opus", "vorbis",
    "flac", "ac3", "eac3",
];

impl Caps {
    /// Parses the page's comma-separated list.
    pub fn parse(list: &str) -> Caps {
        Caps(
            list.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| KNOWN.contains(&t.as_str()))
                .collect(),
        )
    }

    /// What every browser that runs the player plays (MP4 with H.264 + AAC): used when the page
    /// said nothing.
    pub fn baseline() -> Caps {
        Caps::parse("mp4,h264,aac,mp3")
    }

    pub fn has(&self, token: &str) -> bool {
        self.0.contains(token)
    }
}

/// What happens to the video stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoOut {
    /// Copied as it is.
    Copy,
    /// Re-encoded to H.264.
    H264,
}

/// What happens to the chosen audio stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioOut {
    Copy,
    /// Re-encoded to AAC-LC stereo.
    Aac,
}

/// How a file reaches the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Plan {
    /// Served as it is (`/media/...`, ranges and all).
    Direct,
    /// HLS from ffmpeg: `Remux` when every stream is copied, `Transcode` otherwise.
    Hls(HlsPlan),
}

/// The streams of an HLS plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct HlsPlan {
    pub video: VideoOut,
    /// The ffmpeg stream index of the audio and what happens to it; `None` for a silent file.
    pub audio: Option<(u32, AudioOut)>,
}

impl HlsPlan {
    /// `remux` when nothing is re-encoded, else `transcode`.
    pub fn mode(&self) -> &'static str {
        let audio_copied = self.audio.is_none_or(|(_, a)| a == AudioOut::Copy);
        if self.video == VideoOut::Copy && audio_copied {
            "remux"
        } else {
            "transcode"
        }
    }

    /// The plan as one URL segment: `vcopy-a1aac`, `vh264-an`. [`HlsPlan::from_key`] reads it.
    pub fn key(&self) -> String {
        let v = match self.video {
            VideoOut::Copy => "copy",
            VideoOut::H264 => "h264",
        };
        let a = match self.audio {
            None => "n".to_string(),
            Some((i, AudioOut::Copy)) => format!("{i}copy"),
            Some((i, AudioOut::Aac)) => format!("{i}aac"),
        };
        format!("v{v}-a{a}")
    }

    /// Reads a [`HlsPlan::key`]; `None` for anything else.
    pub fn from_key(key: &str) -> Option<HlsPlan> {
        let (v, a) = key.split_once('-')?;
        let video = match v {
            "vcopy" => VideoOut::Copy,
            "vh264" => VideoOut::H264,
            _ => return None,
        };
        let a = a.strip_prefix('a')?;
        let audio = if a == "n" {
            None
        } else {
            let (digits, out) = if let Some(d) = a.strip_suffix("copy") {
                (d, AudioOut::Copy)
            } else {
                (a.strip_suffix("aac")?, AudioOut::Aac)
            };
            if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            Some((digits.parse().ok()?, out))
        };
        Some(HlsPlan { video, audio })
    }
}

/// Why a plan cannot be made for a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPlan {
    /// No video stream (or only a cover picture).
    NoVideo,
    /// The asked-for audio track is not an audio stream of the file.
    NoSuchAudio(u32),
}

/// The container's family, from ffmpeg's demuxer name and the file name: ffmpeg names MKV and
/// WebM alike (`matroska,webm`), browsers only play the second.
fn container(probe: &Probe, file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if probe.format.starts_with("mov,mp4") && matches!(ext.as_str(), "mp4" | "m4v" | "mov") {
        "mp4"
    } else if probe.format.starts_with("matroska") && ext == "webm" {
        "webm"
    } else {
        "other"
    }
}

/// The browser's codec token for a stream the browser might decode as it is.
fn video_token(codec: &str, pix_fmt: Option<&str>) -> Option<&'static str> {
    // 10-bit and 4:2:2/4:4:4 H.264 (High 10, Hi422) decode nowhere in browsers.
    let eight_bit_420 = pix_fmt.is_none_or(|p| matches!(p, "yuv420p" | "yuvj420p"));
    match codec {
        "h264" if eight_bit_420 => Some("h264"),
        "hevc" => Some("hevc"),
        "vp8" => Some("vp8"),
        "vp9" => Some("vp9"),
        "av1" => Some("av1"),
        _ => None,
    }
}

fn audio_token(codec: &str) -> Option<&'static str> {
    match codec {
        "aac" => Some("aac"),
        "mp3" => Some("mp3"),
        "opus" => Some("opus"),
        "vorbis" => Some("vorbis"),
        "flac" => Some("flac"),
        "ac3" => Some("ac3"),
        "eac3" => Some("eac3"),
        _ => None,
    }
}

/// Decides how `file_name` (probed as `probe`) reaches a browser with `caps`, playing audio
/// stream `audio` (ffmpeg index; `None`: the file's default, else its first).
pub fn decide(
    probe: &Probe,
    file_name: &str,
    caps: &Caps,
    audio: Option<u32>,
) -> Result<Plan, NoPlan> {
    let video = probe.video().ok_or(NoPlan::NoVideo)?;
    let tracks: Vec<_> = probe.audio().collect();
    let default_audio = tracks
        .iter()
        .find(|s| s.default)
        .or(tracks.first())
        .map(|s| s.index);
    let chosen = match audio {
        Some(i) => match probe.stream(i) {
            Some(s) if s.kind == Kind::Audio => Some(s),
            _ => return Err(NoPlan::NoSuchAudio(i)),
        },
        None => default_audio.and_then(|i| probe.stream(i)),
    };
    let v_token = video_token(&video.codec, video.pix_fmt.as_deref()).filter(|t| caps.has(t));
    let a_token = chosen.and_then(|a| audio_token(&a.codec));

    // As it is: the browser opens the container, decodes both streams, and plays the audio
    // track it picks itself (the first), so another choice needs HLS.
    let first_audio = tracks.first().map(|s| s.index);
    let plays_directly = match container(probe, file_name) {
        "mp4" => {
            caps.has("mp4")
                && v_token.is_some_and(|t| matches!(t, "h264" | "hevc" | "av1" | "vp9"))
                && a_token.is_none_or(|t| {
                    caps.has(t) && matches!(t, "aac" | "mp3" | "opus" | "flac" | "ac3" | "eac3")
                })
        }
        "webm" => {
            caps.has("webm")
                && v_token.is_some_and(|t| matches!(t, "vp8" | "vp9" | "av1"))
                && a_token.is_none_or(|t| caps.has(t) && matches!(t, "opus" | "vorbis"))
        }
        _ => false,
    };
    let audio_is_first = chosen.map(|s| s.index) == first_audio;
    if plays_directly && audio_is_first && (chosen.is_some() || tracks.is_empty()) {
        return Ok(Plan::Direct);
    }

    // HLS in fMP4 segments: H.264 (and HEVC where the browser decodes it) is copied, the
    // rest becomes H.264; AAC (and AC-3/E-AC-3 where decoded) is copied, the rest becomes AAC.
    let video_out = match v_token {
        Some("h264" | "hevc") => VideoOut::Copy,
        _ => VideoOut::H264,
    };
    let audio_out = chosen.map(|a| {
        let out = match a_token {
            Some(t @ ("aac" | "ac3" | "eac3")) if caps.has(t) => AudioOut::Copy,
            _ => AudioOut::Aac,
        };
        (a.index, out)
    });
    Ok(Plan::Hls(HlsPlan {
        video: video_out,
        audio: audio_out,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Stream;

    fn stream(index: u32, kind: Kind, codec: &str) -> Stream {
        Stream {
            index,
            kind,
            codec: codec.into(),
            profile: None,
            pix_fmt: (kind == Kind::Video).then(|| "yuv420p".into()),
            width: None,
            height: None,
            channels: None,
            language: None,
            title: None,
            default: false,
            attached_pic: false,
        }
    }

    fn probe(format: &str, streams: Vec<Stream>) -> Probe {
        Probe {
            format: format.into(),
            duration_secs: Some(60.0),
            start_secs: 0.0,
            streams,
        }
    }

    const MP4: &str = "mov,mp4,m4a,3gp,3g2,mj2";

    fn chromium() -> Caps {
        Caps::parse("mp4,webm,hls,h264,vp8,vp9,av1,aac,mp3,opus,vorbis,flac")
    }

    #[test]
    fn an_mp4_of_h264_and_aac_plays_directly() {
        let p = probe(
            MP4,
            vec![
                stream(0, Kind::Video, "h264"),
                stream(1, Kind::Audio, "aac"),
            ],
        );
        assert_eq!(decide(&p, "a.mp4", &chromium(), None), Ok(Plan::Direct));
        // ...but not its second audio track, which the browser would not pick.
        let two = probe(
            MP4,
            vec![
                stream(0, Kind::Video, "h264"),
                stream(1, Kind::Audio, "aac"),
                stream(2, Kind::Audio, "aac"),
            ],
        );
        let Ok(Plan::Hls(plan)) = decide(&two, "a.mp4", &chromium(), Some(2)) else {
            panic!("the second track needs HLS");
        };
        assert_eq!(plan.audio, Some((2, AudioOut::Copy)));
        assert_eq!(plan.mode(), "remux");
    }

    #[test]
    fn mkv_of_h264_and_ac3_copies_video_and_transcodes_audio() {
        let p = probe(
            "matroska,webm",
            vec![
                stream(0, Kind::Video, "h264"),
                stream(1, Kind::Audio, "ac3"),
            ],
        );
        let want = HlsPlan {
            video: VideoOut::Copy,
            audio: Some((1, AudioOut::Aac)),
        };
        assert_eq!(decide(&p, "a.mkv", &chromium(), None), Ok(Plan::Hls(want)));
        assert_eq!(want.mode(), "transcode");
        // A browser that decodes AC-3 (Safari, Edge) gets it copied.
        let mut caps = chromium();
        caps.0.insert("ac3".into());
        let Ok(Plan::Hls(p2)) = decide(&p, "a.mkv", &caps, None) else {
            panic!()
        };
        assert_eq!(p2.mode(), "remux");
    }

    #[test]
    fn what_the_browser_cannot_decode_is_transcoded() {
        let avi = probe(
            "avi",
            vec![
                stream(0, Kind::Video, "mpeg4"),
                stream(1, Kind::Audio, "mp3"),
            ],
        );
        let Ok(Plan::Hls(p)) = decide(&avi, "a.avi", &chromium(), None) else {
            panic!()
        };
        assert_eq!(
            (p.video, p.audio),
            (VideoOut::H264, Some((1, AudioOut::Aac)))
        );
        let hevc = probe("matroska,webm", vec![stream(0, Kind::Video, "hevc")]);
        let Ok(Plan::Hls(p)) = decide(&hevc, "a.mkv", &chromium(), None) else {
            panic!()
        };
        assert_eq!((p.video, p.audio), (VideoOut::H264, None));
        // 10-bit H.264 is transcoded even where 8-bit is copied.
        let mut ten = stream(0, Kind::Video, "h264");
        ten.pix_fmt = Some("yuv420p10le".into());
        let Ok(Plan::Hls(p)) = decide(&probe("mpegts", vec![ten]), "a.ts", &chromium(), None)
        else {
            panic!()
        };
        assert_eq!(p.video, VideoOut::H264);
    }

    #[test]
    fn a_webm_plays_directly_an_mkv_does_not() {
        let p = probe(
            "matroska,webm",
            vec![
                stream(0, Kind::Video, "vp9"),
                stream(1, Kind::Audio, "opus"),
            ],
        );
        assert_eq!(decide(&p, "a.webm", &chromium(), None), Ok(Plan::Direct));
        assert!(matches!(
            decide(&p, "a.mkv", &chromium(), None),
            Ok(Plan::Hls(_))
        ));
    }

    #[test]
    fn the_default_track_is_played_and_a_wrong_one_is_refused() {
        let mut second = stream(2, Kind::Audio, "aac");
        second.default = true;
        let p = probe(
            "matroska,webm",
            vec![
                stream(0, Kind::Video, "h264"),
                stream(1, Kind::Audio, "ac3"),
                second,
            ],
        );
        let Ok(Plan::Hls(plan)) = decide(&p, "a.mkv", &chromium(), None) else {
            panic!()
        };
        assert_eq!(plan.audio, Some((2, AudioOut::Copy)));
        assert_eq!(
            decide(&p, "a.mkv", &chromium(), Some(0)),
            Err(NoPlan::NoSuchAudio(0))
        );
        assert_eq!(
            decide(&p, "a.mkv", &chromium(), Some(9)),
            Err(NoPlan::NoSuchAudio(9))
        );
        let silent = probe(MP4, vec![stream(0, Kind::Audio, "aac")]);
        assert_eq!(
            decide(&silent, "a.mp4", &chromium(), None),
            Err(NoPlan::NoVideo)
        );
    }

    #[test]
    fn unknown_caps_are_dropped_and_keys_round_trip() {
        assert_eq!(
            Caps::parse("H264, mp4,<script>,aac"),
            Caps::parse("aac,h264,mp4")
        );
        for plan in [
            HlsPlan {
                video: VideoOut::Copy,
                audio: Some((1, AudioOut::Aac)),
            },
            HlsPlan {
                video: VideoOut::H264,
                audio: None,
            },
            HlsPlan {
                video: VideoOut::Copy,
                audio: Some((12, AudioOut::Copy)),
            },
        ] {
            assert_eq!(HlsPlan::from_key(&plan.key()), Some(plan));
        }
        for bad in [
            "",
            "vcopy",
            "vx-an",
            "vcopy-a",
            "vcopy-aaac",
            "vcopy-a99999aac",
            "vcopy-a1mp3",
            "vcopy-a-1aac",
            "../../x",
        ] {
            assert_eq!(HlsPlan::from_key(bad), None, "{bad}");
        }
    }
}
