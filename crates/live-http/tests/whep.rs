//! WHEP over loopback: a real aiortc viewer (PyPI, with PyAV decoding H.264 and Opus) pulls
//! the `test` stream, and hostile offers get a 4xx with a reason while the server keeps
//! serving.

mod common;
#[path = "common/str0m_viewer.rs"]
mod str0m_viewer;

use homestream_live::{LiveOptions, LiveRegistry, LiveSpec};
use homestream_live_http::whep::{Whep, WhepConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

async fn serve(specs: &[&str]) -> (SocketAddr, Arc<LiveRegistry>, Arc<Whep>) {
    serve_with(specs, WhepConfig::default()).await
}

async fn serve_with(
    specs: &[&str],
    config: WhepConfig,
) -> (SocketAddr, Arc<LiveRegistry>, Arc<Whep>) {
    let specs: Vec<LiveSpec> = specs.iter().map(|s| s.parse().expect("spec")).collect();
    let reg = LiveRegistry::start_with(
        &specs,
        LiveOptions {
            grace: Duration::from_secs(1),
        },
    )
    .expect("registry");
    let whep = Whep::start(WhepConfig {
        addrs: config
            .addrs
            .clone()
            .or_else(|| Some(vec!["127.0.0.1".parse().unwrap()])),
        ..config.clone()
    })
    .await
    .expect("UDP port");
    let mut app = homestream_live_http::router(&reg);
    for (path, mr) in homestream_live_http::whep::routes(&whep, &reg) {
        app = app.route(path, mr);
    }
    let http_ip = match &config.addrs {
        Some(a) if a.iter().all(|ip| ip.is_ipv6()) => "[::1]:0",
        _ => "127.0.0.1:0",
    };
    let listener = tokio::net::TcpListener::bind(http_ip).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, reg, whep)
}

/// The venv `scripts/test.sh` makes for aiortc, beside the target dir.
fn aiortc_python() -> PathBuf {
    if let Ok(p) = std::env::var("HS_AIORTC_PYTHON") {
        return p.into();
    }
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../aiortc-venv/bin/python")
}

async fn whep_viewer(url: &str, secs: &str) -> serde_json::Value {
    let python = aiortc_python();
    assert!(
        python.exists(),
        "{} is missing: bash scripts/test.sh installs aiortc into it",
        python.display()
    );
    let script = homestream_test_support::workspace_root().join("tests/webrtc/whep_viewer.py");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(&python)
            .arg(script)
            .args([url, secs])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("whep_viewer.py finished in time")
    .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "whep_viewer.py failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("whep_viewer.py printed no JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiortc_pulls_the_test_stream_over_whep() {
    let (addr, reg, whep) = serve(&["demo=test:640x360@30"]).await;
    let url = format!("http://{addr}/live/demo/whep");
    let seen = whep_viewer(&url, "6").await;
    eprintln!("{seen:#}");
    eprintln!("webrtc status: {:#}", whep.status_json());
    assert_eq!(seen["postStatus"], 201, "{seen}");
    assert_eq!(seen["contentType"], "application/sdp");
    let loc = seen["location"].as_str().expect("Location");
    assert!(
        loc.starts_with("/live/demo/whep/") && loc.len() == 16 + 32,
        "{loc}"
    );
    let codecs: Vec<&str> = seen["answerCodecs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert!(
        codecs.contains(&"H264") && codecs.contains(&"opus"),
        "{codecs:?}"
    );
    assert_eq!(seen["size"], serde_json::json!([640, 360]));
    // A loaded machine (CI, other builds) slows the source itself: the check that nothing is
    // lost on the way is frames decoded against source frames, just below.
    let fps = seen["fps"].as_f64().unwrap();
    assert!(
        (20.0..=33.0).contains(&fps),
        "decoded {fps} fps of a 30 fps source"
    );
    let source = seen["sourceFrames"].as_f64().unwrap();
    let frames = seen["frames"].as_f64().unwrap();
    assert!(
        frames >= source * 0.95,
        "decoded {frames} of {source} source frames"
    );
    assert_eq!(seen["backwards"], 0);
    // bench/ holds the latency targets (p95 < 100 ms); here the bound only catches a queue
    // (a viewer behind by seconds), with room for a debug build on a busy machine.
    let p50 = seen["latencyP50"].as_f64().expect("latency from timecodes");
    let p95 = seen["latencyP95"].as_f64().unwrap();
    assert!(
        p50 > 0.0 && p50 < 150.0 && p95 < 400.0,
        "glass-to-glass p50 {p50} p95 {p95} ms"
    );
    assert!(seen["beeps"].as_u64().unwrap() >= 5, "beeps heard: {seen}");
    assert_eq!(seen["audioRate"], 48000);
    assert!(
        seen["audioFrames"].as_u64().unwrap() >= 250,
        "20 ms Opus frames for 6 s"
    );
    assert_eq!(seen["deleteStatus"], 200);
    assert_eq!(seen["deleteAgainStatus"], 404);
    assert!(seen["framesAfterDelete"].as_u64().unwrap() <= 2, "{seen}");
    // The session is gone from the table and from the stream's viewers.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let st = whep.status();
    assert_eq!(
        (st.sessions, st.totals.created, st.totals.deleted),
        (0, 1, 1)
    );
    assert_eq!(reg.stream("demo").unwrap().viewers().len(), 0);
}

async fn post(addr: SocketAddr, path: &str, ctype: &str, body: Vec<u8>) -> (u16, String) {
    let c = reqwest_like(addr, "POST", path, Some(ctype), body).await;
    (c.0, String::from_utf8_lossy(&c.2).into_owned())
}

/// A minimal HTTP/1.1 client over hyper (the tests' usual one reads streams, not requests
/// with bodies).
async fn reqwest_like(
    addr: SocketAddr,
    method: &str,
    path: &str,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> (u16, hyper::HeaderMap, Vec<u8>) {
    use http_body_util::{BodyExt, Full};
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
        .await
        .expect("handshake");
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    if let Some(c) = ctype {
        req = req.header("content-type", c);
    }
    let req = req
        .body(Full::new(bytes::Bytes::from(body)))
        .expect("request");
    let res = send.send_request(req).await.expect("response");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    conn.abort();
    (status, headers, body)
}

const CHROMIUM: &str = include_str!("../../webrtc/testdata/chromium-recvonly.sdp");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_offers_get_a_4xx_with_a_reason_and_nothing_leaks() {
    let (addr, reg, whep) = serve(&["demo=test:320x240@15"]).await;
    let sdp = "application/sdp";
    let vp8_only: String = CHROMIUM
        .lines()
        .filter(|l| !l.contains("H264") && !l.contains("opus"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let mut huge = CHROMIUM.to_string();
    while huge.len() < 200_000 {
        huge.push_str("a=x-padding:0123456789abcdef0123456789abcdef\r\n");
    }
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("empty", sdp, vec![], 400, "no SDP offer"),
        ("huge", sdp, huge.into_bytes(), 413, "larger than"),
        ("binary garbage", sdp, garbage, 400, "not"),
        (
            "json",
            sdp,
            br#"{"type":"offer","sdp":"v=0"}"#.to_vec(),
            400,
            "v=0",
        ),
        (
            "no media",
            sdp,
            b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n".to_vec(),
            422,
            "no audio or video",
        ),
        (
            "unknown codecs only",
            sdp,
            vp8_only.into_bytes(),
            422,
            "neither H.264 video nor Opus",
        ),
        (
            "sendonly",
            sdp,
            CHROMIUM.replace("a=recvonly", "a=sendonly").into_bytes(),
            422,
            "does not receive",
        ),
        (
            "wrong type",
            "text/plain",
            CHROMIUM.as_bytes().to_vec(),
            415,
            "application/sdp",
        ),
    ];
    let fds_before = common::open_fds();
    for round in 0..3 {
        for (what, ctype, body, want, reason) in &cases {
            let (status, text) = post(addr, "/live/demo/whep", ctype, body.clone()).await;
            assert_eq!(status, *want, "{what}: {text}");
            assert!(
                text.contains(reason),
                "{what}: {text:?} should say {reason:?}"
            );
            if round == 0 {
                eprintln!("{what}: {status} {}", text.trim());
            }
        }
    }
    // No stream by that name; DELETE of a session that does not exist; PATCH; preflight.
    let (status, _) = post(addr, "/live/nope/whep", sdp, CHROMIUM.as_bytes().to_vec()).await;
    assert_eq!(status, 404);
    let (status, _, _) = reqwest_like(
        addr,
        "DELETE",
        &format!("/live/demo/whep/{}", "0".repeat(32)),
        None,
        vec![],
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) =
        reqwest_like(addr, "DELETE", "/live/demo/whep/../../x", None, vec![]).await;
    assert!((400..500).contains(&status));
    let (status, h, _) = reqwest_like(
        addr,
        "PATCH",
        &format!("/live/demo/whep/{}", "0".repeat(32)),
        Some("application/trickle-ice-sdpfrag"),
        b"a=end-of-candidates\r\n".to_vec(),
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(h["allow"], "OPTIONS, DELETE");
    let (status, h, _) = reqwest_like(addr, "OPTIONS", "/live/demo/whep", None, vec![]).await;
    assert_eq!(status, 204);
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert_eq!(h["accept-post"], "application/sdp");
    assert!(h.get("link").is_none(), "no --ice-server, no Link: {h:?}");
    // Nothing was made, nothing is held: no session, no viewer, no descriptor.
    assert_eq!(whep.status().totals.created, 0);
    assert_eq!(reg.stream("demo").unwrap().viewers().len(), 0);
    // 27 refused requests above: a descriptor per request kept would show. (The other test of
    // this file runs beside this one and opens a few of its own, hence the margin.)
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fds_after = common::open_fds();
    assert!(
        fds_after <= fds_before + 10,
        "descriptors leaked: {fds_before} -> {fds_after}"
    );
    // A real offer still works: 201 and an answer with H.264 and Opus.
    let (status, text) = post(addr, "/live/demo/whep", sdp, CHROMIUM.as_bytes().to_vec()).await;
    assert_eq!(status, 201, "{text}");
    assert!(
        text.contains("H264/90000") && text.contains("opus/48000/2"),
        "{text}"
    );
    assert!(
        text.contains("a=candidate:") && text.contains("127.0.0.1"),
        "{text}"
    );
    assert_eq!(whep.status().sessions, 1);
}

/// `--ice-server`s reach players as WHEP's `Link: <URL>; rel="ice-server"` on `OPTIONS`
/// (the live page reads them there before it makes its RTCPeerConnection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_servers_are_link_headers_on_options() {
    let config = WhepConfig {
        ice_servers: vec![
            "stun:stun.example.net:3478".parse().unwrap(),
            "turn:alice:s3cret@turn.example.net?transport=tcp"
                .parse()
                .unwrap(),
        ],
        ..WhepConfig::default()
    };
    let (addr, _reg, _whep) = serve_with(&["demo=test:320x240@10"], config).await;
    let (status, h, _) = reqwest_like(addr, "OPTIONS", "/live/demo/whep", None, vec![]).await;
    assert_eq!(status, 204);
    let links: Vec<&str> = h
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        links,
        [
            r#"<stun:stun.example.net:3478>; rel="ice-server""#,
            r#"<turn:turn.example.net?transport=tcp>; rel="ice-server"; username="alice"; credential="s3cret"; credential-type="password""#,
        ]
    );
}

/// A viewer on IPv6 loopback: the answer offers the server's IPv6 socket (and only it, since
/// that is all it was given), ICE and DTLS complete over IPv6, and video and audio arrive at
/// the source rate. The viewer is str0m (tests/common/str0m_viewer.rs) bound to [::1].
#[tokio::test]
async fn a_viewer_on_ipv6_loopback_connects_over_ipv6() {
    let config = WhepConfig {
        addrs: Some(vec!["::1".parse().unwrap()]),
        ..WhepConfig::default()
    };
    let (addr, _reg, whep) = serve_with(&["demo=test:320x240@30"], config).await;
    assert!(addr.is_ipv6(), "{addr}");
    assert!(
        whep.local
            .iter()
            .all(|a| a.ip() == "::1".parse::<std::net::IpAddr>().unwrap()),
        "{:?}",
        whep.local
    );
    let url = format!("http://{addr}/live/demo/whep");
    let (answer, frames, audio) = tokio::task::spawn_blocking(move || {
        let http = reqwest::blocking::Client::new();
        let mut j = str0m_viewer::join(&http, &url, Duration::from_secs(10)).expect("joined");
        let (mut frames, mut audio) = (0u32, 0u32);
        let until = std::time::Instant::now() + Duration::from_secs(3);
        let opus = j.opus_pt;
        str0m_viewer::drive(&mut j, until, &mut |e, _| {
            if let str0m::Event::RtpPacket(p) = e {
                if *p.header.payload_type == opus {
                    audio += 1;
                } else if p.header.marker {
                    frames += 1;
                }
            }
            false
        })
        .expect("driven");
        let _ = http.delete(&j.session_url).send();
        (j.answer, frames, audio)
    })
    .await
    .unwrap();
    let candidates: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    assert!(
        !candidates.is_empty() && candidates.iter().all(|c| c.contains(" ::1 ")),
        "{candidates:?}"
    );
    // 3 s of a 30 fps source and 20 ms Opus frames, with room for a loaded machine.
    assert!(frames >= 60, "{frames} video frames over IPv6 in 3 s");
    assert!(audio >= 100, "{audio} Opus packets over IPv6 in 3 s");
    assert_eq!(whep.status().totals.created, 1);
}
