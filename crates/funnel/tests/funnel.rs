//! The funnel's local server against the in-process origin: exact bytes, RFC 9110 range answers,
//! seeks, fault injection, a changing origin, no range support, headers, redirects, MP4 index.

#![allow(clippy::single_range_in_vec_init)] // readers take a list of ranges

mod common;

use common::origin::{TestOrigin, content};
use common::{Funnel, cfg, player, sha};
use futures_util::StreamExt;
use std::sync::atomic::Ordering;

const MIB: u64 = 1 << 20;

async fn get(url: &str, range: Option<&str>) -> reqwest::Response {
    let mut r = player().get(url);
    if let Some(v) = range {
        r = r.header("range", v);
    }
    r.send().await.expect("funnel answers")
}

#[tokio::test]
async fn serves_exact_bytes_with_range_semantics() {
    let o = TestOrigin::start(3 * MIB + 12_345, 0).await;
    let f = Funnel::start(&o.url("/v.mp4"), cfg(4, 256 << 10, MIB, 2)).await;
    let size = 3 * MIB + 12_345;

    let r = get(&f.url(), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], size.to_string().as_str());
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let body = r.bytes().await.unwrap();
    assert_eq!(sha(&body), sha(&o.bytes(0, size)));

    let r = player().head(f.url()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], size.to_string().as_str());

    let r = get(&f.url(), Some("bytes=100-199")).await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 100-199/{size}").as_str()
    );
    assert_eq!(r.headers()["content-length"], "100");
    assert_eq!(r.bytes().await.unwrap().to_vec(), o.bytes(100, 200));

    let r = get(&f.url(), Some("bytes=-500")).await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().to_vec(), o.bytes(size - 500, size));

    let r = get(&f.url(), Some(&format!("bytes={}-", size + 10))).await;
    assert_eq!(r.status(), 416);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes */{size}").as_str()
    );

    let r = get(&f.url(), Some("bytes=0-9,20-29")).await;
    assert_eq!(r.status(), 206);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("multipart/byteranges"), "{ct}");

    let page = player()
        .get(format!("{}player", f.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<video"));
}

#[tokio::test]
async fn random_seeks_during_transfer_return_the_right_bytes() {
    let size = 24 * MIB;
    let o = TestOrigin::start(size, 40 * MIB).await;
    let f = Funnel::start(&o.url("/v.bin"), cfg(4, 256 << 10, MIB, 2)).await;
    let mut seed = 12345u64;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    for i in 0..12 {
        let start = rnd() % size;
        let len = 1 + rnd() % (2 * MIB);
        let end = (start + len).min(size);
        let r = get(&f.url(), Some(&format!("bytes={start}-"))).await;
        assert_eq!(r.status(), 206);
        // Read part of the open-ended range, then "seek" (drop the response), as players do.
        let mut got = Vec::new();
        let mut stream = r.bytes_stream();
        while (got.len() as u64) < end - start {
            let chunk = stream.next().await.expect("more bytes").expect("no error");
            got.extend_from_slice(&chunk);
        }
        got.truncate((end - start) as usize);
        assert_eq!(sha(&got), sha(&o.bytes(start, end)), "seek {i} to {start}");
    }
}

#[tokio::test]
async fn first_byte_after_seek_arrives_before_the_piece_completes() {
    let size = 64 * MIB;
    let piece = MIB;
    // 1 MiB/s per connection: a whole piece takes a second.
    let o = TestOrigin::start(size, MIB).await;
    let f = Funnel::start(&o.url("/v.bin"), cfg(4, piece, 4 * MIB, 2)).await;
    // A player reading from the start keeps every connection busy...
    let first = get(&f.url(), Some("bytes=0-")).await;
    let mut s1 = first.bytes_stream();
    s1.next().await.unwrap().unwrap();
    // ...then seeks far ahead.
    let target = 40 * MIB + 777;
    let r = get(&f.url(), Some(&format!("bytes={target}-"))).await;
    assert_eq!(r.status(), 206);
    let mut s2 = r.bytes_stream();
    let chunk = s2.next().await.unwrap().unwrap();
    // At the moment the player holds the first bytes, the origin has sent only a sliver of the
    // piece that starts at the seek offset: bytes flow as they arrive.
    let sent: u64 = o
        .seen()
        .iter()
        .filter(|s| s.start == target)
        .map(|s| s.sent.load(Ordering::SeqCst))
        .sum();
    assert!(sent > 0, "the seek offset was requested from the origin");
    assert!(
        sent < piece / 2,
        "origin had already sent {sent} bytes of the piece"
    );
    assert_eq!(chunk.to_vec(), o.bytes(target, target + chunk.len() as u64));
    drop(s1);
}

async fn full_body_ok(f: &Funnel, o: &TestOrigin, size: u64) {
    let body = get(&f.url(), None).await.bytes().await.expect("body");
    assert_eq!(body.len() as u64, size);
    assert_eq!(sha(&body), sha(&o.bytes(0, size)));
}

#[tokio::test]
async fn survives_resets_500s_stalls_truncation_and_503() {
    let size = 6 * MIB + 3;
    let o = TestOrigin::start(size, 0).await;
    let fl = &o.state.faults;
    fl.cut_bytes.store(100_000, Ordering::SeqCst);
    fl.reset.store(3, Ordering::SeqCst);
    fl.truncate.store(3, Ordering::SeqCst);
    fl.stall.store(2, Ordering::SeqCst);
    fl.fail_500.store(3, Ordering::SeqCst);
    fl.busy_503.store(1, Ordering::SeqCst);
    let f = Funnel::start(&o.url("/v.bin"), cfg(4, 512 << 10, 2 * MIB, 2)).await;
    full_body_ok(&f, &o, size).await;
    for c in [
        &fl.reset,
        &fl.truncate,
        &fl.stall,
        &fl.fail_500,
        &fl.busy_503,
    ] {
        assert_eq!(c.load(Ordering::SeqCst), 0, "every fault was injected");
    }
    // Retries resumed where the cut happened instead of refetching whole pieces.
    let resumed = o
        .seen()
        .iter()
        .filter(|s| s.start % (512 << 10) == 100_000)
        .count();
    assert!(resumed >= 1, "a retry started at the first missing byte");
}

#[tokio::test]
async fn changed_origin_is_an_error_never_mixed_bytes() {
    let size = 8 * MIB;
    let o = TestOrigin::start(size, 8 * MIB).await;
    // The probe and the first few pieces see version 1, then the file changes.
    o.state.faults.change_after.store(4, Ordering::SeqCst);
    let f = Funnel::start(&o.url("/v.bin"), cfg(2, 256 << 10, MIB, 2)).await;
    let r = get(&f.url(), None).await;
    assert_eq!(r.status(), 200);
    let mut got = Vec::new();
    let mut stream = r.bytes_stream();
    let mut failed = false;
    while let Some(c) = stream.next().await {
        match c {
            Ok(b) => got.extend_from_slice(&b),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body was cut short with an error");
    assert!((got.len() as u64) < size);
    assert_eq!(
        got,
        content(1, 0, got.len() as u64),
        "only version-1 bytes were served"
    );
    let err = f
        .state
        .engine
        .as_ref()
        .unwrap()
        .open(vec![0..10], true, None)
        .next()
        .await;
    assert!(
        matches!(err, Err(homestream_funnel::Error::OriginChanged(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn origin_without_ranges_is_relayed_plainly() {
    let size = 2 * MIB + 5;
    let o = TestOrigin::start(size, 0).await;
    o.state.faults.no_ranges.store(true, Ordering::SeqCst);
    let f = Funnel::start(&o.url("/v.bin"), cfg(4, 256 << 10, MIB, 2)).await;
    assert!(f.state.engine.is_none());
    let r = get(&f.url(), Some("bytes=10-")).await;
    assert_eq!(
        r.status(),
        200,
        "a plain relay ignores Range, as RFC 9110 allows"
    );
    assert_eq!(r.headers()["accept-ranges"], "none");
    assert_eq!(sha(&r.bytes().await.unwrap()), sha(&o.bytes(0, size)));
}

#[tokio::test]
async fn headers_go_with_every_piece_and_redirect_is_followed_once() {
    use homestream_funnel::client::{ClientOptions, build_client, parse_header};
    let size = 2 * MIB;
    let o = TestOrigin::start(size, 0).await;
    let client = build_client(&ClientOptions {
        headers: vec![parse_header("X-Token: s3cret").unwrap()],
        cookie: Some("sid=42".into()),
        user_agent: Some("test-agent/1".into()),
        referer: Some("http://example.invalid/page".into()),
    })
    .unwrap();
    let f = Funnel::start_with(client, &o.url("/redirect"), cfg(4, 256 << 10, MIB, 2))
        .await
        .unwrap();
    full_body_ok(&f, &o, size).await;
    let seen = o.seen();
    assert_eq!(
        o.state.redirects.load(Ordering::SeqCst),
        1,
        "redirect followed once"
    );
    let pieces: Vec<_> = seen.iter().filter(|s| s.path == "/file.mp4").collect();
    assert!(pieces.len() >= 8, "{} requests", pieces.len());
    for s in pieces {
        assert_eq!(s.headers["x-token"], "s3cret");
        assert_eq!(s.headers["cookie"], "sid=42");
        assert_eq!(s.headers["user-agent"], "test-agent/1");
        assert_eq!(s.headers["referer"], "http://example.invalid/page");
        if s.range.as_deref() != Some("bytes=0-0") {
            assert_eq!(s.headers["if-range"], "\"v1\"");
        }
    }
}

/// ftyp + mdat + moov at the end, as non-faststart MP4s are laid out.
fn fake_mp4(mdat: usize, moov: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&32u32.to_be_bytes());
    v.extend_from_slice(b"ftypisom");
    v.resize(32, 0);
    v.extend_from_slice(&((mdat + 8) as u32).to_be_bytes());
    v.extend_from_slice(b"mdat");
    v.extend(content(7, 0, mdat as u64));
    v.extend_from_slice(&((moov + 8) as u32).to_be_bytes());
    v.extend_from_slice(b"moov");
    v.extend(content(9, 0, moov as u64));
    v
}

#[tokio::test]
async fn mp4_index_at_the_end_is_fetched_early() {
    let file = fake_mp4(3 * MIB as usize, 200_000);
    let moov_at = 32 + 8 + 3 * MIB;
    let o = TestOrigin::start_with(0, 0, Some(file.clone().into()), "video/mp4", 0).await;
    let f = Funnel::start(&o.url("/v.mp4"), cfg(4, 256 << 10, MIB, 2)).await;
    let (off, idx) = f.state.index.clone().expect("moov prefetched");
    assert_eq!(off, moov_at);
    assert_eq!(idx.len(), 200_008);
    let before = o.seen().len();
    let r = get(&f.url(), Some(&format!("bytes={moov_at}-"))).await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        file[moov_at as usize..].to_vec()
    );
    assert_eq!(
        o.seen().len(),
        before,
        "served from the prefetched index, no new origin request"
    );
}
