//! ffmpeg's command lines (sans-IO: what to run, not running it).

use crate::plan::{AudioOut, HlsPlan, VideoOut};
use crate::playlist::SEGMENT_SECS;
use std::ffi::OsString;
use std::path::Path;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// The common head: quiet, no stdin (a server has none), errors only.
fn head() -> Vec<OsString> {
    os(&["-hide_banner", "-nostdin", "-loglevel", "error"])
}

/// A segment job: from `seek` seconds (past the container's start; `None`: from the start)
/// to the end, as fragmented MP4 on stdout, one fragment per video keyframe.
///
/// Copied video is sought just past the keyframe that starts the segment, so that the demuxer
/// lands on it; re-encoded video gets a keyframe at every multiple of [`SEGMENT_SECS`] from
/// where it starts, which is a segment start.
///
/// `adts`: the copied audio is AAC, which MPEG-TS carries in ADTS frames and MP4 wants bare.
/// The bitstream filter learns the AAC configuration from the first frame, after an
/// `empty_moov` would have been written: `delay_moov` holds the init back until then (without
/// it the `esds` has no AudioSpecificConfig and browsers decode no sound).
pub fn segment(
    input: &Path,
    video: u32,
    plan: HlsPlan,
    seek: Option<f64>,
    adts: bool,
) -> Vec<OsString> {
    let mut a = head();
    if let Some(s) = seek.filter(|s| *s > 0.0) {
        let s = if plan.video == VideoOut::Copy {
            s + 0.001
        } else {
            s
        };
        a.extend(os(&["-ss", &format!("{s:.3}")]));
    }
    a.push("-i".into());
    a.push(input.into());
    a.extend(os(&["-map", &format!("0:{video}")]));
    match plan.video {
        VideoOut::Copy => a.extend(os(&["-c:v", "copy"])),
        VideoOut::H264 => a.extend(os(&[
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-maxrate",
            "8M",
            "-bufsize",
            "16M",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            // At most 1080 lines, even sizes (4:2:0 needs them).
            "-vf",
            "scale=-2:'trunc(min(ih,1080)/2)*2'",
            "-force_key_frames",
            &format!("expr:gte(t,n_forced*{SEGMENT_SECS})"),
        ])),
    }
    match plan.audio {
        Some((i, out)) => {
            a.extend(os(&["-map", &format!("0:{i}")]));
            match out {
                AudioOut::Copy if adts => {
                    a.extend(os(&["-c:a", "copy", "-bsf:a", "aac_adtstoasc"]))
                }
                AudioOut::Copy => a.extend(os(&["-c:a", "copy"])),
                AudioOut::Aac => a.extend(os(&["-c:a", "aac", "-b:a", "160k", "-ac", "2"])),
            }
        }
        None => a.push("-an".into()),
    }
    a.extend(os(&[
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-f",
        "mp4",
        "-movflags",
        "frag_keyframe+empty_moov+default_base_moof+delay_moov",
        "pipe:1",
    ]));
    a
}

/// A poster: one frame at `at` seconds, 320 pixels wide, as a JPEG on stdout.
pub fn poster(input: &Path, video: u32, at: f64) -> Vec<OsString> {
    let mut a = head();
    a.extend(os(&["-ss", &format!("{at:.3}"), "-i"]));
    a.push(input.into());
    a.extend(os(&[
        "-map",
        &format!("0:{video}"),
        "-frames:v",
        "1",
        "-vf",
        "scale=320:-2",
        "-c:v",
        "mjpeg",
        "-q:v",
        "5",
        "-f",
        "image2pipe",
        "pipe:1",
    ]));
    a
}

/// A text subtitle stream as WebVTT on stdout.
pub fn subtitle(input: &Path, stream: u32) -> Vec<OsString> {
    let mut a = head();
    a.push("-i".into());
    a.push(input.into());
    a.extend(os(&[
        "-map",
        &format!("0:{stream}"),
        "-c:s",
        "webvtt",
        "-f",
        "webvtt",
        "pipe:1",
    ]));
    a
}

/// ffprobe: the container and its streams, as JSON.
pub fn probe(input: &Path) -> Vec<OsString> {
    let mut a = os(&[
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
    ]);
    a.push(input.into());
    a
}

/// ffprobe: a video stream's packet times and flags, one per line.
pub fn keyframes(input: &Path, video: u32) -> Vec<OsString> {
    let mut a = os(&[
        "-v",
        "error",
        "-select_streams",
        &video.to_string(),
        "-show_entries",
        "packet=pts_time,flags",
        "-of",
        "csv=p=0",
    ]);
    a.push(input.into());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(a: &[OsString]) -> String {
        a.iter()
            .map(|s| s.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_remux_with_aac_copies_the_video_and_seeks_past_its_keyframe() {
        let plan = HlsPlan {
            video: VideoOut::Copy,
            audio: Some((1, AudioOut::Aac)),
        };
        let a = text(&segment(Path::new("/m/a b.mkv"), 0, plan, Some(8.0), false));
        assert!(
            a.contains("-ss 8.001 -i /m/a b.mkv -map 0:0 -c:v copy -map 0:1 -c:a aac"),
            "{a}"
        );
        assert!(a.ends_with("frag_keyframe+empty_moov+default_base_moof+delay_moov pipe:1"));
        assert!(!a.contains("libx264"));
    }

    #[test]
    fn a_transcode_from_the_start_forces_keyframes_on_the_grid() {
        let plan = HlsPlan {
            video: VideoOut::H264,
            audio: None,
        };
        let a = text(&segment(Path::new("a.avi"), 0, plan, Some(0.0), false));
        assert!(!a.contains("-ss"));
        assert!(
            a.contains("-c:v libx264") && a.contains("expr:gte(t,n_forced*4)") && a.contains("-an")
        );
    }

    #[test]
    fn a_file_name_is_one_argument_whatever_it_holds() {
        let a = subtitle(Path::new("-i; rm -rf x.mkv"), 2);
        assert!(a.contains(&OsString::from("-i; rm -rf x.mkv")));
        let i = a.iter().position(|s| s == "-i").unwrap();
        assert_eq!(a[i + 1], "-i; rm -rf x.mkv");
    }
}
