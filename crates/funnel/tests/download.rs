//! `download` against the in-process origin: exact file, faults, resume, checksum, changed origin.

mod common;

use common::origin::TestOrigin;
use common::{cfg, sha};
use homestream_funnel::Error;
use homestream_funnel::download::{DownloadOptions, download};
use std::sync::atomic::Ordering;
use std::time::Duration;

const MIB: u64 = 1 << 20;

fn opts(url: String, out: std::path::PathBuf, sha256: Option<String>) -> DownloadOptions {
    DownloadOptions {
        url,
        output: out,
        sha256,
        engine: cfg(4, 256 << 10, MIB, 2),
        progress: false,
        variant: Default::default(),
    }
}

fn client() -> reqwest::Client {
    homestream_funnel::client::build_client(&Default::default()).unwrap()
}

#[tokio::test]
async fn downloads_exact_file_through_faults_and_checks_sha256() {
    let size = 5 * MIB + 77;
    let o = TestOrigin::start(size, 0).await;
    let fl = &o.state.faults;
    fl.cut_bytes.store(50_000, Ordering::SeqCst);
    fl.reset.store(2, Ordering::SeqCst);
    fl.truncate.store(2, Ordering::SeqCst);
    fl.stall.store(1, Ordering::SeqCst);
    fl.fail_500.store(2, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.bin");
    let want = sha(&o.bytes(0, size));
    let r = download(
        client(),
        &opts(o.url("/v.bin"), out.clone(), Some(want.clone())),
        std::future::pending(),
    )
    .await
    .expect("download succeeds");
    assert_eq!(r.size, size);
    assert_eq!(r.sha256.as_deref(), Some(want.as_str()));
    assert_eq!(sha(&std::fs::read(&out).unwrap()), want);
    assert!(!homestream_funnel::resume::sidecar_path(&out).exists());
}

#[tokio::test]
async fn interrupted_download_resumes() {
    let size = 8 * MIB;
    let o = TestOrigin::start(size, 4 * MIB).await; // 4 conns x 4 MiB/s: ~0.5 s total
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.bin");
    let first = download(
        client(),
        &opts(o.url("/v.bin"), out.clone(), None),
        tokio::time::sleep(Duration::from_millis(250)),
    )
    .await;
    assert_eq!(first, Err(Error::Cancelled));
    let side = homestream_funnel::resume::sidecar_path(&out);
    let st = homestream_funnel::resume::load(&side).expect("sidecar kept");
    assert!(
        !st.done.is_empty() && st.done.len() < size,
        "{}",
        st.done.len()
    );
    o.state.rate.store(0, Ordering::SeqCst);
    let before = o.seen().len();
    let want = sha(&o.bytes(0, size));
    let r = download(
        client(),
        &opts(o.url("/v.bin"), out.clone(), Some(want.clone())),
        std::future::pending(),
    )
    .await
    .expect("resumed download succeeds");
    assert_eq!(r.resumed, st.done.len());
    assert_eq!(sha(&std::fs::read(&out).unwrap()), want);
    // The second run fetched only what was missing.
    let refetched: u64 = o.seen()[before..]
        .iter()
        .map(|s| s.sent.load(Ordering::SeqCst))
        .sum();
    let missing = size - st.done.len();
    assert!(
        refetched >= missing && refetched <= missing + MIB,
        "{refetched} vs {missing}"
    );
    assert!(!side.exists());
}

#[tokio::test]
async fn wrong_sha256_is_reported() {
    let o = TestOrigin::start(MIB, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.bin");
    let bad = "0".repeat(64);
    let r = download(
        client(),
        &opts(o.url("/v.bin"), out, Some(bad)),
        std::future::pending(),
    )
    .await;
    assert!(matches!(r, Err(Error::Checksum { .. })), "{r:?}");
}

#[tokio::test]
async fn changed_origin_fails_clearly() {
    let size = 4 * MIB;
    let o = TestOrigin::start(size, 8 * MIB).await;
    o.state.faults.change_after.store(3, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.bin");
    let r = download(
        client(),
        &opts(o.url("/v.bin"), out, None),
        std::future::pending(),
    )
    .await;
    match r {
        Err(Error::OriginChanged(m)) => {
            assert!(m.contains("If-Range") || m.contains("ETag"), "{m}")
        }
        other => panic!("expected OriginChanged, got {other:?}"),
    }
}

#[tokio::test]
async fn origin_without_ranges_downloads_plainly() {
    let size = 3 * MIB + 1;
    let o = TestOrigin::start(size, 0).await;
    o.state.faults.no_ranges.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.bin");
    let r = download(
        client(),
        &opts(o.url("/v.bin"), out.clone(), None),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(r.size, size);
    assert_eq!(sha(&std::fs::read(&out).unwrap()), sha(&o.bytes(0, size)));
}

#[tokio::test]
async fn missing_file_and_dead_origin_are_clear_errors() {
    let o = TestOrigin::start(MIB, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let r = download(
        client(),
        &opts(o.url("/missing"), dir.path().join("x"), None),
        std::future::pending(),
    )
    .await;
    assert!(matches!(r, Err(Error::Status { status: 404, .. })), "{r:?}");
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let r = download(
        client(),
        &opts(
            format!("http://127.0.0.1:{port}/x"),
            dir.path().join("y"),
            None,
        ),
        std::future::pending(),
    )
    .await;
    assert!(matches!(r, Err(Error::Http(_))), "{r:?}");
}

#[tokio::test]
async fn slow_connection_work_is_resplit() {
    let size = 4 * MIB;
    let o = TestOrigin::start(size, 8 * MIB).await;
    // One response crawls at 64 KiB/s: alone it would need 16 s for its 1 MiB piece.
    o.state.faults.slow.store(1, Ordering::SeqCst);
    o.state.faults.slow_rate.store(64 << 10, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.bin");
    let mut o2 = opts(o.url("/v.bin"), out.clone(), None);
    o2.engine = cfg(4, MIB, 4 * MIB, 2);
    download(client(), &o2, std::future::pending())
        .await
        .expect("download succeeds");
    assert_eq!(sha(&std::fs::read(&out).unwrap()), sha(&o.bytes(0, size)));
    // No request failed, so a request starting inside a piece is a re-split of slow work.
    let splits = o
        .seen()
        .iter()
        .filter(|s| s.range.as_deref() != Some("bytes=0-0") && s.start % MIB != 0)
        .count();
    assert!(splits >= 1, "the slow piece was re-split");
}
