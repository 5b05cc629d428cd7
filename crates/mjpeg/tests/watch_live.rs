//! `watch` (the logic behind `homestream watch`) and the client against a test server on
//! loopback that writes streams with homestream's writer at 30 fps, and against hostile ones.

mod common;

use common::{frames, send_status, send_writer_stream, spawn};
use homestream_mjpeg::cli::Exit;
use homestream_mjpeg::watch::{Stop, WatchOptions, frame_file_name};
use homestream_mjpeg::{Auth, Client, Error, Limits, watch};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn reports_30_fps_and_saves_frames_byte_exact() {
    let want = frames(90);
    let sent = want.clone();
    let server = spawn(move |s, _, _| {
        let sent = sent.clone();
        async move { send_writer_stream(s, &sent, 30.0).await }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut o = WatchOptions::new(server.url("/live/demo/stream.mjpg"));
    o.frames = Some(60);
    o.save_dir = Some(dir.path().to_owned());
    o.tick = Duration::from_millis(500);
    let mut ticks = Vec::new();
    let summary = watch(&o, |s| ticks.push(s.clone())).await.expect("watch");
    assert_eq!(summary.stop, Stop::Frames);
    assert_eq!(summary.stats.frames, 60);
    assert_eq!(summary.saved.len(), 60);
    for (i, f) in want.iter().take(60).enumerate() {
        let path = dir.path().join(frame_file_name(i as u64 + 1));
        assert_eq!(
            &std::fs::read(&path).unwrap(),
            f,
            "{} differs",
            path.display()
        );
    }
    let fps = summary.stats.avg_fps;
    assert!(
        (27.0..=33.0).contains(&fps),
        "average fps {fps} is not about 30"
    );
    let last_second = ticks.last().expect("ticks").fps;
    assert!(
        (24.0..=36.0).contains(&last_second),
        "fps over the last second {last_second} is not about 30"
    );
    let delay = summary.stats.delay_ms.expect("X-Timestamp delay");
    assert!((0.0..1000.0).contains(&delay), "delay {delay} ms");
    assert_eq!(
        summary.stats.bytes,
        want.iter().take(60).map(|f| f.len() as u64).sum::<u64>()
    );
}

#[tokio::test]
async fn stream_end_is_reported_and_its_last_frame_kept() {
    // The seed's Flask format: no Content-Length, so the last frame ends only at the close.
    let want = frames(5);
    let sent = want.clone();
    let server = spawn(move |mut s, _, _| {
        let sent = sent.clone();
        async move {
            let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n".to_vec();
            for f in &sent {
                out.extend_from_slice(b"--frame\r\nContent-Type: image/jpeg\r\n\r\n");
                out.extend_from_slice(f);
                out.extend_from_slice(b"\r\n");
            }
            let _ = s.write_all(&out).await;
            let _ = s.shutdown().await;
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut o = WatchOptions::new(server.url("/video_feed"));
    o.save_dir = Some(dir.path().to_owned());
    let summary = watch(&o, |_| {}).await.expect("watch");
    assert_eq!(summary.stop, Stop::Ended);
    assert_eq!(summary.saved.len(), 5);
    assert_eq!(std::fs::read(&summary.saved[4]).unwrap(), want[4]);
}

#[tokio::test]
async fn chunked_transfer_coding_over_a_real_socket() {
    let want = frames(12);
    let sent = want.clone();
    let server = spawn(move |mut s, _, _| {
        let sent = sent.clone();
        async move {
            let mut body = Vec::new();
            for f in &sent {
                body.extend_from_slice(&homestream_mjpeg::writer::part_head(
                    "image/jpeg",
                    f.len(),
                    None,
                ));
                body.extend_from_slice(f);
                body.extend_from_slice(homestream_mjpeg::writer::PART_END);
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
                homestream_mjpeg::writer::content_type()
            );
            let _ = s.write_all(head.as_bytes()).await;
            // Chunks of 1..=1500 bytes that cut through headers, bodies and delimiters.
            let (mut at, mut n) = (0, 1);
            while at < body.len() {
                let end = (at + n).min(body.len());
                let mut chunk = format!("{:x}\r\n", end - at).into_bytes();
                chunk.extend_from_slice(&body[at..end]);
                chunk.extend_from_slice(b"\r\n");
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
                s.flush().await.ok();
                at = end;
                n = n * 7 % 1501;
            }
            let _ = s.write_all(b"0\r\n\r\n").await;
        }
    })
    .await;
    let client = Client::new(homestream_mjpeg::Options::new(server.url("/s.mjpg"))).unwrap();
    let mut stream = client.connect().await.expect("connect");
    let mut got = Vec::new();
    while let Some(f) = stream.next_frame().await {
        let f = f.expect("frame");
        assert_eq!(f.seq, got.len() as u64);
        got.push(f.data.to_vec());
    }
    assert_eq!(got, want);
}

/// Auth and request headers: the server wants `X-Key: k1` and basic me:secret or bearer tok123.
#[tokio::test]
async fn basic_bearer_and_custom_headers() {
    let want = frames(2);
    let sent = want.clone();
    let server = spawn(move |s, head, _| {
        let sent = sent.clone();
        async move {
            let h = head.to_ascii_lowercase();
            let authed = h.contains("authorization: basic bwu6c2vjcmv0\r\n")
                || h.contains("authorization: bearer tok123\r\n");
            if authed && h.contains("x-key: k1\r\n") {
                send_writer_stream(s, &sent, 100.0).await
            } else {
                send_status(s, "401 Unauthorized", "text/plain", "no").await
            }
        }
    })
    .await;
    let key = || vec![("x-key".parse().unwrap(), "k1".parse().unwrap())];
    let run = |url: String, auth: Option<Auth>| {
        let mut o = WatchOptions::new(url);
        o.client.auth = auth;
        o.client.headers = key();
        async move { watch(&o, |_| {}).await }
    };
    let e = run(server.url("/s"), None).await.unwrap_err();
    assert!(matches!(e, Error::AuthRefused { .. }), "{e}");
    assert_eq!(Exit::of(&e), Exit::AuthRefused);
    let wrong = Some(Auth::Basic {
        user: "me".into(),
        password: "nope".into(),
    });
    assert!(matches!(
        run(server.url("/s"), wrong).await,
        Err(Error::AuthRefused { .. })
    ));
    let url_auth = format!("http://me:secret@{}/s", server.addr);
    assert_eq!(
        run(url_auth, None)
            .await
            .expect("basic in URL")
            .stats
            .frames,
        2
    );
    let basic = Some(Auth::Basic {
        user: "me".into(),
        password: "secret".into(),
    });
    assert_eq!(
        run(server.url("/s"), basic)
            .await
            .expect("basic")
            .stats
            .frames,
        2
    );
    let bearer = Some(Auth::Bearer("tok123".into()));
    assert_eq!(
        run(server.url("/s"), bearer)
            .await
            .expect("bearer")
            .stats
            .frames,
        2
    );
    // The password never shows in messages.
    let e = run(format!("http://me:hunter2@{}/s", server.addr), None)
        .await
        .unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[tokio::test]
async fn errors_map_to_distinct_exit_codes() {
    let server = spawn(|s, head, _| async move {
        if head.starts_with("GET /html ") {
            send_status(s, "200 OK", "text/html", "<!DOCTYPE html><p>hi</p>").await
        } else if head.starts_with("GET /silent ") {
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(s)
        } else if head.starts_with("GET /big ") {
            let mut s = s;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=b\r\n\r\n--b\r\nContent-Length: 5000\r\n\r\n")
                .await;
            let _ = s.write_all(&[0u8; 5000]).await;
        } else {
            send_status(s, "404 Not Found", "text/plain", "no").await
        }
    })
    .await;
    let code = |url: String, f: fn(&mut WatchOptions)| async move {
        let mut o = WatchOptions::new(url);
        f(&mut o);
        let e = watch(&o, |_| {}).await.expect_err("should fail");
        (Exit::of(&e), e.to_string())
    };
    let (c, m) = code(server.url("/html"), |_| {}).await;
    assert_eq!(c, Exit::NotMultipart, "{m}");
    assert!(m.contains("text/html"), "{m}");
    assert_eq!(
        code(server.url("/nothing"), |_| {}).await.0,
        Exit::HttpStatus
    );
    let (c, m) = code(server.url("/big"), |o| {
        o.client.limits = Limits {
            max_part: 1000,
            max_headers: 1000,
        }
    })
    .await;
    assert_eq!(c, Exit::Malformed, "{m}");
    assert!(m.contains("1000-byte limit"), "{m}");
    let (c, m) = code(server.url("/silent"), |o| {
        o.client.read_timeout = Duration::from_millis(300)
    })
    .await;
    assert_eq!(c, Exit::Unreachable, "{m}");
    // A port nobody listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (c, m) = code(format!("http://{free}/x"), |_| {}).await;
    assert_eq!(c, Exit::Unreachable, "{m}");
}

#[tokio::test]
async fn duration_and_snapshot_stop_watching() {
    let sent = frames(300);
    let server = spawn(move |s, _, _| {
        let sent = sent.clone();
        async move { send_writer_stream(s, &sent, 30.0).await }
    })
    .await;
    let mut o = WatchOptions::new(server.url("/s"));
    o.duration = Some(Duration::from_millis(700));
    let t = std::time::Instant::now();
    let s = watch(&o, |_| {}).await.unwrap();
    assert_eq!(s.stop, Stop::Duration);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        s.stats.frames >= 5 && s.stats.frames < 60,
        "{} frames in 0.7 s",
        s.stats.frames
    );

    let dir = tempfile::tempdir().unwrap();
    let mut o = WatchOptions::new(server.url("/s"));
    o.snapshot = Some(dir.path().join("one.jpg"));
    let s = watch(&o, |_| {}).await.unwrap();
    assert_eq!(s.stop, Stop::Snapshot);
    assert_eq!(
        std::fs::read(dir.path().join("one.jpg")).unwrap(),
        frames(1)[0]
    );
}
