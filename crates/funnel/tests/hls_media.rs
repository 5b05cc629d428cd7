//! HLS made by Debian's ffmpeg (TS segments, fMP4 with EXT-X-MAP, `single_file` byte ranges,
//! AES-128, a master with two variants) behind a throttled loopback origin: ffmpeg and mpv play
//! each through the funnel and decode every frame, and `download` writes a file ffprobe reads
//! with the full duration and both streams.

mod common;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::{Funnel, cfg};
use homestream_funnel::download::{DownloadOptions, download};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const MIB: u64 = 1 << 20;
/// 4 s at 10 fps.
const FRAMES: u32 = 40;

/// Bytes per second per connection the origin allows.
const RATE: u64 = 2 * MIB;

/// A static directory served with byte ranges, each response paced to [`RATE`].
struct Origin {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(State(dir): State<Arc<PathBuf>>, req: Request) -> Response {
    let rel = req.uri().path().trim_start_matches('/').to_owned();
    if rel.contains("..") {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Ok(data) = std::fs::read(dir.join(&rel)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let ct = if rel.ends_with(".m3u8") {
        "application/vnd.apple.mpegurl"
    } else if rel.ends_with(".ts") {
        "video/mp2t"
    } else {
        "application/octet-stream"
    };
    let (status, start, end) = match range(req.headers(), data.len() as u64) {
        Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b),
        None => (StatusCode::OK, 0, data.len() as u64),
    };
    let body: Vec<u8> = data[start as usize..end as usize].to_vec();
    let chunks: Vec<Vec<u8>> = body.chunks(16 << 10).map(<[u8]>::to_vec).collect();
    let stream = futures_util::stream::iter(chunks).then(|c| async move {
        tokio::time::sleep(Duration::from_secs_f64(c.len() as f64 / RATE as f64)).await;
        Ok::<_, std::io::Error>(c)
    });
    let mut r = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, ct)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, end - start);
    if status == StatusCode::PARTIAL_CONTENT {
        r = r.header(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", start, end - 1, data.len()),
        );
    }
    r.body(Body::from_stream(stream)).unwrap()
}

use futures_util::StreamExt;

fn range(h: &HeaderMap, len: u64) -> Option<(u64, u64)> {
    let v = h
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes=")?;
    let (a, b) = v.split_once('-')?;
    let a: u64 = a.parse().ok()?;
    let b: u64 = if b.is_empty() {
        len - 1
    } else {
        b.parse::<u64>().ok()?.min(len - 1)
    };
    (a <= b).then_some((a, b + 1))
}

impl Origin {
    async fn start(dir: &Path) -> Origin {
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(Arc::new(dir.to_owned()));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Origin { addr, task }
    }
    fn url(&self, p: &str) -> String {
        format!("http://{}/{p}", self.addr)
    }
}

/// The HLS kinds the issue names.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Ts,
    Fmp4,
    SingleFile,
    Aes,
    Master,
}

/// Writes 4 s of 160x120 10 fps H.264 + AAC as HLS of `kind` into `dir`; returns the playlist name.
fn make(dir: &Path, kind: Kind) -> &'static str {
    let mut c = Command::new("ffmpeg");
    c.current_dir(dir)
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg("testsrc=duration=4:size=160x120:rate=10")
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=4"]);
    let common = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "10",
        "-c:a",
        "aac",
        "-b:a",
        "32k",
        "-f",
        "hls",
        "-hls_time",
        "1",
        "-hls_playlist_type",
        "vod",
    ];
    let name = match kind {
        Kind::Master => {
            c.args(["-map", "0:v", "-map", "1:a", "-map", "0:v", "-map", "1:a"])
                .args(common)
                .args(["-s:v:1", "96x72", "-b:v:0", "300k", "-b:v:1", "100k"])
                .args(["-var_stream_map", "v:0,a:0 v:1,a:1"])
                .args(["-master_pl_name", "master.m3u8"])
                .args(["-hls_segment_filename", "v%v/seg%03d.ts", "v%v/index.m3u8"]);
            "master.m3u8"
        }
        _ => {
            c.args(common);
            match kind {
                Kind::Fmp4 => {
                    c.args([
                        "-hls_segment_type",
                        "fmp4",
                        "-hls_fmp4_init_filename",
                        "init.mp4",
                    ]);
                    c.args(["-hls_segment_filename", "seg%03d.m4s"]);
                }
                Kind::SingleFile => {
                    c.args(["-hls_flags", "single_file"]);
                }
                Kind::Aes => {
                    std::fs::write(dir.join("k.bin"), [0x42u8; 16]).unwrap();
                    std::fs::write(
                        dir.join("k.info"),
                        format!("k.bin\n{}\n", dir.join("k.bin").display()),
                    )
                    .unwrap();
                    c.args(["-hls_key_info_file", "k.info"]);
                    c.args(["-hls_segment_filename", "seg%03d.ts"]);
                }
                _ => {
                    c.args(["-hls_segment_filename", "seg%03d.ts"]);
                }
            }
            c.arg("index.m3u8");
            "index.m3u8"
        }
    };
    let st = c.status().expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg made no {kind:?} HLS");
    name
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// Frames of the first video stream ffprobe decodes from `input`.
fn frames(input: &str) -> Vec<u32> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.trim_matches(|c: char| c == ',' || c.is_whitespace())
                .parse()
                .ok()
        })
        .collect()
}

/// (duration s, streams) of a file as ffprobe reads it.
fn probe(file: &Path) -> (f64, u32) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration,nb_streams"])
        .args(["-of", "default=nw=1"])
        .arg(file)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout).into_owned();
    let get = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (get("duration="), get("nb_streams=") as u32)
}

/// mpv plays `url` (the funnel's playlist) to its end, writing what it decoded to a NUT file;
/// returns that file's frame count.
fn mpv_frames(url: &str, dir: &Path) -> u32 {
    let out = dir.join("mpv.nut");
    let o = Command::new("mpv")
        .args([
            "--no-config",
            "--really-quiet",
            "--no-audio",
            "--ovc=rawvideo",
            "--of=nut",
        ])
        .arg(format!("--o={}", out.display()))
        .arg(url)
        .output()
        .expect("mpv runs");
    assert!(
        o.status.success(),
        "mpv: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    frames(out.to_str().unwrap()).first().copied().unwrap_or(0)
}

async fn through_funnel(kind: Kind) {
    assert!(
        have("ffmpeg") && have("ffprobe"),
        "needs Debian's ffmpeg (bash scripts/test.sh installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let name = make(dir.path(), kind);
    let o = Origin::start(dir.path()).await;
    let f = Funnel::start(&o.url(name), cfg(4, 256 << 10, MIB, 2)).await;
    let url = f.url();
    let u = url.clone();
    let counts = tokio::task::spawn_blocking(move || frames(&u))
        .await
        .unwrap();
    assert!(!counts.is_empty());
    assert!(
        counts.iter().all(|c| *c == FRAMES),
        "{kind:?}: ffprobe decoded {counts:?} frames, want {FRAMES}"
    );
    if have("mpv") {
        let d = dir.path().to_owned();
        let n = tokio::task::spawn_blocking(move || mpv_frames(&url, &d))
            .await
            .unwrap();
        assert_eq!(n, FRAMES, "{kind:?}: mpv decoded {n} frames");
    } else {
        panic!("needs mpv (bash scripts/test.sh installs it)");
    }

    // download: the whole file, both streams.
    let ext = if matches!(kind, Kind::Fmp4) {
        "mp4"
    } else {
        "ts"
    };
    let out = dir.path().join(format!("out.{ext}"));
    let opts = DownloadOptions {
        url: o.url(name),
        output: out.clone(),
        sha256: None,
        engine: cfg(4, 256 << 10, MIB, 2),
        progress: false,
        variant: Default::default(),
    };
    let client = homestream_funnel::client::build_client(&Default::default()).unwrap();
    let r = download(client, &opts, std::future::pending())
        .await
        .unwrap_or_else(|e| panic!("{kind:?}: download failed: {e}"));
    assert_eq!(r.size, std::fs::metadata(&out).unwrap().len());
    let (dur, streams) = probe(&out);
    assert!((dur - 4.0).abs() < 0.3, "{kind:?}: {dur} s");
    assert_eq!(streams, 2, "{kind:?}");
    // ffprobe lists a TS stream under its program and again on its own.
    let n = frames(out.to_str().unwrap());
    assert!(
        !n.is_empty() && n.iter().all(|c| *c == FRAMES),
        "{kind:?}: {n:?}"
    );
}

#[tokio::test]
async fn ts_segments() {
    through_funnel(Kind::Ts).await;
}

#[tokio::test]
async fn fmp4_segments_with_map() {
    through_funnel(Kind::Fmp4).await;
}

#[tokio::test]
async fn single_file_byte_ranges() {
    through_funnel(Kind::SingleFile).await;
}

#[tokio::test]
async fn aes_128() {
    through_funnel(Kind::Aes).await;
}

#[tokio::test]
async fn master_with_two_variants() {
    through_funnel(Kind::Master).await;
}

/// TS segments to `-o x.mp4`: remuxed by ffmpeg into an MP4 with both streams.
#[tokio::test]
async fn ts_to_mp4_is_remuxed() {
    let dir = tempfile::tempdir().unwrap();
    let name = make(dir.path(), Kind::Ts);
    let o = Origin::start(dir.path()).await;
    let out = dir.path().join("out.mp4");
    let opts = DownloadOptions {
        url: o.url(name),
        output: out.clone(),
        sha256: None,
        engine: cfg(4, 256 << 10, MIB, 2),
        progress: false,
        variant: Default::default(),
    };
    let client = homestream_funnel::client::build_client(&Default::default()).unwrap();
    download(client, &opts, std::future::pending())
        .await
        .unwrap();
    let head = std::fs::read(&out).unwrap();
    assert_eq!(&head[4..8], b"ftyp", "an MP4 file");
    let (dur, streams) = probe(&out);
    assert!((dur - 4.0).abs() < 0.3, "{dur} s");
    assert_eq!(streams, 2);
}

/// What `download` cannot handle is an error, never a file reported as downloaded.
#[tokio::test]
async fn hostile_playlists_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("seg.ts"), vec![0x47u8; 188 * 10]).unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("html.m3u8", "<html>hello</html>", "not an HLS playlist"),
        (
            "drm.m3u8",
            "#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\"\n#EXTINF:4,\nseg.ts\n#EXT-X-ENDLIST\n",
            "SAMPLE-AES",
        ),
        (
            "self.m3u8",
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nself.m3u8\n",
            "names itself",
        ),
        (
            "deep.m3u8",
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ndeep2.m3u8\n",
            "deeper",
        ),
        (
            "missing.m3u8",
            "#EXTM3U\n#EXTINF:4,\nnope.ts\n#EXT-X-ENDLIST\n",
            "404",
        ),
        (
            "nokey.m3u8",
            "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"nokey.bin\"\n#EXTINF:4,\nseg.ts\n#EXT-X-ENDLIST\n",
            "key",
        ),
        ("empty.m3u8", "#EXTM3U\n#EXT-X-ENDLIST\n", "no segments"),
    ];
    for (n, body, _) in cases {
        std::fs::write(p.join(n), body).unwrap();
    }
    std::fs::write(
        p.join("deep2.m3u8"),
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ndeep3.m3u8\n",
    )
    .unwrap();
    std::fs::write(
        p.join("deep3.m3u8"),
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ndeep4.m3u8\n",
    )
    .unwrap();
    let o = Origin::start(p).await;
    for (n, _, want) in cases {
        let out = p.join(format!("{n}.ts"));
        let opts = DownloadOptions {
            url: o.url(n),
            output: out,
            sha256: None,
            engine: cfg(4, 256 << 10, MIB, 2),
            progress: false,
            variant: Default::default(),
        };
        let client = homestream_funnel::client::build_client(&Default::default()).unwrap();
        let r = tokio::time::timeout(
            Duration::from_secs(20),
            download(client, &opts, std::future::pending()),
        )
        .await
        .expect("no hang");
        let e = r.expect_err(n).to_string();
        assert!(e.contains(want), "{n}: {e}");
    }
}

/// Kills the live encoder when the test ends, however it ends.
struct Encoder(std::process::Child);

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The media sequence number of a live playlist.
fn media_sequence(playlist: &str) -> Option<u64> {
    playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|v| v.trim().parse().ok())
}

/// A live HLS that ffmpeg writes in real time (1 s segments, a sliding window of 4, old ones
/// deleted) behind the throttled origin: ffmpeg reads it through the funnel as a live stream
/// and decodes 60 frames (6 s at 10 fps) at the live rate, while the playlist the funnel
/// serves moves on with the encoder's, never held in a cache.
#[tokio::test]
async fn live_hls_written_in_real_time_plays_through_the_funnel() {
    assert!(
        have("ffmpeg") && have("ffprobe"),
        "needs Debian's ffmpeg (bash scripts/test.sh installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let enc = Command::new("ffmpeg")
        .current_dir(dir.path())
        .args(["-v", "error", "-re", "-f", "lavfi", "-i"])
        .arg("testsrc=size=160x120:rate=10")
        .args(["-f", "lavfi", "-re", "-i", "sine=frequency=440"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "10"])
        .args(["-c:a", "aac", "-t", "60", "-f", "hls", "-hls_time", "1"])
        .args([
            "-hls_list_size",
            "4",
            "-hls_flags",
            "delete_segments+temp_file",
        ])
        .arg("live.m3u8")
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("ffmpeg starts");
    let _enc = Encoder(enc);
    // Until the encoder's playlist lists a few segments.
    let listed = dir.path().join("live.m3u8");
    let mut waited = 0;
    while std::fs::read_to_string(&listed).map_or(0, |p| p.matches("#EXTINF").count()) < 3 {
        assert!(waited < 100, "ffmpeg wrote no live playlist in 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let o = Origin::start(dir.path()).await;
    let f = Funnel::start(&o.url("live.m3u8"), cfg(4, 256 << 10, MIB, 2)).await;
    let url = f.url();
    let client = reqwest::Client::new();
    let first = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        !first.contains("#EXT-X-ENDLIST"),
        "a live playlist: {first}"
    );
    let seq0 = media_sequence(&first).expect("a media sequence");

    let u = url.clone();
    let t0 = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("ffmpeg")
            .args(["-v", "error", "-i", &u, "-map", "0:v:0", "-frames:v", "60"])
            .args(["-f", "framemd5", "-"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let took = t0.elapsed();
    assert!(
        out.status.success(),
        "ffmpeg through the funnel: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    assert_eq!(decoded, 60, "frames decoded through the funnel");
    // ffmpeg starts three segments from the live edge: about 3 s of the 6 are waited for.
    assert!(
        took > Duration::from_secs(2) && took < Duration::from_secs(20),
        "60 live frames took {took:?}"
    );
    let last = client.get(&url).send().await.unwrap().text().await.unwrap();
    let seq1 = media_sequence(&last).expect("a media sequence");
    assert!(
        seq1 >= seq0 + 3,
        "the funnel's playlist moved with the encoder's: sequence {seq0} -> {seq1}"
    );
}

/// The funnel's `/player` page for an HLS funnel: headless Chromium plays the VOD with the
/// bundled hls.js (served by the funnel itself), seeks to 60 % and plays on; every segment
/// request is answered 200.
#[tokio::test]
async fn the_player_page_plays_hls_with_hls_js_and_seeks() {
    let dir = tempfile::tempdir().unwrap();
    let name = make(dir.path(), Kind::Ts);
    let o = Origin::start(dir.path()).await;
    let f = Funnel::start(&o.url(name), cfg(4, 256 << 10, MIB, 2)).await;
    let js = reqwest::get(format!("http://{}/hls.light.min.js", f.addr))
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.bytes().await.unwrap() == homestream_hls::HLS_JS);
    let seen = homestream_test_support::browser_script(
        "funnel_player.mjs",
        &[&format!("http://{}/player", f.addr)],
        &[],
    )
    .await;
    eprintln!("{seen:#}");
    homestream_test_support::assert_no_console_errors(&seen);
    assert!(
        seen["engine"].as_str().unwrap_or("").starts_with("hls.js "),
        "{seen}"
    );
    // 160x120 coded; the width the page reports follows the stream's sample aspect ratio.
    assert_eq!(seen["first"]["height"], 120, "{seen}");
    assert!(seen["first"]["width"].as_u64().unwrap() >= 160, "{seen}");
    let duration = seen["first"]["duration"].as_f64().unwrap();
    assert!((duration - 4.0).abs() < 0.3, "{duration}");
    let target = seen["target"].as_f64().unwrap();
    assert!(seen["after"]["time"].as_f64().unwrap() > target + 0.5);
    let statuses = seen["statuses"].as_array().unwrap();
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| s == 200),
        "{statuses:?}"
    );
}
