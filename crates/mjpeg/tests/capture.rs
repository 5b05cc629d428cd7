//! `Capture`: newest frame for slow readers, reconnects with backoff, stops on refusal.

mod common;

use common::{frames, send_status, send_writer_stream, spawn};
use futures_util::StreamExt;
use homestream_mjpeg::capture::Status;
use homestream_mjpeg::{Backoff, Capture, Error, Options};
use std::time::Duration;

#[tokio::test]
async fn slow_reader_gets_the_newest_frame_and_skips_the_rest() {
    let want = frames(150);
    let sent = want.clone();
    let server = spawn(move |s, _, _| {
        let sent = sent.clone();
        async move { send_writer_stream(s, &sent, 30.0).await }
    })
    .await;
    let mut cap = Capture::open(Options::new(server.url("/s")))
        .await
        .expect("open");
    assert!(cap.is_open());
    let first = cap.read().await.expect("first frame");
    let mut last = first.seq;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let newest = cap.latest().expect("latest").seq;
        let f = cap.read().await.expect("read");
        assert!(
            f.seq >= newest,
            "read gave {} but {} was already in",
            f.seq,
            newest
        );
        assert!(
            f.seq >= last + 3,
            "a reader 250 ms late should skip frames: {} after {}",
            f.seq,
            last
        );
        assert_eq!(
            f.data[..],
            want[f.seq as usize][..],
            "frame {} is not byte-exact",
            f.seq
        );
        last = f.seq;
    }
    cap.release();
    assert!(!cap.is_open());
    assert!(matches!(cap.read().await, Err(Error::Released)));
}

#[tokio::test]
async fn reconnects_with_backoff_and_stops_when_refused() {
    let want = frames(10);
    let sent = want.clone();
    let server = spawn(move |s, _, conn| {
        let sent = sent.clone();
        async move {
            match conn {
                0 => send_writer_stream(s, &sent[..5], 200.0).await,
                1 => send_status(s, "503 Service Unavailable", "text/plain", "busy").await,
                2 => send_writer_stream(s, &sent[5..], 200.0).await,
                _ => send_status(s, "401 Unauthorized", "text/plain", "no").await,
            }
        }
    })
    .await;
    let mut o = Options::new(server.url("/s"));
    o.backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        max_attempts: Some(5),
    };
    let mut cap = Capture::open(o).await.expect("open");
    let mut seen = Vec::new();
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(10), cap.read())
            .await
            .expect("read within 10 s")
        {
            Ok(f) => {
                assert_eq!(
                    f.data[..],
                    want[f.seq as usize][..],
                    "seq {} keeps counting across reconnects",
                    f.seq
                );
                seen.push(f.seq);
            }
            Err(e) => break e,
        }
    };
    assert!(matches!(err, Error::AuthRefused { .. }), "{err}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(
        seen.last(),
        Some(&9),
        "the last frame of the second connection arrives: {seen:?}"
    );
    assert_eq!(cap.status(), Status::Stopped);
    assert!(!cap.is_open());
    assert_eq!(server.requests.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn frames_stream_yields_ever_newer_frames() {
    let sent = frames(60);
    let server = spawn(move |s, _, _| {
        let sent = sent.clone();
        async move { send_writer_stream(s, &sent, 60.0).await }
    })
    .await;
    let mut o = Options::new(server.url("/s"));
    o.backoff.max_attempts = Some(0);
    let cap = Capture::open(o).await.expect("open");
    let seqs: Vec<u64> = cap.frames().map(|f| f.seq).collect().await;
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(seqs.last(), Some(&59), "{seqs:?}");
}

#[tokio::test]
async fn open_reports_refusal_at_once() {
    let server =
        spawn(|s, _, _| async move { send_status(s, "403 Forbidden", "text/plain", "no").await })
            .await;
    assert!(matches!(
        Capture::open(Options::new(server.url("/s"))).await,
        Err(Error::AuthRefused { .. })
    ));
}
