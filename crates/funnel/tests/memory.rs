//! The funnel's memory bound, measured on the process (its resident set), not on the planner's
//! own count of held bytes. Its own test binary, so that no other test's buffers share the
//! process while it measures.

mod common;

use common::origin::TestOrigin;
use common::{Funnel, cfg, player, sha};
use futures_util::StreamExt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

/// This process's resident set in bytes (Linux `/proc/self/status`, `VmRSS`).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    assert!(kb > 0, "VmRSS read as 0");
    kb * 1024
}

/// A player that stops reading for a while: the funnel must stop fetching once its budget is
/// full, so the process grows by about the budget, not by the file. Then the whole file must
/// still arrive intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_player_does_not_make_the_process_grow() {
    let size = 192 * MIB;
    let o = TestOrigin::start(size, 0).await;
    let (piece, block, blocks, conns) = (256 << 10, MIB, 2, 4);
    let budget = blocks * block + conns as u64 * piece;
    let f = Funnel::start(&o.url("/v.bin"), cfg(conns, piece, block, blocks)).await;
    let r = player().get(f.url()).send().await.unwrap();
    let mut stream = r.bytes_stream();
    let first = stream.next().await.unwrap().unwrap();
    let sent = || -> u64 { o.seen().iter().map(|s| s.sent.load(Ordering::SeqCst)).sum() };
    let base = rss();
    // Paused: watch the process until the origin has sent nothing more for half a second.
    let mut peak = base;
    let (mut last, mut quiet_since, t0) = (sent(), Instant::now(), Instant::now());
    while quiet_since.elapsed() < Duration::from_millis(500)
        && t0.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        peak = peak.max(rss());
        let now = sent();
        if now != last {
            (last, quiet_since) = (now, Instant::now());
        }
    }
    let grown = peak.saturating_sub(base);
    eprintln!(
        "paused: origin sent {} MiB, process grew {} MiB (budget {} MiB)",
        last / MIB,
        grown / MIB,
        budget / MIB
    );
    // Budget, plus what the sockets and the hand-off to the player buffer, plus allocator slack:
    // far below the file, which an unbounded funnel would pull in while the player waits.
    assert!(
        grown < 8 * budget,
        "the process grew by {} MiB while the player paused (budget {} MiB)",
        grown / MIB,
        budget / MIB
    );
    let mut h = sha2::Sha256::default();
    use sha2::Digest;
    h.update(&first);
    let mut n = first.len() as u64;
    while let Some(c) = stream.next().await {
        let c = c.unwrap();
        n += c.len() as u64;
        h.update(&c);
    }
    assert_eq!(n, size);
    let got: String = h.finalize().iter().map(|x| format!("{x:02x}")).collect();
    assert_eq!(got, sha(&o.bytes(0, size)));
}
