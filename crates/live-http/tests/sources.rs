//! Sources and routes: jpegs order and rate, snapshots with a readable timecode, no-signal and
//! recovery, release after the grace period, and answers to bad requests.

mod common;

use common::mjpeg_reader::{MjpegStream, get};
use homestream_live::source::test_pattern::{decode_timecode, encode_jpeg};
use std::time::Duration;

fn solid_jpeg(width: u16, rgb: [u8; 3]) -> Vec<u8> {
    let px: Vec<u8> = rgb
        .iter()
        .copied()
        .cycle()
        .take(width as usize * 64 * 3)
        .collect();
    encode_jpeg(&px, width, 64, 80).expect("encode").to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jpegs_cycle_in_name_order_at_their_rate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        ("b.jpg", solid_jpeg(110, [0, 255, 0])),
        ("a.jpg", solid_jpeg(100, [255, 0, 0])),
        ("c.JPEG", solid_jpeg(120, [0, 0, 255])),
    ];
    for (n, b) in &files {
        std::fs::write(dir.path().join(n), b).expect("write");
    }
    std::fs::write(dir.path().join("notes.txt"), "not a frame").expect("write");
    let spec = format!("j=jpegs:{}@10", dir.path().display());
    let (addr, _reg, server) = common::serve(&[&spec], Duration::from_secs(1)).await;
    let mut s = MjpegStream::open(addr, "/live/j/stream.mjpg", true)
        .await
        .expect("open");
    assert!(
        s.content_type
            .starts_with("multipart/x-mixed-replace; boundary=")
    );
    let order = [&files[1].1, &files[0].1, &files[2].1];
    let mut stamps = Vec::new();
    for i in 0..12 {
        let p = s.next_within(Duration::from_secs(5)).await.expect("part");
        assert_eq!(p.len, order[i % 3].len());
        assert!(
            p.data.as_ref() == Some(order[i % 3]),
            "part {i} is not file {}",
            i % 3
        );
        stamps.push(p.timestamp.expect("X-Timestamp"));
    }
    for w in stamps.windows(2) {
        let dt = w[1] - w[0];
        assert!(
            (0.07..0.13).contains(&dt),
            "frames {dt:.3} s apart at 10 fps"
        );
    }
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_is_a_decodable_jpeg_with_its_timecode() {
    let (addr, _reg, server) = common::serve(&["t=test:320x240@30"], Duration::from_secs(1)).await;
    for path in ["/live/t/snapshot.jpg", "/live/t/?action=snapshot"] {
        let (status, headers, body) = get(addr, path).await.expect("get");
        assert_eq!(status, 200, "{path}");
        assert_eq!(headers["content-type"], "image/jpeg");
        let ts: f64 = headers["x-timestamp"].to_str().unwrap().parse().unwrap();
        let (w, h, rgb) = common::decode_rgb(&body);
        assert_eq!((w, h), (320, 240));
        let tc = decode_timecode(&rgb, w, h).expect("timecode readable from the pixels");
        assert_eq!(
            tc.unix_ms,
            (ts * 1000.0).floor() as u64,
            "timecode = X-Timestamp"
        );
    }
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_frames_carry_increasing_timecodes_and_fps_limit_works() {
    let (addr, reg, server) = common::serve(&["t=test:320x240@30"], Duration::from_secs(1)).await;
    let mut s = MjpegStream::open(addr, "/live/t/stream.mjpg", true)
        .await
        .expect("open");
    let mut last = None;
    for _ in 0..10 {
        let p = s.next_within(Duration::from_secs(5)).await.expect("part");
        let (w, h, rgb) = common::decode_rgb(p.data.as_deref().expect("data"));
        let tc = decode_timecode(&rgb, w, h).expect("timecode");
        let ts = p.timestamp.expect("ts");
        assert_eq!(tc.unix_ms, (ts * 1000.0).floor() as u64);
        if let Some(prev) = last {
            assert!(tc.frame > prev, "frame numbers increase");
        }
        last = Some(tc.frame);
    }
    // ?fps=5: about five parts a second, told by capture times.
    let mut capped = MjpegStream::open(addr, "/live/t/stream.mjpg?fps=5", false)
        .await
        .expect("open");
    let mut stamps = Vec::new();
    for _ in 0..8 {
        stamps.push(
            capped
                .next_within(Duration::from_secs(5))
                .await
                .expect("part")
                .timestamp
                .unwrap(),
        );
    }
    let rate = 7.0 / (stamps[7] - stamps[0]);
    assert!((4.0..6.0).contains(&rate), "?fps=5 gave {rate:.2} fps");
    let st = reg.status();
    let caps: Vec<_> = st[0]["viewer_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["fps_cap"].clone())
        .collect();
    assert!(
        caps.contains(&serde_json::json!(5.0)),
        "status lists the cap: {caps:?}"
    );
    assert_eq!(st[0]["resolution"], "320x240");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_source_shows_no_signal_and_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = format!("j=jpegs:{}@10", dir.path().display());
    let (addr, reg, server) = common::serve(&[&spec], Duration::from_secs(1)).await;
    let mut s = MjpegStream::open(addr, "/live/j/stream.mjpg", true)
        .await
        .expect("open");
    let p = s
        .next_within(Duration::from_secs(5))
        .await
        .expect("a no-signal part");
    let (w, h, _) = common::decode_rgb(p.data.as_deref().unwrap());
    assert_eq!((w, h), (640, 360), "no-signal frame");
    assert_eq!(reg.status()[0]["state"], "no_signal");
    let frame = solid_jpeg(100, [255, 255, 0]);
    std::fs::write(dir.path().join("x.jpg"), &frame).expect("write");
    let mut recovered = false;
    for _ in 0..100 {
        let p = s.next_within(Duration::from_secs(5)).await.expect("part");
        if p.data.as_deref() == Some(&frame[..]) {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "the stream came back by itself");
    assert_eq!(reg.status()[0]["state"], "live");
    drop(s);
    // Released after the grace period with no viewers.
    let mut idle = false;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if reg.status()[0]["state"] == "idle" {
            idle = true;
            break;
        }
    }
    assert!(idle, "source released: {}", reg.status());
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_pages_aliases_and_bad_requests() {
    let (addr, _reg, server) = common::serve(&["t=test:160x120@10"], Duration::from_secs(1)).await;
    let (st, h, body) = get(addr, "/live/t/").await.unwrap();
    assert_eq!(st, 200);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains(r#"<video id="video""#), "MSE player");
    assert!(html.contains(r#"<img id="live""#), "MJPEG fallback");
    assert!(
        html.contains("new WebSocket") && html.contains("stream.mjpg"),
        "script inlined"
    );
    assert!(html.contains("viewport"));
    let (st, h, _) = get(addr, "/live/t").await.unwrap();
    assert_eq!((st, h["location"].to_str().unwrap()), (308, "/live/t/"));
    assert_eq!(get(addr, "/live/nope/stream.mjpg").await.unwrap().0, 404);
    assert_eq!(get(addr, "/live/nope/").await.unwrap().0, 404);
    assert_eq!(get(addr, "/live/t/stream.mjpg?fps=0").await.unwrap().0, 400);
    assert_eq!(
        get(addr, "/live/t/stream.mjpg?fps=abc").await.unwrap().0,
        400
    );
    assert_eq!(get(addr, "/live/t/?action=dance").await.unwrap().0, 400);
    let (st, _, body) = get(addr, "/live/t/status.json").await.unwrap();
    assert_eq!(st, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["name"], "t");
    let mut s = MjpegStream::open(addr, "/live/t/?action=stream", false)
        .await
        .expect("alias");
    s.next_within(Duration::from_secs(5))
        .await
        .expect("part via ?action=stream");
    server.abort();
}

#[test]
fn bad_specs_are_refused_with_the_option_named() {
    use homestream_live::{LiveRegistry, LiveSpec};
    assert!(
        "nameonly"
            .parse::<LiveSpec>()
            .unwrap_err()
            .contains("NAME=SOURCE")
    );
    assert!("a b=test".parse::<LiveSpec>().is_err());
    assert!("x=test:1x1".parse::<LiveSpec>().is_err());
    let dup = [
        LiveSpec {
            name: "a".into(),
            source: "test".into(),
        },
        LiveSpec {
            name: "a".into(),
            source: "test".into(),
        },
    ];
    let e = LiveRegistry::start(&dup).unwrap_err().to_string();
    assert!(e.contains("twice"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absent_camera_is_reported_clearly() {
    let (addr, reg, server) = common::serve(&["cam=camera:7"], Duration::from_secs(1)).await;
    let mut s = MjpegStream::open(addr, "/live/cam/stream.mjpg", false)
        .await
        .expect("open");
    s.next_within(Duration::from_secs(5))
        .await
        .expect("no-signal part");
    let st = reg.status();
    assert_eq!(st[0]["state"], "no_signal");
    let err = st[0]["last_error"].as_str().unwrap_or_default().to_string();
    assert!(
        err.contains("camera 7") && (err.contains("no cameras") || err.contains("not found")),
        "{err}"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_re_serves_another_stream_byte_for_byte() {
    let (up, up_rt) = std::thread::spawn(|| common::serve_detached(&["t=test:320x240@30"]))
        .join()
        .expect("upstream");
    let spec = format!("r=mjpeg:http://{up}/live/t/stream.mjpg");
    let (addr, reg, server) = common::serve(&[&spec], Duration::from_secs(1)).await;
    let mut s = MjpegStream::open(addr, "/live/r/stream.mjpg", true)
        .await
        .expect("open");
    let mut frames = Vec::new();
    for _ in 0..40 {
        let p = s.next_within(Duration::from_secs(10)).await.expect("part");
        let (w, h, rgb) = common::decode_rgb(p.data.as_deref().unwrap());
        if let Some(tc) = decode_timecode(&rgb, w, h) {
            // The relay keeps the upstream capture time.
            assert_eq!(tc.unix_ms, (p.timestamp.unwrap() * 1000.0).floor() as u64);
            frames.push(tc.frame);
        }
    }
    assert!(
        frames.len() >= 30,
        "relayed test-pattern frames: {frames:?}"
    );
    assert!(
        frames.windows(2).all(|w| w[1] > w[0]),
        "in order: {frames:?}"
    );
    assert_eq!(reg.status()[0]["state"], "live");
    assert_eq!(reg.status()[0]["resolution"], "320x240");
    // Upstream gone: the relay shows no signal instead of ending the viewer's stream.
    up_rt.shutdown_background();
    let mut no_signal = false;
    for _ in 0..100 {
        let p = s.next_within(Duration::from_secs(10)).await.expect("part");
        let (w, h, _) = common::decode_rgb(p.data.as_deref().unwrap());
        if (w, h) == (320, 240) && reg.status()[0]["state"] == "no_signal" {
            no_signal = true;
            break;
        }
    }
    assert!(no_signal, "{}", reg.status());
    server.abort();
}
