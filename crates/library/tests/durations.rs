//! Durations in the listing, read from headers of files that ffmpeg (Debian's; the README's
//! test command installs it) really writes, compared with what ffprobe says of the same file.

use homestream_library::Library;
use std::path::Path;
use std::process::Command;

fn ffmpeg(out: &Path, args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("ffmpeg must be installed (bash scripts/test.sh installs it)");
    assert!(status.success(), "ffmpeg could not make {}", out.display());
}

#[test]
fn listing_durations_match_ffprobe_for_each_container() {
    let dir = tempfile::tempdir().unwrap();
    let video = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25"];
    let tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"];
    let cases: [(&str, Vec<&str>); 7] = [
        (
            "a.mp4",
            [
                &video[..],
                &["-t", "3.2", "-c:v", "libx264", "-preset", "ultrafast"],
            ]
            .concat(),
        ),
        (
            "b.mkv",
            [
                &video[..],
                &["-t", "4.4", "-c:v", "libx264", "-preset", "ultrafast"],
            ]
            .concat(),
        ),
        (
            "c.webm",
            [
                &video[..],
                &[
                    "-t",
                    "2.6",
                    "-c:v",
                    "libvpx",
                    "-deadline",
                    "realtime",
                    "-b:v",
                    "100k",
                ],
            ]
            .concat(),
        ),
        ("d.flac", [&tone[..], &["-t", "5.5"]].concat()),
        ("e.wav", [&tone[..], &["-t", "1.25"]].concat()),
        ("f.m4a", [&tone[..], &["-t", "2.0", "-c:a", "aac"]].concat()),
        (
            "g.mka",
            [&tone[..], &["-t", "3.0", "-c:a", "libopus"]].concat(),
        ),
    ];
    for (name, args) in &cases {
        ffmpeg(&dir.path().join(name), args);
    }
    // No cheap header duration: an MPEG-TS and an MP3 are listed without one.
    ffmpeg(
        &dir.path().join("h.ts"),
        &[
            &video[..],
            &["-t", "1", "-c:v", "libx264", "-preset", "ultrafast"],
        ]
        .concat(),
    );
    ffmpeg(
        &dir.path().join("i.mp3"),
        &[&tone[..], &["-t", "1"]].concat(),
    );

    let lib = Library::new(&[dir.path().to_path_buf()]).unwrap();
    let listing = lib.list("").unwrap();
    for (name, _) in &cases {
        let entry = listing.entries.iter().find(|e| e.name == *name).unwrap();
        let ours = entry
            .duration_secs
            .unwrap_or_else(|| panic!("{name}: no duration"));
        let theirs =
            homestream_test_support::ffprobe_duration(&dir.path().join(name).to_string_lossy());
        assert!(
            (ours - theirs).abs() < 0.05,
            "{name}: listing says {ours:.3} s, ffprobe {theirs:.3} s"
        );
    }
    for name in ["h.ts", "i.mp3"] {
        let entry = listing.entries.iter().find(|e| e.name == name).unwrap();
        assert_eq!(entry.duration_secs, None, "{name}");
    }
}

/// Fragmented MP4 as recorders write it (`empty_moov`: 0 in `mvhd`, no `mehd`): the duration
/// is where the last fragment ends, found through the `mfra` index ffmpeg writes at the tail
/// or, without it (`skip_trailer`), by walking the fragments. A file cut in its last fragment
/// is listed up to its last whole one, or without a duration, never longer than it is.
#[test]
fn fragmented_mp4_durations_match_ffprobe() {
    let dir = tempfile::tempdir().unwrap();
    let video = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25"];
    let tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"];
    let h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"];
    let cases: [(&str, Vec<&str>); 4] = [
        (
            "cam.mp4",
            [
                &video[..],
                &tone[..],
                &["-t", "7.3"],
                &h264[..],
                &["-c:a", "aac", "-movflags", "+empty_moov+frag_keyframe"],
            ]
            .concat(),
        ),
        (
            "no_index.mp4",
            [
                &video[..],
                &["-t", "5.6"],
                &h264[..],
                &["-movflags", "+empty_moov+frag_keyframe+skip_trailer"],
            ]
            .concat(),
        ),
        (
            "rec.m4a",
            [
                &tone[..],
                &["-t", "3.3", "-c:a", "aac", "-movflags", "+empty_moov"],
                &["-frag_duration", "500000"],
            ]
            .concat(),
        ),
        (
            "rec.mov",
            [
                &video[..],
                &["-t", "2.4"],
                &h264[..],
                &["-movflags", "+empty_moov+frag_keyframe"],
            ]
            .concat(),
        ),
    ];
    for (name, args) in &cases {
        ffmpeg(&dir.path().join(name), args);
    }
    // A recording cut in the middle of its last fragment.
    let whole = std::fs::read(dir.path().join("cam.mp4")).unwrap();
    std::fs::write(dir.path().join("cut.mp4"), &whole[..whole.len() * 9 / 10]).unwrap();

    let lib = Library::new(&[dir.path().to_path_buf()]).unwrap();
    let listing = lib.list("").unwrap();
    let listed = |name: &str| {
        let entry = listing.entries.iter().find(|e| e.name == name).unwrap();
        entry.duration_secs
    };
    for (name, _) in &cases {
        let ours = listed(name).unwrap_or_else(|| panic!("{name}: no duration"));
        let theirs =
            homestream_test_support::ffprobe_duration(&dir.path().join(name).to_string_lossy());
        assert!(
            (ours - theirs).abs() < 0.05,
            "{name}: listing says {ours:.3} s, ffprobe {theirs:.3} s"
        );
    }
    let full =
        homestream_test_support::ffprobe_duration(&dir.path().join("cam.mp4").to_string_lossy());
    if let Some(cut) = listed("cut.mp4") {
        assert!(
            cut > 1.0 && cut < full - 0.5,
            "cut file listed as {cut:.3} s of {full:.3}"
        );
    }
}
