//! Files the browser cannot play, as a user meets them: Chromium plays an AVI, an MKV with
//! AC-3 and subtitles, an MPEG-TS and an HEVC MKV from `/watch/`, and seeks in each; hostile
//! paths and asks on the new routes; the job bound under 20 viewers; posters for a big folder.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn ffmpeg(args: &[&str]) {
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg must be installed (the README's test command installs it)");
    assert!(st.success(), "ffmpeg {args:?}");
}

/// `secs` of the test picture (WxH) and a tone, then `codecs`, into `out`.
fn make(out: &Path, size: &str, secs: u32, codecs: &[&str]) {
    let src = format!("testsrc2=size={size}:rate=25");
    let t = secs.to_string();
    let mut a = vec![
        "-f",
        "lavfi",
        "-i",
        &src,
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
    ];
    let srt;
    if codecs.contains(&"+subs") {
        srt = out.with_extension("srt.in");
        std::fs::write(
            &srt,
            "1\n00:00:01,000 --> 00:00:05,000\nHello there\n\n2\n00:00:20,000 --> 00:00:25,000\nLater on\n",
        )
        .unwrap();
        a.extend([
            "-f",
            "srt",
            "-i",
            srt.to_str().unwrap(),
            "-map",
            "0",
            "-map",
            "1",
            "-map",
            "2",
        ]);
    }
    a.extend(["-t", &t]);
    a.extend(codecs.iter().filter(|c| **c != "+subs"));
    a.push(out.to_str().unwrap());
    ffmpeg(&a);
}

/// H.264 with a keyframe every 2 s and AC-3: an MKV whose video is copied, its sound not.
const H264_AC3: [&str; 8] = [
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    "50",
    "-c:a",
    "ac3",
];

/// The five files of a mixed collection.
fn collection(dir: &Path) {
    let x264 = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "50",
        "-pix_fmt",
        "yuv420p",
    ];
    make(
        &dir.join("old.avi"),
        "640x360",
        30,
        &["-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame"],
    );
    make(
        &dir.join("film.mkv"),
        "640x360",
        30,
        &[&x264[..], &["-c:a", "ac3", "-c:s", "srt", "+subs"]].concat(),
    );
    make(
        &dir.join("rec.ts"),
        "640x360",
        30,
        &[&x264[..], &["-c:a", "aac"]].concat(),
    );
    make(
        &dir.join("hevc.mkv"),
        "640x360",
        30,
        &[
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error",
            "-c:a",
            "aac",
        ],
    );
    make(
        &dir.join("clip.mp4"),
        "640x360",
        30,
        &[&x264[..], &["-c:a", "aac"]].concat(),
    );
}

/// ffmpeg processes of this test process (the server runs in it) on files under `dir` (the
/// tests of this file run side by side, each in its own folder).
fn our_ffmpegs(dir: &Path) -> Vec<u32> {
    let me = std::process::id().to_string();
    let pattern = format!("^[^ ]*ffmpeg .*{}", dir.display());
    let out = Command::new("pgrep")
        .args(["-P", &me, "-f", &pattern])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The tests of this file run one at a time: each runs ffmpeg on both cores, and the seek
/// times the browser test measures are the server's, not its neighbours'.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Per-packet hashes of a file's video stream, copied (the bitstream, not decoded pictures).
fn video_packet_hashes(file: &Path) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|h| h.trim().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_and_seeks_files_it_cannot_play_by_itself() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    collection(dir.path());
    let server = common::serve_transcoding(&[dir.path()], state.path(), 2).await;
    let base = format!("http://{}/", server.local_addr);
    // One browser run per file: each has the script's whole time limit.
    let mut seen = serde_json::json!({"seen": {}, "hls": []});
    for file in ["old.avi", "film.mkv", "rec.ts", "hevc.mkv", "clip.mp4"] {
        let one = homestream_test_support::browser_script(
            "library_transcode.mjs",
            &[base.as_str(), file],
            &[],
        )
        .await;
        homestream_test_support::assert_no_console_errors(&one);
        seen["seen"][file] = one["seen"][file].clone();
        for h in one["hls"].as_array().unwrap() {
            seen["hls"].as_array_mut().unwrap().push(h.clone());
        }
    }
    let want = [
        ("old.avi", "transcode"),
        ("film.mkv", "transcode"),
        ("rec.ts", "remux"),
        ("hevc.mkv", "transcode"),
        ("clip.mp4", "direct"),
    ];
    for (file, mode) in want {
        let s = &seen["seen"][file];
        assert_eq!(s["first"]["mode"], mode, "{file}: {s}");
        assert_eq!(s["first"]["width"], 640, "{file}: {s}");
        assert!(
            s["first"]["audioBytes"].as_u64().unwrap() > 0,
            "{file}: no audio decoded: {s}"
        );
        let d = s["first"]["duration"].as_f64().unwrap();
        assert!((d - 30.0).abs() < 0.5, "{file}: duration {d}");
        let target = s["target"].as_f64().unwrap();
        assert!(
            s["after"]["time"].as_f64().unwrap() > target + 0.5,
            "{file}: {s}"
        );
        assert_eq!(s["after"]["paused"], false, "{file}: {s}");
        let ms = s["seekMs"].as_u64().unwrap();
        assert!(
            ms < 3000,
            "{file}: playing again {ms} ms after the seek to 70 %"
        );
        assert_eq!(s["warningShown"], false, "{file}: {s}");
        eprintln!("{file}: {mode}, plays on {ms} ms after a seek to 70 %");
    }
    let mkv = &seen["seen"]["film.mkv"];
    assert_eq!(mkv["subs"]["count"], 1, "{mkv}");
    assert_eq!(mkv["subs"]["cues"][0], "Hello there", "{mkv}");
    assert!(
        mkv["first"]["modeText"]
            .as_str()
            .unwrap()
            .contains("video copied, audio to AAC"),
        "{mkv}"
    );
    for (path, status) in seen["hls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (&p[0], &p[1]))
    {
        assert_eq!(status, 200, "{path}");
    }

    // How the test knows the MKV's video was copied and only its audio transcoded: the
    // served segments' video packets are the file's own packets, bit for bit, and their
    // audio is AAC where the file has AC-3.
    let hls = format!("{base}hls/film.mkv/vcopy-a1aac/");
    let get = |u: String| async move { reqwest::get(u).await.unwrap().bytes().await.unwrap() };
    let joined = [
        get(format!("{hls}init.mp4")).await,
        get(format!("{hls}0.m4s")).await,
        get(format!("{hls}1.m4s")).await,
    ]
    .concat();
    let served = state.path().join("served.mp4");
    std::fs::write(&served, joined).unwrap();
    let ours = video_packet_hashes(&served);
    let source = video_packet_hashes(&dir.path().join("film.mkv"));
    assert_eq!(ours.len(), 200, "8 s of video at 25 fps");
    assert_eq!(
        ours[..],
        source[..200],
        "the served video is the source's bitstream"
    );
    let codec = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(&served)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&codec.stdout).trim(), "aac");
    server.shutdown().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        our_ffmpegs(dir.path()),
        Vec::<u32>::new(),
        "no ffmpeg outlives the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_paths_and_asks_get_clear_answers_and_leave_no_ffmpeg() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let inside = dir.path().join("lib");
    std::fs::create_dir(&inside).unwrap();
    make(&inside.join("film.mkv"), "320x240", 10, &H264_AC3);
    // Beside the served folder: must stay unreachable.
    make(
        &dir.path().join("secret.mkv"),
        "320x240",
        2,
        &["-c:v", "libx264", "-preset", "ultrafast"],
    );
    std::fs::write(inside.join("junk.mkv"), b"not a film at all").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.mkv"), inside.join("link.mkv")).unwrap();
    let server = common::serve_transcoding(&[&inside], state.path(), 2).await;
    let addr = server.local_addr;
    let asks: &[(&str, u16)] = &[
        ("/api/play/film.mkv?caps=mp4,h264,aac&audio=abc", 400),
        ("/api/play/film.mkv?caps=mp4,h264,aac&audio=0", 404),
        ("/api/play/junk.mkv", 422),
        ("/hls/junk.mkv/vcopy-a1aac/index.m3u8", 422),
        ("/poster/junk.mkv", 422),
        ("/hls/film.mkv/vcopy-a1aac/999.m4s", 404),
        ("/hls/film.mkv/vcopy-a1aac/-1.m4s", 404),
        ("/hls/film.mkv/vcopy-a1aac/1e3.m4s", 404),
        ("/hls/film.mkv/vcopy-a1aac/99999999999.m4s", 404),
        ("/hls/film.mkv/vcopy-a1aac/init.mp4.bak", 404),
        ("/hls/film.mkv/vcopy-a9aac/index.m3u8", 404),
        ("/hls/film.mkv/rm%20-rf/index.m3u8", 404),
        ("/hls/film.mkv/index.m3u8", 404),
        ("/subs/film.mkv", 400),
        ("/subs/film.mkv?stream=1", 404),
        ("/hls/..%2fsecret.mkv/vcopy-an/index.m3u8", 404),
        ("/hls/%2e%2e/secret.mkv/vcopy-an/index.m3u8", 404),
        ("/hls/link.mkv/vcopy-an/index.m3u8", 404),
        ("/poster/..%2fsecret.mkv", 404),
        ("/poster/link.mkv", 404),
        ("/poster/%2e%2e%2fsecret.mkv", 404),
        ("/subs/..%2fsecret.mkv?stream=0", 404),
        ("/api/play/..%2fsecret.mkv", 404),
        ("/api/play/.hidden.mkv", 404),
        ("/poster/film.srt", 404),
    ];
    for (path, want) in asks {
        let got = common::raw_get(addr, path);
        assert_eq!(got, *want, "{path}");
    }
    // A client that goes away while its segment is being made: nobody waits on the job any
    // more, and the server goes on.
    {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET /hls/film.mkv/vcopy-a1aac/1.m4s HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        .unwrap();
    }
    // And the server still plays the real file.
    assert_eq!(
        common::raw_get(addr, "/hls/film.mkv/vcopy-a1aac/2.m4s"),
        200
    );
    assert_eq!(common::raw_get(addr, "/poster/film.mkv"), 200);
    let playlist = |addr| async move {
        let url = format!("http://{addr}/hls/film.mkv/vcopy-a1aac/index.m3u8");
        let text = reqwest::get(url).await.unwrap().text().await.unwrap();
        text.lines().filter(|l| l.starts_with("#EXTINF")).count()
    };
    assert_eq!(playlist(addr).await, 3, "10 s: 4 + 4 + 2");
    // The file is replaced by a shorter one while a job of the old one may still run: the
    // playlist and segments are the new version's (the cache is keyed by size and mtime).
    assert_eq!(
        common::raw_get(addr, "/hls/film.mkv/vcopy-a1aac/0.m4s"),
        200
    );
    make(&inside.join("film.mkv"), "320x240", 6, &H264_AC3);
    assert_eq!(playlist(addr).await, 2, "6 s: 4 + 2");
    assert_eq!(
        common::raw_get(addr, "/hls/film.mkv/vcopy-a1aac/1.m4s"),
        200
    );
    assert_eq!(
        common::raw_get(addr, "/hls/film.mkv/vcopy-a1aac/2.m4s"),
        404
    );
    server.shutdown().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(our_ffmpegs(dir.path()), Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_viewers_of_transcoded_files_stay_within_the_job_bound() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    make(
        &dir.path().join("a.avi"),
        "320x240",
        24,
        &["-c:v", "mpeg4", "-c:a", "libmp3lame"],
    );
    for n in ["b", "c", "d"] {
        std::fs::copy(
            dir.path().join("a.avi"),
            dir.path().join(format!("{n}.avi")),
        )
        .unwrap();
    }
    let server = common::serve_transcoding(&[dir.path()], state.path(), 2).await;
    let base = format!("http://{}", server.local_addr);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sampling = {
        let peak = std::sync::Arc::clone(&peak);
        let d = dir.path().to_path_buf();
        tokio::spawn(async move {
            loop {
                let d = d.clone();
                let n = tokio::task::spawn_blocking(move || our_ffmpegs(&d))
                    .await
                    .unwrap()
                    .len();
                peak.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let client = reqwest::Client::new();
    let mut viewers = Vec::new();
    for v in 0..20usize {
        let (client, base) = (client.clone(), base.clone());
        viewers.push(tokio::spawn(async move {
            // Five viewers per file, each from its own place, as a player: 503 means retry.
            let file = ["a", "b", "c", "d"][v % 4];
            let first = v / 4;
            let (mut got, mut busy) = (0, 0);
            let deadline = Instant::now() + Duration::from_secs(90);
            for seg in first..first + 2 {
                loop {
                    let url = format!("{base}/hls/{file}.avi/vh264-a1aac/{seg}.m4s");
                    let r = client.get(&url).send().await.unwrap();
                    match r.status().as_u16() {
                        200 => {
                            assert!(r.bytes().await.unwrap().len() > 1000);
                            got += 1;
                            break;
                        }
                        503 => {
                            busy += 1;
                            assert!(Instant::now() < deadline, "viewer {v} never got {url}");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        s => panic!("{url}: {s}"),
                    }
                }
            }
            (got, busy)
        }));
    }
    let mut busy_total = 0;
    for v in viewers {
        let (got, busy) = v.await.unwrap();
        assert_eq!(got, 2);
        busy_total += busy;
    }
    sampling.abort();
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("20 viewers: at most {peak} ffmpeg at once, {busy_total} answers of 503");
    assert!(
        peak <= 2,
        "{peak} ffmpeg processes ran at once; the bound is 2"
    );
    assert!(peak >= 1);
    let status: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!("{base}/api/status"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(status["transcode"]["max_jobs"], 2, "{status}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_of_500_films_lists_at_once_and_makes_posters_only_when_shown() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let one = dir.path().join("film 000.mkv");
    make(
        &one,
        "320x240",
        4,
        &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"],
    );
    for i in 1..500 {
        std::fs::hard_link(&one, dir.path().join(format!("film {i:03}.mkv"))).unwrap();
    }
    let server = common::serve_transcoding(&[dir.path()], state.path(), 2).await;
    let base = format!("http://{}/", server.local_addr);
    let client = reqwest::Client::new();
    let _cold = client
        .get(&base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let t0 = Instant::now();
    let page = client
        .get(&base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let warm = t0.elapsed();
    assert_eq!(
        page.matches("<img class=\"poster\" loading=\"lazy\"")
            .count(),
        500
    );
    assert!(
        warm < Duration::from_secs(1),
        "500 films listed in {warm:?}"
    );
    assert!(
        our_ffmpegs(dir.path()).is_empty(),
        "listing starts no ffmpeg"
    );
    let seen = homestream_test_support::browser_script("library_posters.mjs", &[&base], &[]).await;
    homestream_test_support::assert_no_console_errors(&seen);
    let asked = seen["posterRequests"].as_u64().unwrap();
    let shown = seen["postersLoaded"].as_u64().unwrap();
    eprintln!("500 films: listed in {warm:?} (warm), {asked} posters asked for, {shown} shown");
    assert!(shown >= 3, "the posters on screen appear: {seen}");
    assert!(
        asked < 100,
        "only the posters near the screen are made: {seen}"
    );
    let jpeg = client
        .get(format!("{base}poster/film%20000.mkv"))
        .send()
        .await
        .unwrap();
    assert_eq!(jpeg.headers()["content-type"], "image/jpeg");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ffmpeg_files_are_served_as_before_and_pages_say_what_ffmpeg_adds() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.avi"), b"RIFF\0\0\0\0AVI not really").unwrap();
    let get = |url: String| async move {
        let r = reqwest::get(url).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    for (ffmpeg, no_transcode) in [
        (Some(state.path().join("no-such-ffmpeg")), false),
        (None, true),
    ] {
        let server = homestream_server::start(homestream_server::ServeConfig {
            paths: vec![dir.path().to_path_buf()],
            bind: Some(std::net::Ipv4Addr::LOCALHOST.into()),
            port: Some(0),
            state_dir: Some(state.path().to_path_buf()),
            ffmpeg,
            no_transcode,
            ..Default::default()
        })
        .await
        .expect("a server starts without ffmpeg");
        let base = format!("http://{}", server.local_addr);
        let (status, page) = get(format!("{base}/watch/old.avi")).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("src=\"/media/old.avi\""),
            "the file is the source: {page}"
        );
        // Missing ffmpeg: the page says what installing it adds; turned off: nothing.
        assert_eq!(page.contains("apt install ffmpeg"), !no_transcode, "{page}");
        let (status, play) = get(format!("{base}/api/play/old.avi")).await;
        assert_eq!(status, 200);
        let play: serde_json::Value = serde_json::from_str(&play).unwrap();
        assert_eq!(play["mode"], "direct");
        assert_eq!(play["ffmpeg"], false);
        assert_eq!(play["hint"].is_string(), !no_transcode, "{play}");
        for path in [
            "/hls/old.avi/vh264-a1aac/index.m3u8",
            "/hls/old.avi/vh264-a1aac/0.m4s",
            "/poster/old.avi",
            "/subs/old.avi?stream=0",
        ] {
            assert_eq!(common::raw_get(server.local_addr, path), 501, "{path}");
        }
        let (_, home) = get(format!("{base}/")).await;
        assert!(
            home.contains("old.avi") && !home.contains("class=\"poster\""),
            "{home}"
        );
        assert_eq!(common::raw_get(server.local_addr, "/media/old.avi"), 200);
        server.shutdown().await;
    }
}
