//! WebSocket (MSE) viewers under load: a viewer that stops reading, and connect/disconnect
//! churn. Memory and file descriptors of the whole process must stay flat.

mod common;

use common::ws_reader::WsViewer;
use std::time::{Duration, Instant};

const SPEC: &str = "t=test:320x240@30";

/// These tests measure the whole process, so they take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A WebSocket client that completes the handshake and then never reads, with a tiny receive
/// buffer: the server's sends back up at once.
async fn stalled_viewer(
    addr: std::net::SocketAddr,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&addr.into()).unwrap();
    sock.set_nonblocking(true).unwrap();
    let tcp = tokio::net::TcpStream::from_std(sock.into()).unwrap();
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/live/t/ws"), tcp)
        .await
        .expect("handshake");
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_stops_reading_is_skipped_then_dropped_and_nobody_else_slows() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (addr, reg, server) = common::serve(&[SPEC], Duration::from_secs(2)).await;
    let mut fast = Vec::new();
    for _ in 0..10 {
        fast.push(WsViewer::open(addr, "t").await.expect("viewer"));
    }
    let stalled = stalled_viewer(addr).await;
    let stream = reg.stream("t").unwrap().clone();
    // Warm up, then measure 12 s: past the 10 s send timeout that drops the stalled viewer.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss0 = common::rss();
    let made0 = stream.av.fmp4.next_seq();
    let tasks: Vec<_> = fast
        .into_iter()
        .map(|mut v| {
            tokio::spawn(async move {
                let mut n = 0u64;
                let end = Instant::now() + Duration::from_secs(12);
                while Instant::now() < end {
                    match v.next_fragment(Duration::from_secs(5)).await {
                        Ok(Some(_)) => n += 1,
                        _ => break,
                    }
                }
                n
            })
        })
        .collect();
    let mut viewers_seen = Vec::new();
    for _ in 0..11 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        viewers_seen.push(stream.viewers().len());
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    let made = stream.av.fmp4.next_seq() - made0;
    let rss1 = common::rss();
    eprintln!(
        "made {made} fragments; readers got {counts:?}; viewers per second {viewers_seen:?}; rss {} -> {} KiB",
        rss0 / 1024,
        rss1 / 1024
    );
    for c in &counts {
        assert!(*c as f64 >= 0.9 * made as f64, "a reader got {c} of {made}");
    }
    assert_eq!(
        viewers_seen[0], 11,
        "the stalled viewer counts while it is connected"
    );
    assert_eq!(
        *viewers_seen.last().unwrap(),
        10,
        "the stalled viewer was dropped: {viewers_seen:?}"
    );
    assert!(
        rss1 < rss0 + 4 * 1024 * 1024,
        "memory grew: {rss0} -> {rss1}"
    );
    drop(stalled);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_websocket_viewers_coming_and_going_leave_nothing_behind() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (addr, reg, server) = common::serve(&[SPEC], Duration::from_secs(30)).await;
    // Warm up: the source open, the encoders made, buffers at their size.
    for _ in 0..50 {
        let mut v = WsViewer::open(addr, "t").await.expect("viewer");
        v.next_fragment(Duration::from_secs(5)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (fds0, rss0) = (common::open_fds(), common::rss());
    let cycles: usize = std::env::var("CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(5000);
    let t0 = Instant::now();
    for i in 0..cycles {
        let mut v = WsViewer::open(addr, "t")
            .await
            .unwrap_or_else(|e| panic!("cycle {i}: {e}"));
        if i % 10 == 0 {
            v.next_fragment(Duration::from_secs(5)).await.unwrap();
        }
    }
    // Let the server notice the last closes.
    let stream = reg.stream("t").unwrap().clone();
    for _ in 0..50 {
        if stream.viewers().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (fds1, rss1) = (common::open_fds(), common::rss());
    eprintln!(
        "{cycles} cycles in {:?}: fds {fds0} -> {fds1}, rss {} -> {} KiB",
        t0.elapsed(),
        rss0 / 1024,
        rss1 / 1024
    );
    assert!(
        stream.viewers().is_empty(),
        "viewers left: {}",
        stream.viewers().len()
    );
    assert_eq!(stream.av.fmp4.consumers(), 0, "hub cursors left behind");
    assert!(fds1 <= fds0 + 2, "fds {fds0} -> {fds1}");
    assert!(
        rss1 < rss0 + 12 * 1024 * 1024,
        "memory grew: {rss0} -> {rss1}"
    );
    server.abort();
}
