//! WHIP over loopback, behind the real login gate: an aiortc publisher (PyPI) sends a test
//! pattern with the timecode block and a tone to a `publish` stream; an aiortc WHEP viewer and
//! a WebSocket/MSE viewer receive it (decoded timecodes, latency, beeps); the publisher leaves
//! and returns; a second publisher, a token and hostile offers are refused while viewers keep
//! playing.

use homestream_auth::Auth;
use homestream_live::{LiveOptions, LiveRegistry, LiveSpec};
use homestream_live_http::whep::{Whep, WhepConfig};
use homestream_live_http::whip::Whip;
use homestream_test_support::{PASSWORD, USER, users_file};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod common;

/// The two tests run one after the other: each runs aiortc peers whose Python encoder falls
/// behind on two busy cores when both run at once.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Server {
    addr: SocketAddr,
    reg: Arc<LiveRegistry>,
    whip: Arc<Whip>,
    _whep: Arc<Whep>,
    token: String,
    /// A token with the publish scope.
    publish_token: String,
    _dir: tempfile::TempDir,
}

async fn serve(specs: &[&str]) -> Server {
    let specs: Vec<LiveSpec> = specs.iter().map(|s| s.parse().expect("spec")).collect();
    let reg = LiveRegistry::start_with(
        &specs,
        LiveOptions {
            grace: Duration::from_secs(1),
        },
    )
    .expect("registry");
    let config = WhepConfig {
        addrs: Some(vec!["127.0.0.1".parse().unwrap()]),
        ..WhepConfig::default()
    };
    let whep = Whep::start(config).await.expect("UDP port");
    let whip = Whip::start(&whep).await.expect("WHIP on the WebRTC port");
    assert_eq!(
        whip.port, whep.port,
        "one UDP port for viewers and publishers"
    );
    let mut app = homestream_live_http::router(&reg);
    for (path, mr) in homestream_live_http::whep::routes(&whep, &reg) {
        app = app.route(path, mr);
    }
    for (path, mr) in homestream_live_http::whip::routes(&whip, &reg) {
        app = app.route(path, mr);
    }
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(dir.path());
    let auth = Arc::new(Auth::load(&users.path).expect("users"));
    let app = homestream_auth::http::protect(app, Some(auth));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Server {
        addr,
        reg,
        whip,
        _whep: whep,
        token: users.valid,
        publish_token: users.publisher,
        _dir: dir,
    }
}

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("HS_AIORTC_PYTHON") {
        return p.into();
    }
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../aiortc-venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: bash scripts/test.sh installs aiortc into it",
        p.display()
    );
    p
}

fn script(name: &str) -> PathBuf {
    homestream_test_support::workspace_root()
        .join("tests/webrtc")
        .join(name)
}

fn basic() -> String {
    format!("{USER}:{PASSWORD}")
}

/// Starts the publisher; its JSON comes when it ends.
fn publisher(url: &str, secs: f64, extra: &[&str]) -> tokio::task::JoinHandle<serde_json::Value> {
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(script("whip_publisher.py"))
        .args([url, &secs.to_string()])
        .args(extra)
        .kill_on_drop(true);
    tokio::spawn(async move { run_json(cmd, secs + 40.0).await })
}

async fn run_json(mut cmd: tokio::process::Command, secs: f64) -> serde_json::Value {
    let out = tokio::time::timeout(Duration::from_secs_f64(secs), cmd.output())
        .await
        .expect("script finished in time")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "script failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("script printed no JSON ({e}): {stdout}"))
}

async fn whep_viewer(url: &str, secs: f64, token: &str) -> serde_json::Value {
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(script("whep_viewer.py"))
        .args([url, &secs.to_string(), "--bearer", token])
        .kill_on_drop(true);
    run_json(cmd, secs + 40.0).await
}

/// Waits until the stream's video hub has a unit from the publisher (its state is live).
async fn wait_live(reg: &LiveRegistry, name: &str, within: Duration) -> bool {
    let stream = reg.stream(name).expect("stream").clone();
    let end = std::time::Instant::now() + within;
    while std::time::Instant::now() < end {
        if stream.publisher_live(std::time::Instant::now()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn post(addr: SocketAddr, path: &str, auth: &str, body: &[u8]) -> (u16, String) {
    let client = reqwest_like::Client;
    client.post(addr, path, auth, body).await
}

/// A tiny HTTP/1.1 client over hyper for the refusals (status and body).
mod reqwest_like {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;
    use std::net::SocketAddr;

    pub struct Client;

    impl Client {
        pub async fn post(
            &self,
            addr: SocketAddr,
            path: &str,
            auth: &str,
            body: &[u8],
        ) -> (u16, String) {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let req = hyper::Request::post(path)
                .header("host", addr.to_string())
                .header("content-type", "application/sdp")
                .header("authorization", auth)
                .body(Full::new(bytes::Bytes::copy_from_slice(body)))
                .unwrap();
            let resp = send.send_request(req).await.expect("response");
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await.expect("body").to_bytes();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    }
}

fn basic_header() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(basic())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aiortc_publisher_reaches_whep_and_mse_viewers_and_comes_back() {
    let _one = SERIAL.lock().await;
    let s = serve(&["cam=publish", "t=test:320x240@15"]).await;
    let base = format!("http://{}", s.addr);
    let whip_url = format!("{base}/live/cam/whip");
    let b = basic();
    let first = publisher(&whip_url, 9.0, &["--basic", &b]);
    assert!(
        wait_live(&s.reg, "cam", Duration::from_secs(15)).await,
        "the publisher's video reached the stream"
    );

    // A second publisher while the first sends: refused with a reason; the first goes on.
    let second = publisher(&whip_url, 1.0, &["--basic", &b]).await.unwrap();
    assert_eq!(second["postStatus"], 409, "{second}");
    let why = second["error"].as_str().unwrap();
    assert!(
        why.contains("already publishing") && why.contains("takeover=1"),
        "{why}"
    );
    // Taking over a publisher that still sends is refused too.
    let take = publisher(&whip_url, 1.0, &["--basic", &b, "--takeover"])
        .await
        .unwrap();
    assert_eq!(take["postStatus"], 409, "{take}");

    // A WHEP viewer (with a viewer's token) and an MSE viewer at the same time.
    let mse = tokio::spawn({
        let addr = s.addr;
        async move {
            let mut v = common::ws_reader::WsViewer::open_with_auth(addr, "cam", &basic_header())
                .await
                .expect("ws viewer");
            let mime = v.init_json["mime"].as_str().unwrap_or_default().to_string();
            let (bytes, n) = v.record(3.0).await.expect("record");
            (mime, bytes, n)
        }
    });
    let whep = whep_viewer(&format!("{base}/live/cam/whep"), 3.0, &s.token).await;
    assert_eq!(whep["postStatus"], 201, "{whep}");
    let frames = whep["frames"].as_u64().unwrap();
    assert!(
        frames >= 60,
        "WHEP viewer decoded {frames} frames in 3 s: {whep}"
    );
    assert!(
        whep["fps"].as_f64().unwrap() > 20.0,
        "WHEP viewer fps: {whep}"
    );
    assert_eq!(whep["backwards"], 0, "{whep}");
    let p50 = whep["latencyP50"].as_f64().unwrap();
    let p95 = whep["latencyP95"].as_f64().unwrap();
    eprintln!("publisher -> homestream -> WHEP viewer latency: p50 {p50:.0} ms, p95 {p95:.0} ms");
    assert!(p95 < 400.0, "latency p95 {p95} ms: {whep}");
    assert!(
        whep["beeps"].as_u64().unwrap() >= 2,
        "the publisher's beeps reached the WHEP viewer: {whep}"
    );

    let (mime, bytes, fragments) = mse.await.unwrap();
    assert!(mime.contains("avc1") && mime.contains("opus"), "{mime}");
    assert!(fragments > 100, "{fragments} fragments in 3 s");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mse.mp4");
    std::fs::write(&file, &bytes).unwrap();
    let probe = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&file)
        .output()
        .expect("ffprobe");
    let probe = String::from_utf8_lossy(&probe.stdout).to_string();
    assert!(
        probe.contains("h264,640,360") && probe.contains("opus"),
        "{probe}"
    );

    let first = first.await.unwrap();
    assert_eq!(first["postStatus"], 201, "{first}");
    assert!(
        first["location"]
            .as_str()
            .unwrap()
            .starts_with("/live/cam/whip/"),
        "{first}"
    );
    assert_eq!(first["deleteStatus"], 200, "{first}");
    // Gone: the stream shows no signal, and a new publisher takes it at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !s.reg
            .stream("cam")
            .unwrap()
            .publisher_live(std::time::Instant::now())
    );
    assert_eq!(s.whip.status().sessions, 0, "the session was reaped");
    let again = publisher(&whip_url, 6.0, &["--basic", &b]);
    assert!(wait_live(&s.reg, "cam", Duration::from_secs(15)).await);
    let back = whep_viewer(&format!("{base}/live/cam/whep"), 2.0, &s.token).await;
    assert!(
        back["frames"].as_u64().unwrap() >= 40,
        "a viewer after the publisher returned: {back}"
    );
    assert_eq!(again.await.unwrap()["postStatus"], 201);
    let st = s.whip.status();
    assert!(st.accepted >= 2 && st.refused >= 2, "{st:?}");
}

const OFFER_HEAD: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

fn media(kind: &str, codec: &str, dir: &str) -> String {
    format!(
        "m={kind} 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:{kind}\r\na={dir}\r\n\
         a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
         a=fingerprint:sha-256 00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00\r\n\
         a=setup:actpass\r\na=rtcp-mux\r\na=rtpmap:96 {codec}\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_have_reasons_and_leave_viewers_alone() {
    let _one = SERIAL.lock().await;
    let s = serve(&["cam=publish", "t=test:320x240@15"]).await;
    let auth = basic_header();
    let good = format!("{OFFER_HEAD}{}", media("video", "H264/90000", "sendonly"));
    // Unauthorised: no credentials (401 from the gate), a viewer's token (403).
    let (st, _) = post(s.addr, "/live/cam/whip", "", good.as_bytes()).await;
    assert_eq!(st, 401);
    let (st, body) = post(
        s.addr,
        "/live/cam/whip",
        &format!("Bearer {}", s.token),
        good.as_bytes(),
    )
    .await;
    assert_eq!(st, 403, "{body}");
    assert!(body.contains("token create NAME --publish"), "{body}");
    // Not a publish stream.
    let (st, body) = post(s.addr, "/live/t/whip", &auth, good.as_bytes()).await;
    assert_eq!(st, 403, "{body}");
    assert!(body.contains("--live t=publish"), "{body}");
    // Hostile offers.
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            format!("{OFFER_HEAD}{}", media("video", "VP8/90000", "sendonly")).into_bytes(),
            422,
            "H.264",
        ),
        (
            format!("{OFFER_HEAD}{}", media("audio", "opus/48000/2", "sendonly")).into_bytes(),
            422,
            "H.264",
        ),
        (
            format!("{OFFER_HEAD}{}", media("video", "H264/90000", "recvonly")).into_bytes(),
            422,
            "does not send",
        ),
        (OFFER_HEAD.as_bytes().to_vec(), 422, "no audio or video"),
        (vec![b'a'; 100_000], 413, "larger"),
        (vec![0u8, 159, 146, 150, 1, 2, 3], 400, "not text"),
        (b"hello".to_vec(), 400, "v=0"),
    ];
    for (body, want, needle) in cases {
        let (st, text) = post(s.addr, "/live/cam/whip", &auth, &body).await;
        assert_eq!(st, want, "{text}");
        assert!(text.contains(needle), "{needle:?} in {text:?}");
    }
    assert_eq!(s.whip.status().sessions, 0, "nothing leaked");
    // Garbage on the WHIP UDP port is dropped.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for n in 0..200u32 {
        let junk: Vec<u8> = (0..(n % 1200 + 1)).map(|i| (i * 7 + n) as u8).collect();
        let _ = sock.send_to(&junk, ("127.0.0.1", s.whip.port));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(s.whip.status().unrouted >= 150, "{:?}", s.whip.status());
    // The other stream still plays.
    let v = whep_viewer(&format!("http://{}/live/t/whep", s.addr), 1.0, &s.token).await;
    assert!(v["frames"].as_u64().unwrap() >= 8, "{v}");
}

/// The MSE viewer's fragments, each with the time it arrived.
async fn mse_fragments(
    addr: SocketAddr,
    secs: f64,
) -> (Vec<u8>, Vec<(std::time::Instant, Vec<u8>)>) {
    let mut v = common::ws_reader::WsViewer::open_with_auth(addr, "cam", &basic_header())
        .await
        .expect("ws viewer");
    let end = std::time::Instant::now() + Duration::from_secs_f64(secs);
    let mut got = Vec::new();
    while std::time::Instant::now() < end {
        // The "no signal" picture comes once a second: a five-second silence is a stall.
        match v.next_fragment(Duration::from_secs(5)).await {
            Ok(Some(f)) => got.push((std::time::Instant::now(), f)),
            other => panic!("the MSE viewer stalled or was dropped: {other:?}"),
        }
    }
    (v.init.clone(), got)
}

/// `(frames decoded, "WxH")` of an fMP4 recording, by ffprobe.
fn probe_frames(bytes: &[u8]) -> (u64, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rec.mp4");
    std::fs::write(&file, bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(&file)
        .output()
        .expect("ffprobe");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let parts: Vec<&str> = text.split(',').collect();
    let n = parts.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    (
        n,
        parts.iter().take(2).copied().collect::<Vec<_>>().join("x"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_that_vanishes_is_reaped_and_viewers_pick_up_the_next() {
    let _one = SERIAL.lock().await;
    let s = serve(&["cam=publish"]).await;
    let base = format!("http://{}", s.addr);
    let whip_url = format!("{base}/live/cam/whip");
    let b = basic();
    // The first publisher never says goodbye: it is killed (SIGKILL), no DELETE, no DTLS close.
    let mut first = tokio::process::Command::new(python())
        .arg(script("whip_publisher.py"))
        .args([&whip_url, "120", "--basic", &b, "--no-delete"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python runs");
    assert!(
        wait_live(&s.reg, "cam", Duration::from_secs(15)).await,
        "the first publisher's video reached the stream"
    );
    const WATCH: f64 = 26.0;
    let whep = tokio::spawn({
        let (url, token) = (format!("{base}/live/cam/whep"), s.token.clone());
        async move {
            let mut cmd = tokio::process::Command::new(python());
            cmd.arg(script("whep_viewer.py"))
                .args([&url, &WATCH.to_string(), "--bearer", &token, "--timeline"])
                .kill_on_drop(true);
            run_json(cmd, WATCH + 40.0).await
        }
    });
    let mse = tokio::spawn(mse_fragments(s.addr, WATCH));
    tokio::time::sleep(Duration::from_secs(4)).await;
    first.start_kill().expect("kill");
    let _ = first.wait().await;
    let killed = std::time::Instant::now();
    let stream = s.reg.stream("cam").unwrap().clone();
    // The picture is "no signal" within the live window; the session is reaped by its timeout.
    let mut reaped = None;
    while killed.elapsed() < Duration::from_secs(25) {
        if s.whip.status().sessions == 0 {
            reaped = Some(killed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!stream.publisher_live(std::time::Instant::now()));
    let reaped = reaped.expect("the vanished publisher's session was reaped within 25 s");
    eprintln!(
        "vanished publisher reaped {:.1} s after the kill",
        reaped.as_secs_f64()
    );
    // A new publisher is accepted (no takeover needed) and the same viewers get its picture.
    let second = publisher(&whip_url, 12.0, &["--basic", &b]);
    assert!(wait_live(&s.reg, "cam", Duration::from_secs(15)).await);
    let back = std::time::Instant::now();
    let whep = whep.await.unwrap();
    assert_eq!(whep["postStatus"], 201, "{whep}");
    let line: Vec<(u64, u64)> = whep["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|b| (b[1].as_u64().unwrap(), b[2].as_u64().unwrap()))
        .collect();
    eprintln!("WHEP viewer, per second (timecoded, no signal): {line:?}");
    assert!(line[0].0 >= 15, "the first publisher's picture: {line:?}");
    let gap = line
        .iter()
        .position(|&(tc, ns)| tc == 0 && ns > 0)
        .unwrap_or_else(|| panic!("no second of \"no signal\" only: {line:?}"));
    // Then the second publisher's picture, on the same connection, for seconds on end.
    let back_run = line[gap..]
        .windows(3)
        .any(|w| w.iter().all(|&(tc, _)| tc >= 15));
    assert!(
        back_run,
        "the second publisher's picture never came: {line:?}"
    );

    let (init, frags) = mse.await.unwrap();
    let late: Vec<u8> = init
        .iter()
        .copied()
        .chain(
            frags
                .iter()
                .filter(|(t, _)| *t > back)
                .flat_map(|(_, f)| f.iter().copied()),
        )
        .collect();
    let (frames, size) = probe_frames(&late);
    eprintln!("MSE viewer after the return: {frames} frames of {size}");
    assert_eq!(size, "640x360");
    assert!(frames >= 30, "{frames} frames after the publisher returned");
    let second = second.await.unwrap();
    assert_eq!(second["postStatus"], 201, "{second}");
    assert_eq!(second["deleteStatus"], 200, "{second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_rtp_inside_a_publish_session_costs_frames_not_the_session() {
    let _one = SERIAL.lock().await;
    let s = serve(&["cam=publish", "t=test:320x240@15"]).await;
    let base = format!("http://{}", s.addr);
    let b = basic();
    // Forged payloads in every fifth frame, packets of a payload type never negotiated, and
    // packets of SSRCs the offer never announced (HS_FORGE: see whip_publisher.py).
    let hostile = {
        let mut cmd = tokio::process::Command::new(python());
        cmd.arg(script("whip_publisher.py"))
            .args([
                &format!("{base}/live/cam/whip"),
                "9",
                "--basic",
                &b,
                "--garbage",
            ])
            .env("HS_FORGE", "payloads,pt,ssrc")
            .kill_on_drop(true);
        tokio::spawn(async move { run_json(cmd, 49.0).await })
    };
    assert!(wait_live(&s.reg, "cam", Duration::from_secs(15)).await);
    let whep = whep_viewer(&format!("{base}/live/cam/whep"), 4.0, &s.token).await;
    let other = whep_viewer(&format!("{base}/live/t/whep"), 1.0, &s.token).await;
    let hostile = hostile.await.unwrap();
    eprintln!("viewer of a hostile publisher: {whep}");
    eprintln!("hostile publisher: {hostile}");
    // The session stays up and the sound is untouched. A frame whose RTP does not
    // depacketize is lost whole (str0m depacketizes per frame), so the picture waits for the
    // next keyframe after each: fewer frames, never a broken one, never going backwards.
    assert_eq!(hostile["postStatus"], 201, "{hostile}");
    assert_eq!(hostile["stateAtEnd"], "connected", "{hostile}");
    assert!(
        hostile["forged"]["payloads"].as_u64().unwrap() >= 200,
        "{hostile}"
    );
    assert!(
        hostile["forged"]["wrongPt"].as_u64().unwrap() >= 50,
        "{hostile}"
    );
    assert!(
        hostile["forged"]["strangerSsrc"].as_u64().unwrap() >= 50,
        "{hostile}"
    );
    assert_eq!(hostile["deleteStatus"], 200, "{hostile}");
    assert_eq!(whep["postStatus"], 201, "{whep}");
    assert!(whep["frames"].as_u64().unwrap() >= 8, "{whep}");
    assert_eq!(whep["backwards"], 0, "{whep}");
    assert!(whep["audioFrames"].as_u64().unwrap() >= 150, "{whep}");
    assert!(whep["beeps"].as_u64().unwrap() >= 2, "{whep}");
    // Another stream's viewer is not affected at all.
    assert!(other["frames"].as_u64().unwrap() >= 8, "{other}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.whip.status().sessions, 0, "{:?}", s.whip.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mjpeg_viewers_and_snapshots_of_a_published_stream() {
    let _one = SERIAL.lock().await;
    let s = serve(&["cam=publish"]).await;
    let auth = basic_header();
    // Published with a token that has the publish scope (a viewer's token gets 403, above).
    let publishing = publisher(
        &format!("http://{}/live/cam/whip", s.addr),
        8.0,
        &["--bearer", &s.publish_token],
    );
    assert!(wait_live(&s.reg, "cam", Duration::from_secs(15)).await);
    // The H.264 is decoded (once) only now that an MJPEG viewer asks.
    let mut mjpeg = common::mjpeg_reader::MjpegStream::open_with_auth(
        s.addr,
        "/live/cam/stream.mjpg",
        true,
        &auth,
    )
    .await
    .expect("MJPEG stream");
    let first = mjpeg
        .next_within(Duration::from_secs(5))
        .await
        .expect("a first picture");
    let start = std::time::Instant::now();
    let mut parts = vec![first];
    while start.elapsed() < Duration::from_secs(3) {
        parts.push(
            mjpeg
                .next_within(Duration::from_secs(2))
                .await
                .expect("part"),
        );
    }
    let (mut sizes, mut timecoded) = (std::collections::BTreeSet::new(), 0);
    for p in &parts {
        let (w, h, rgb) = common::decode_rgb(p.data.as_deref().expect("kept"));
        sizes.insert((w, h));
        timecoded += usize::from(
            homestream_live::source::test_pattern::decode_timecode(&rgb, w, h).is_some(),
        );
    }
    eprintln!(
        "MJPEG of a published stream: {} parts in ~3 s, sizes {sizes:?}, {timecoded} with the publisher's timecode",
        parts.len()
    );
    assert_eq!(sizes.into_iter().collect::<Vec<_>>(), [(640, 360)]);
    assert!(parts.len() >= 45, "{} parts in 3 s", parts.len());
    assert!(
        timecoded * 10 >= parts.len() * 9,
        "{timecoded} of {}",
        parts.len()
    );
    let (status, headers, body) =
        common::mjpeg_reader::get_with_auth(s.addr, "/live/cam/snapshot.jpg", Some(&auth))
            .await
            .expect("snapshot");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    let (w, h, _) = common::decode_rgb(&body);
    assert_eq!((w, h), (640, 360));
    drop(mjpeg);
    assert_eq!(publishing.await.unwrap()["postStatus"], 201);
}
