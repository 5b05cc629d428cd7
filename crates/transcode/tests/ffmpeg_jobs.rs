//! The transcoder against Debian's ffmpeg: real files, real jobs, segments checked by ffprobe.

use homestream_transcode::{Caps, HlsPlan, Plan, TranscodeConfig, Transcoder};
use std::path::{Path, PathBuf};
use std::process::Command;

fn ffmpeg(args: &[&str]) {
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg must be installed (bash scripts/test.sh installs it)");
    assert!(st.success(), "ffmpeg {args:?}");
}

/// `secs` of the test picture at `size` and a tone, encoded with `codecs`, into `out`.
fn test_film(out: &Path, size: &str, secs: u32, codecs: &[&str]) {
    let picture = format!("testsrc2=size={size}:rate=25");
    let secs = secs.to_string();
    let mut args = vec!["-f", "lavfi", "-i", &picture];
    args.extend(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]);
    args.extend(["-t", &secs]);
    args.extend(codecs);
    args.push(out.to_str().unwrap());
    ffmpeg(&args);
}

/// How `t` plays `file` (named `name`) in a browser with H.264 + AAC: an HLS plan.
async fn hls_plan(t: &Transcoder, file: &Path, name: &str) -> (HlsPlan, &'static str) {
    let info = t
        .play(file, name, &Caps::parse("mp4,h264,aac,hls"), None)
        .await
        .unwrap();
    match info.plan {
        Plan::Hls(plan) => (plan, info.mode),
        Plan::Direct => panic!("{name} is not played directly"),
    }
}

/// 30 s of H.264 (keyframe every 2 s) + AC-3 + an SRT track, in MKV.
fn h264_ac3_mkv(dir: &Path) -> PathBuf {
    let srt = dir.join("s.srt");
    std::fs::write(&srt, "1\n00:00:01,000 --> 00:00:04,000\nHello there\n").unwrap();
    let out = dir.join("film.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-i",
        srt.to_str().unwrap(),
        "-t",
        "30",
        "-map",
        "0",
        "-map",
        "1",
        "-map",
        "2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "50",
        "-c:a",
        "ac3",
        "-c:s",
        "srt",
        out.to_str().unwrap(),
    ]);
    out
}

fn transcoder(dir: &Path) -> Transcoder {
    Transcoder::new(&TranscodeConfig {
        ffmpeg: None,
        cache_dir: dir.join("cache"),
        cache_cap_bytes: 1 << 30,
        max_jobs: Some(2),
    })
    .expect("ffmpeg and ffprobe run")
}

/// ffprobe's video packet times (s) and audio codec and profile (`aac,LC`: a profile is only
/// known when the init segment carries the AudioSpecificConfig) of an init segment + one media
/// segment.
fn probe_segment(dir: &Path, init: &[u8], seg: &[u8]) -> (Vec<f64>, String) {
    let f = dir.join("probe.mp4");
    std::fs::write(&f, [init, seg].concat()).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(&f)
        .output()
        .unwrap();
    let times = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    let a = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name,profile",
            "-of",
            "csv=p=0",
        ])
        .arg(&f)
        .output()
        .unwrap();
    (times, String::from_utf8_lossy(&a.stdout).trim().to_string())
}

#[tokio::test]
async fn an_mkv_with_ac3_is_remuxed_with_aac_and_any_segment_starts_where_the_playlist_says() {
    let dir = tempfile::tempdir().unwrap();
    let file = h264_ac3_mkv(dir.path());
    let t = transcoder(dir.path());
    let info = t
        .play(&file, "film.mkv", &Caps::parse("mp4,h264,aac,hls"), None)
        .await
        .unwrap();
    let Plan::Hls(plan) = info.plan else {
        panic!("an MKV is not played directly")
    };
    assert_eq!(plan.key(), "vcopy-a1aac");
    assert_eq!(info.mode, "transcode");
    assert_eq!(info.subtitles.len(), 1);

    let playlist = t.playlist(&file, plan).await.unwrap();
    let lengths: Vec<f64> = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse().unwrap())
        .collect();
    // Keyframes every 2 s, segments of at least 4 s: 4 s each to the end.
    assert_eq!(lengths.len(), 8, "{playlist}");
    assert!((lengths.iter().sum::<f64>() - 30.0).abs() < 0.1);

    let init = t.init(&file, plan).await.unwrap();
    // Segment 5 (20 s) first, as a seek asks; then 0 and 1 from the start.
    for (i, start) in [(5usize, 20.0f64), (0, 0.0), (1, 4.0), (7, 28.0)] {
        let seg = t.segment(&file, plan, i).await.unwrap();
        let (times, audio) = probe_segment(dir.path(), &init, &seg);
        assert_eq!(audio, "aac,LC");
        let first = times.iter().copied().fold(f64::MAX, f64::min);
        assert!(
            (first - start).abs() < 0.1,
            "segment {i} starts at {first}, not {start}"
        );
        let want = if i == 7 { 2.0 } else { 4.0 };
        assert_eq!(
            times.len() as f64,
            want * 25.0,
            "segment {i}: {} frames",
            times.len()
        );
    }
    // The copied video is the file's own bytes: its first keyframe's hash is the source's.
    let status = t.status();
    assert!(status["running"].as_u64().unwrap() <= 2, "{status}");
    t.stop_all();
}

/// An MPEG-TS recording (H.264 + AAC in ADTS, starting at 1.4 s as TS files do) is remuxed,
/// every stream copied, and its init segment tells the AAC configuration (ffmpeg's bitstream
/// filter makes it only with the first packet: the init must wait for it).
#[tokio::test]
async fn an_mpeg_ts_is_remuxed_with_its_aac_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rec.ts");
    let x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "50"];
    test_film(
        &file,
        "320x240",
        12,
        &[&x264[..], &["-c:a", "aac"]].concat(),
    );
    let t = transcoder(dir.path());
    let (plan, mode) = hls_plan(&t, &file, "rec.ts").await;
    assert_eq!(plan.key(), "vcopy-a1copy");
    assert_eq!(mode, "remux");
    let init = t.init(&file, plan).await.unwrap();
    // The keyframe scan (it reads every packet) is kept with the segments, for later plays.
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .filter_map(|d| std::fs::read(d.ok()?.path().join("keyframes-0.csv")).ok())
        .collect();
    assert_eq!(kept.len(), 1, "one keyframe list for the file");
    assert!(
        String::from_utf8_lossy(&kept[0]).lines().count() >= 300,
        "12 s of 25 fps packets"
    );
    for (i, start) in [(0usize, 0.0f64), (2, 8.0)] {
        let seg = t.segment(&file, plan, i).await.unwrap();
        let (times, audio) = probe_segment(dir.path(), &init, &seg);
        assert_eq!(audio, "aac,LC", "segment {i}");
        let first = times.iter().copied().fold(f64::MAX, f64::min);
        assert!(
            (first - start).abs() < 0.1,
            "segment {i} starts at {first}, not {start}"
        );
    }
    t.stop_all();
}

/// One slot, two films: opening the second right after the first takes the slot of the
/// first's job once it has parked ahead of its viewer (no 503 until it idles out), and the
/// first viewer's made segments still come from the cache.
#[tokio::test]
async fn a_second_film_takes_the_slot_of_a_parked_job() {
    let dir = tempfile::tempdir().unwrap();
    let a = h264_ac3_mkv(dir.path());
    let b = dir.path().join("other.mkv");
    std::fs::copy(&a, &b).unwrap();
    let t = Transcoder::new(&TranscodeConfig {
        ffmpeg: None,
        cache_dir: dir.path().join("cache"),
        cache_cap_bytes: 1 << 30,
        max_jobs: Some(1),
    })
    .unwrap();
    let (pa, _) = hls_plan(&t, &a, "film.mkv").await;
    let (pb, _) = hls_plan(&t, &b, "other.mkv").await;
    t.segment(&a, pa, 0).await.unwrap();
    // The job parks once it is AHEAD segments past 0 (copying is fast: well within 10 s).
    let t0 = std::time::Instant::now();
    while t.status()["jobs"][0]["done_segment"].as_u64() < Some(4) {
        assert!(t0.elapsed().as_secs() < 10, "{}", t.status());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let seg = t.segment(&b, pb, 0).await;
    assert!(seg.is_ok(), "the second film waits: {seg:?}");
    assert_eq!(t.status()["running"], 1, "{}", t.status());
    // Made before it was stopped: from the cache, with no job.
    assert!(t.segment(&a, pa, 3).await.is_ok());
    t.stop_all();
}

/// A seek: the job at the old place, that nobody waits on any more, pauses while the new
/// place is made (it would otherwise run on to five segments ahead and halve the cores the
/// seek gets), and goes on when its place is asked for again.
#[tokio::test]
async fn a_seek_pauses_the_job_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.avi");
    test_film(
        &file,
        "640x360",
        60,
        &["-c:v", "mpeg4", "-c:a", "libmp3lame"],
    );
    let t = transcoder(dir.path());
    let (plan, _) = hls_plan(&t, &file, "old.avi").await;
    assert_eq!(plan.key(), "vh264-a1aac");
    let done = |first: u64| {
        t.status()["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["first_segment"] == first)
            .map(|j| j["done_segment"].as_u64().unwrap_or(0))
    };
    t.segment(&file, plan, 0).await.unwrap();
    t.segment(&file, plan, 10).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let left = done(0).expect("the first job still runs");
    // Unpaused it would be at 5 by now (the new job is parked at 15 long since).
    assert!(left <= 2, "the job left behind ran on to segment {left}");
    // Its viewer comes back: it goes on.
    t.segment(&file, plan, 1).await.unwrap();
    let t0 = std::time::Instant::now();
    while done(0) < Some(4) {
        assert!(t0.elapsed().as_secs() < 20, "{}", t.status());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    t.stop_all();
}

#[tokio::test]
async fn a_poster_a_subtitle_track_and_hostile_asks() {
    let dir = tempfile::tempdir().unwrap();
    let file = h264_ac3_mkv(dir.path());
    let t = transcoder(dir.path());
    let jpeg = t.poster(&file).await.unwrap();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let vtt = String::from_utf8(t.subtitle(&file, 2).await.unwrap()).unwrap();
    assert!(
        vtt.starts_with("WEBVTT") && vtt.contains("Hello there"),
        "{vtt}"
    );
    assert!(
        t.subtitle(&file, 1).await.is_err(),
        "an audio stream is no subtitle"
    );
    let plan = HlsPlan::from_key("vcopy-a1aac").unwrap();
    assert!(t.segment(&file, plan, 99).await.is_err(), "past the end");
    assert!(
        t.segment(&file, HlsPlan::from_key("vcopy-a0aac").unwrap(), 0)
            .await
            .is_err(),
        "a video stream is no audio track"
    );
    let junk = dir.path().join("junk.mkv");
    std::fs::write(&junk, b"not a film at all").unwrap();
    assert!(
        t.play(&junk, "junk.mkv", &Caps::baseline(), None)
            .await
            .is_err()
    );
    assert!(t.poster(&junk).await.is_err());
    assert!(
        t.play(Path::new("relative.mkv"), "x", &Caps::baseline(), None)
            .await
            .is_err()
    );
}
