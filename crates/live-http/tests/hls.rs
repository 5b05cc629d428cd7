//! LL-HLS against real peers on loopback: ffmpeg reads `index.m3u8` and decodes picture and
//! sound; a blocking reload for the next part returns when that part exists (measured); 40
//! simulated players behind nginx's `proxy_cache` + `proxy_cache_lock` cost the origin at most
//! a tenth of their requests; hostile requests get their 4xx.

mod common;

use axum::extract::Request;
use axum::middleware::Next;
use homestream_hls::{MediaPlaylist, Name, Resource};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

const SPEC: &str = "demo=test:320x240@30";

async fn get(addr: SocketAddr, path: &str) -> (u16, hyper::HeaderMap, Vec<u8>) {
    tokio::time::timeout(
        Duration::from_secs(20),
        common::mjpeg_reader::get(addr, path),
    )
    .await
    .unwrap_or_else(|_| panic!("GET {path} took over 20 s"))
    .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn header<'a>(h: &'a hyper::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn playlist(body: &[u8]) -> MediaPlaylist {
    let text = std::str::from_utf8(body).expect("utf-8 playlist");
    MediaPlaylist::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// (msn, part) of the preload hint: the part being made.
fn hint(p: &MediaPlaylist) -> (u64, u32) {
    let uri = p.preload_hint.as_deref().expect("a preload hint");
    match Name::parse(uri.trim_start_matches("hls/")) {
        Some(Name {
            resource: Resource::Part { msn, part },
            ..
        }) => (msn, part),
        _ => panic!("hint {uri}"),
    }
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Capture times (Unix seconds) of the video fragments (track 1) of a part.
fn video_captures(part: &[u8]) -> Vec<f64> {
    homestream_cmaf::read::boxes(part)
        .filter_map(Result::ok)
        .filter(|b| &b.fourcc == b"prft")
        .filter_map(|b| homestream_cmaf::read::read_prft(b.body).ok())
        .filter(|p| p.reference_track_id == 1)
        .map(|p| unix(p.wall_clock()))
        .collect()
}

fn percentile(xs: &mut [f64], p: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() as f64 * p) as usize).min(xs.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playlists_parts_and_hostile_requests() {
    let (addr, reg, _task) = common::serve(&[SPEC], Duration::from_secs(1)).await;
    // No viewers: the first playlist request wakes the source and waits for a segment.
    let t = Instant::now();
    let (status, h, body) = get(addr, "/live/demo/index.m3u8").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    eprintln!("cold start: first playlist after {:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(header(&h, "content-type"), "application/vnd.apple.mpegurl");
    assert_eq!(header(&h, "cache-control"), "public, max-age=1");
    let p = playlist(&body);
    p.validate().unwrap();
    assert!(p.server_control.can_block_reload);
    let pt = p.part_target.unwrap();
    assert!(pt <= Duration::from_millis(500), "PART-TARGET {pt:?}");
    let viewers = reg.stream("demo").unwrap().viewers();
    assert_eq!(viewers.len(), 1, "one muxer, counted as one viewer");
    assert_eq!(viewers[0].transport, "hls");
    // Init, part and segment: immutable, video/mp4, and what the playlist says.
    let map = p.segments[0].map.clone().unwrap();
    let (s, h, init) = get(addr, &format!("/live/demo/{map}")).await;
    assert_eq!((s, header(&h, "content-type")), (200, "video/mp4"));
    assert_eq!(
        header(&h, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(&init[4..8], b"ftyp");
    let seg = &p.segments[0];
    let (_, seg_uri) = seg.complete.clone().unwrap();
    let (s, h, whole) = get(addr, &format!("/live/demo/{seg_uri}")).await;
    assert_eq!((s, header(&h, "content-type")), (200, "video/mp4"));
    assert_eq!(header(&h, "content-length"), whole.len().to_string());
    let mut joined = Vec::new();
    for part in &seg.parts {
        let (s, h, b) = get(addr, &format!("/live/demo/{}", part.uri)).await;
        assert_eq!(s, 200);
        assert_eq!(
            header(&h, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        joined.extend_from_slice(&b);
    }
    if !seg.parts.is_empty() {
        assert_eq!(joined, whole, "a segment is its parts");
    }
    // Hostile and unknown requests.
    let last = p.last_complete_msn().unwrap();
    for (path, want) in [
        (format!("/live/demo/index.m3u8?_HLS_msn={}", last + 3), 400),
        (format!("/live/demo/index.m3u8?_HLS_msn={}", u64::MAX), 400),
        ("/live/demo/index.m3u8?_HLS_part=1".to_string(), 400),
        ("/live/demo/index.m3u8?_HLS_msn=abc".to_string(), 400),
        ("/live/demo/index.m3u8?_HLS_msn=-1".to_string(), 400),
        (
            format!("/live/demo/index.m3u8?_HLS_msn={}&_HLS_part=99", last + 2),
            400,
        ),
        ("/live/nope/index.m3u8".to_string(), 404),
        ("/live/demo/hls/../../index.m3u8".to_string(), 404),
        ("/live/demo/hls/00000000-1.m4s".to_string(), 404),
        ("/live/demo/hls/garbage".to_string(), 404),
        (format!("/live/demo/hls/{}-99.m4s", &seg_uri[4..12]), 404),
    ] {
        let (s, _, b) = get(addr, &path).await;
        assert_eq!(s, want, "{path}: {}", String::from_utf8_lossy(&b));
    }
    // A blocking request for something already there is answered at once, and may be cached.
    let t = Instant::now();
    let (s, h, _) = get(addr, &format!("/live/demo/index.m3u8?_HLS_msn={last}")).await;
    assert_eq!(s, 200);
    assert!(t.elapsed() < Duration::from_millis(100));
    assert_eq!(header(&h, "cache-control"), "public, max-age=6");
    // hls.js for the page is in the binary.
    let (s, h, js) = get(addr, "/live/demo/hls.light.min.js?v=1.7.4").await;
    assert_eq!(
        (s, header(&h, "content-type")),
        (200, "text/javascript; charset=utf-8")
    );
    assert!(js.len() > 100_000);
}

/// Follows the live edge with blocking reloads for ~5 s and measures, for each part, how long
/// after the part could exist (the capture of the next part's first frame) the held playlist
/// naming it arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_reload_returns_when_the_part_exists() {
    let (addr, _reg, _task) = common::serve(&[SPEC], Duration::from_secs(1)).await;
    let (_, _, body) = get(addr, "/live/demo/index.m3u8").await;
    let mut p = playlist(&body);
    let mut wakes = Vec::new();
    let mut durations = Vec::new();
    let mut held = Vec::new();
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        let (msn, part) = hint(&p);
        let asked = Instant::now();
        let (s, _, body) = get(
            addr,
            &format!("/live/demo/index.m3u8?_HLS_msn={msn}&_HLS_part={part}"),
        )
        .await;
        let arrived = SystemTime::now();
        assert_eq!(s, 200);
        held.push(asked.elapsed().as_secs_f64());
        p = playlist(&body);
        let uri = Name {
            run: u32::from_str_radix(&p.segments[0].map.as_ref().unwrap()[4..12], 16).unwrap(),
            resource: Resource::Part { msn, part },
        }
        .uri();
        let listed = p
            .segments
            .iter()
            .flat_map(|s| s.parts.iter())
            .find(|x| x.uri == uri)
            .unwrap_or_else(|| panic!("the held playlist lists {uri}"))
            .clone();
        durations.push(listed.duration.as_secs_f64());
        let (s, _, bytes) = get(addr, &format!("/live/demo/{uri}")).await;
        assert_eq!(s, 200);
        let captures = video_captures(&bytes);
        let last = captures.iter().cloned().fold(f64::MIN, f64::max);
        // The part is complete when the next part's first frame has been captured (and
        // encoded): one frame interval after its own last frame.
        let could_exist = last + 1.0 / 30.0;
        wakes.push(unix(arrived) - could_exist);
    }
    assert!(wakes.len() >= 15, "followed {} parts in 5 s", wakes.len());
    let (wake50, wake95) = (percentile(&mut wakes, 0.5), percentile(&mut wakes, 0.95));
    let (d50, dmax) = (
        percentile(&mut durations, 0.5),
        percentile(&mut durations, 1.0),
    );
    let held50 = percentile(&mut held, 0.5);
    eprintln!(
        "parts followed: {}; part duration p50 {:.3} s max {:.3} s; held p50 {:.0} ms; \
         part-complete to response p50 {:.0} ms p95 {:.0} ms",
        wakes.len(),
        d50,
        dmax,
        held50 * 1000.0,
        wake50 * 1000.0,
        wake95 * 1000.0
    );
    assert!((0.15..=0.25).contains(&d50), "part duration {d50}");
    assert!(
        dmax <= 0.235 + 1e-9,
        "a part longer than PART-TARGET: {dmax}"
    );
    // Held about a part (it asked for the part being made), answered soon after it exists.
    assert!(held50 > 0.05 && held50 < 0.3, "held {held50}");
    assert!(
        wake95 < 0.25,
        "blocking reload woke {wake95} s after the part existed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_reads_index_m3u8_and_decodes_picture_and_sound() {
    let (addr, _reg, _task) = common::serve(&[SPEC], Duration::from_secs(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let (v, a) = (dir.path().join("v.txt"), dir.path().join("a.txt"));
    let url = format!("http://{addr}/live/demo/index.m3u8");
    let out = tokio::time::timeout(
        Duration::from_secs(40),
        tokio::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i", &url])
            // -t applies to the output after it: both get 4 s.
            .args(["-t", "4", "-map", "0:v", "-f", "framecrc"])
            .arg(&v)
            .args(["-t", "4", "-map", "0:a", "-f", "framecrc"])
            .arg(&a)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("ffmpeg finished within 40 s")
    .expect("ffmpeg is installed (bash scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let (vt, at) = (read(&v), read(&a));
    let count = |t: &str| t.lines().filter(|l| !l.starts_with('#')).count();
    let (video, audio) = (count(&vt), count(&at));
    eprintln!(
        "ffmpeg decoded {video} video frames and {audio} audio frames in 4 s; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(vt.contains("#dimensions 0: 320x240"), "{vt:.300}");
    assert!(at.contains("#sample_rate 0: 48000"), "{at:.300}");
    // 4 s of 30 fps and of 20 ms Opus packets (ffmpeg may pad or cut a frame at the ends).
    assert!((110..=125).contains(&video), "video frames {video}");
    assert!((190..=205).contains(&audio), "audio frames {audio}");
}

/// Counts the requests the origin serves.
async fn serve_counted(counter: Arc<AtomicUsize>) -> SocketAddr {
    let specs: Vec<homestream_live::LiveSpec> = vec![SPEC.parse().unwrap()];
    let reg = homestream_live::LiveRegistry::start_with(
        &specs,
        homestream_live::LiveOptions {
            grace: Duration::from_secs(1),
        },
    )
    .unwrap();
    let app = homestream_live_http::router(&reg).layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let c = counter.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                next.run(req).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _keep = reg;
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// nginx in front of the origin, as the README's scale-out section configures it.
struct Nginx {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers (SIGKILL would leave them running).
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx(origin: SocketAddr) -> Nginx {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = dir.path().display();
    // The location block is the README's, with the origin's address filled in.
    let conf = format!(
        "worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  proxy_cache_path {d}/cache levels=1:2 keys_zone=live:10m max_size=256m inactive=2m use_temp_path=off;
  upstream homestream {{ server {origin}; keepalive 16; }}
  server {{
    listen 127.0.0.1:{port};
    location /live/ {{
      proxy_pass http://homestream;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_cache live;
      proxy_cache_key $scheme$proxy_host$request_uri;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10s;
      proxy_cache_lock_age 10s;
      proxy_read_timeout 15s;
      add_header X-Cache $upstream_cache_status always;
    }}
  }}
}}
"
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = std::process::Command::new("nginx")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nginx is installed (bash scripts/test.sh installs nginx-light)");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx {
        child,
        addr,
        _dir: dir,
    }
}

/// One LL-HLS player: the playlist, then for `secs` a blocking reload for the hinted part and
/// a GET of every part it has not fetched yet. Returns (requests made, parts fetched).
async fn player(edge: SocketAddr, secs: u64) -> (usize, usize) {
    let (s, _, body) = get(edge, "/live/demo/index.m3u8").await;
    assert_eq!(s, 200);
    let mut p = playlist(&body);
    let (mut requests, mut fetched) = (1, std::collections::HashSet::new());
    // Start at the live edge: the newest part listed.
    if let Some(last) = p.segments.iter().flat_map(|s| s.parts.iter()).last() {
        fetched.extend(
            p.segments
                .iter()
                .flat_map(|s| s.parts.iter())
                .filter(|x| x.uri != last.uri)
                .map(|x| x.uri.clone()),
        );
    }
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        let uris: Vec<String> = p
            .segments
            .iter()
            .flat_map(|s| s.parts.iter())
            .map(|x| x.uri.clone())
            .filter(|u| !fetched.contains(u))
            .collect();
        for u in uris {
            let (s, _, b) = get(edge, &format!("/live/demo/{u}")).await;
            assert_eq!(s, 200, "{u}");
            assert!(!b.is_empty());
            requests += 1;
            fetched.insert(u);
        }
        let (msn, part) = hint(&p);
        let (s, _, body) = get(
            edge,
            &format!("/live/demo/index.m3u8?_HLS_msn={msn}&_HLS_part={part}"),
        )
        .await;
        assert_eq!(s, 200);
        requests += 1;
        p = playlist(&body);
    }
    (requests, fetched.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_players_behind_nginx_cost_the_origin_a_tenth_of_their_requests() {
    let origin_hits = Arc::new(AtomicUsize::new(0));
    let origin = serve_counted(origin_hits.clone()).await;
    let edge = nginx(origin);
    // Warm the stream up (one player's worth), then count from zero.
    let _ = get(edge.addr, "/live/demo/index.m3u8").await;
    origin_hits.store(0, Ordering::SeqCst);
    let players: Vec<_> = (0..40)
        .map(|_| tokio::spawn(player(edge.addr, 6)))
        .collect();
    let (mut requests, mut parts) = (0, 0);
    for p in players {
        let (r, f) = p.await.unwrap();
        requests += r;
        parts += f;
    }
    let hits = origin_hits.load(Ordering::SeqCst);
    eprintln!(
        "40 players: {requests} requests ({parts} part fetches) through nginx, {hits} reached the origin ({:.1} %)",
        100.0 * hits as f64 / requests as f64
    );
    assert!(
        requests >= 40 * 40,
        "the players made {requests} requests in 6 s"
    );
    assert!(
        hits * 10 <= requests,
        "origin served {hits} of {requests} requests"
    );
}
