//! `/media/<path>` over real TCP, checked against the files' bytes (RFC 9110 §14 ranges,
//! §13 conditional requests, §9.3.2 HEAD).

mod common;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use std::path::Path;

const SIZES: &[usize] = &[1, 2, 1000, 65_536, 262_145, 1_048_576 + 7, 3_000_001];

fn make_files(dir: &Path, rng: &mut StdRng) -> Vec<(String, Vec<u8>)> {
    SIZES
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let mut data = vec![0u8; n];
            rng.fill_bytes(&mut data);
            let name = format!("file {i}.mp4");
            std::fs::write(dir.join(&name), &data).unwrap();
            (name, data)
        })
        .collect()
}

fn url(base: &str, name: &str) -> String {
    format!("{base}media/{}", name.replace(' ', "%20"))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_single_ranges_equal_the_file_slice() {
    random_single_ranges(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_single_ranges_equal_the_file_slice_without_sendfile() {
    random_single_ranges(true).await;
}

async fn random_single_ranges(no_sendfile: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(9110);
    let files = make_files(dir.path(), &mut rng);
    let server = common::serve_with(&[dir.path()], no_sendfile).await;
    let base = format!("http://{}/", server.local_addr);
    let client = reqwest::Client::new();

    for (name, data) in &files {
        let whole = client.get(url(&base, name)).send().await.unwrap();
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(header(whole.headers(), "accept-ranges"), "bytes");
        assert_eq!(&whole.bytes().await.unwrap()[..], &data[..], "{name} whole");

        let len = data.len();
        for _ in 0..40 {
            let a = rng.random_range(0..len);
            let b = rng.random_range(a..len);
            let n = rng.random_range(1..=len);
            let (spec, want) = match rng.random_range(0..3) {
                0 => (format!("bytes={a}-{b}"), a..b + 1),
                1 => (format!("bytes={a}-"), a..len),
                _ => (format!("bytes=-{n}"), len - n..len),
            };
            let res = client
                .get(url(&base, name))
                .header(header::RANGE, &spec)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{name} {spec}");
            let cr = format!("bytes {}-{}/{len}", want.start, want.end - 1);
            assert_eq!(header(res.headers(), "content-range"), cr);
            assert_eq!(
                header(res.headers(), "content-length"),
                want.len().to_string()
            );
            let body = res.bytes().await.unwrap();
            assert_eq!(&body[..], &data[want], "{name} {spec}");
        }
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_ranges_come_as_multipart_byteranges() {
    multiple_ranges(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_ranges_come_as_multipart_byteranges_without_sendfile() {
    multiple_ranges(true).await;
}

/// Parsed the way browsers and PDF readers do: by scanning for the boundary (RFC 2046
/// §5.1.1), so a part that contained the delimiter would be cut short. The file is full of
/// `\r\n--B\r\n`, the delimiter of http-serve's fixed boundary.
async fn multiple_ranges(no_sendfile: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(2046);
    let mut data = vec![0u8; 1_048_583];
    rng.fill_bytes(&mut data);
    for at in (0..data.len() - 8).step_by(997) {
        data[at..at + 7].copy_from_slice(b"\r\n--B\r\n");
    }
    std::fs::write(dir.path().join("m.mp4"), &data).unwrap();
    let server = common::serve_with(&[dir.path()], no_sendfile).await;
    let u = format!("http://{}/media/m.mp4", server.local_addr);
    let client = reqwest::Client::new();
    let len = data.len();
    let ranges = [
        (0usize, 99usize),
        (5000, 5000),
        (900_000, 1_000_000),
        (len - 10, len - 1),
    ];
    let spec = format!(
        "bytes={}",
        ranges
            .iter()
            .map(|(a, b)| format!("{a}-{b}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let res = client
        .get(&u)
        .header(header::RANGE, &spec)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    let ct = header(res.headers(), "content-type").to_string();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect("multipart/byteranges")
        .to_string();
    assert!(
        boundary.len() >= 16,
        "a boundary no file can guess: {boundary}"
    );
    let declared: usize = header(res.headers(), "content-length").parse().unwrap();
    let body = res.bytes().await.unwrap();
    assert_eq!(body.len(), declared);
    let delim = format!("\r\n--{boundary}");
    let mut cuts = Vec::new();
    let mut from = 0;
    while let Some(at) = body[from..]
        .windows(delim.len())
        .position(|w| w == delim.as_bytes())
    {
        cuts.push(from + at);
        from += at + delim.len();
    }
    assert_eq!(
        cuts.len(),
        ranges.len() + 1,
        "one delimiter per part and a close"
    );
    assert!(body[cuts[ranges.len()]..].starts_with(format!("{delim}--\r\n").as_bytes()));
    for (i, (a, b)) in ranges.into_iter().enumerate() {
        let part = &body[cuts[i] + delim.len() + 2..cuts[i + 1]];
        let head_end = part.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&part[..head_end]).to_ascii_lowercase();
        assert!(
            head.contains(&format!("content-range: bytes {a}-{b}/{len}")),
            "{head}"
        );
        assert!(head.contains("content-type: video/mp4"), "{head}");
        assert_eq!(&part[head_end + 4..], &data[a..=b], "part {i}");
    }
    // HEAD announces the same length and type, with a boundary of its own.
    let head = client
        .head(&u)
        .header(header::RANGE, &spec)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(head.headers(), "content-length"),
        declared.to_string()
    );
    assert!(header(head.headers(), "content-type").starts_with("multipart/byteranges; boundary="));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsatisfiable_head_and_conditionals() {
    let dir = tempfile::tempdir().unwrap();
    let data = b"0123456789".repeat(100);
    std::fs::write(dir.path().join("a.mkv"), &data).unwrap();
    let server = common::serve(&[dir.path()]).await;
    let u = format!("http://{}/media/a.mkv", server.local_addr);
    let client = reqwest::Client::new();

    let res = client
        .get(&u)
        .header(header::RANGE, "bytes=1000-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(res.headers(), "content-range"), "bytes */1000");

    // A malformed Range is ignored (RFC 9110 §14.2): the whole file.
    let res = client
        .get(&u)
        .header(header::RANGE, "bytes=x-y")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().len(), 1000);

    // Hostile and edge-case Range headers (RFC 9110 §14.1.2, §14.2).
    for (spec, status, body_len) in [
        ("bytes=-0", 416, None),
        ("bytes=-5000", 206, Some(1000)),
        ("bytes=5-3", 200, Some(1000)),
        ("bytes=0-18446744073709551615", 206, Some(1000)),
        ("bytes=0-99999999999999999999999999", 206, Some(1000)),
        ("bytes=+1-2", 200, Some(1000)),
        ("lines=1-2", 200, Some(1000)),
        ("bytes=990-, 5-5", 206, None),
    ] {
        let res = client
            .get(&u)
            .header(header::RANGE, spec)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{spec}");
        let got = res.bytes().await.unwrap().len();
        if let Some(n) = body_len {
            assert_eq!(got, n, "{spec}");
        }
    }
    let many = format!("bytes={}", vec!["1-1"; 200].join(","));
    let res = client
        .get(&u)
        .header(header::RANGE, many)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "too many ranges are ignored");
    let res = client
        .get(&u)
        .header(header::IF_MODIFIED_SINCE, "garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "an invalid date is ignored");

    let head = client.head(&u).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header(head.headers(), "content-length"), "1000");
    assert_eq!(header(head.headers(), "content-type"), "video/x-matroska");
    let etag = header(head.headers(), "etag").to_string();
    let modified = header(head.headers(), "last-modified").to_string();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong ETag: {etag}"
    );
    assert!(!modified.is_empty());
    assert!(head.bytes().await.unwrap().is_empty());

    let res = client
        .get(&u)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = client
        .get(&u)
        .header(header::IF_NONE_MATCH, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .get(&u)
        .header(header::IF_MODIFIED_SINCE, &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // If-Range: a matching validator honours the Range, a stale one sends the whole file.
    let res = client
        .get(&u)
        .header(header::RANGE, "bytes=10-19")
        .header(header::IF_RANGE, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(&res.bytes().await.unwrap()[..], &data[10..20]);
    let res = client
        .get(&u)
        .header(header::RANGE, "bytes=10-19")
        .header(header::IF_RANGE, "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().len(), 1000);
    let res = client
        .get(&u)
        .header(header::RANGE, "bytes=10-19")
        .header(header::IF_RANGE, "Thu, 01 Jan 1970 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A replaced file gets a new ETag.
    std::fs::write(dir.path().join("a.mkv"), b"new content").unwrap();
    let again = client.head(&u).send().await.unwrap();
    assert_ne!(header(again.headers(), "etag"), etag);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_per_extension() {
    let dir = tempfile::tempdir().unwrap();
    let table = [
        ("mp4", "video/mp4"),
        ("m4v", "video/x-m4v"),
        ("mov", "video/quicktime"),
        ("mkv", "video/x-matroska"),
        ("webm", "video/webm"),
        ("avi", "video/x-msvideo"),
        ("ts", "video/mp2t"),
        ("mp3", "audio/mpeg"),
        ("m4a", "audio/mp4"),
        ("aac", "audio/aac"),
        ("flac", "audio/flac"),
        ("ogg", "audio/ogg"),
        ("opus", "audio/ogg; codecs=opus"),
        ("wav", "audio/wav"),
        ("vtt", "text/vtt; charset=utf-8"),
        ("srt", "application/x-subrip; charset=utf-8"),
    ];
    for (ext, _) in table {
        std::fs::write(dir.path().join(format!("x.{ext}")), b"data").unwrap();
    }
    let server = common::serve(&[dir.path()]).await;
    let client = reqwest::Client::new();
    for (ext, ct) in table {
        let res = client
            .head(format!("http://{}/media/x.{ext}", server.local_addr))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{ext}");
        assert_eq!(header(res.headers(), "content-type"), ct, "{ext}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outside_the_served_folder_is_reachable() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("shared");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("ok.mp4"), b"fine").unwrap();
    std::fs::write(outer.path().join("secret.mp4"), b"secret").unwrap();
    std::os::unix::fs::symlink(outer.path().join("secret.mp4"), root.join("link.mp4")).unwrap();
    std::os::unix::fs::symlink(outer.path(), root.join("updir")).unwrap();
    let server = common::serve(&[&root]).await;
    let addr = server.local_addr;

    assert_eq!(common::raw_get(addr, "/media/ok.mp4"), 200);
    let abs = outer.path().join("secret.mp4");
    let abs = abs.to_string_lossy();
    for route in ["media", "watch", "browse", "vtt"] {
        for p in [
            "../secret.mp4".to_string(),
            "..%2fsecret.mp4".into(),
            "%2e%2e/secret.mp4".into(),
            "%2E%2E%2Fsecret.mp4".into(),
            "ok.mp4/../../secret.mp4".into(),
            "..\\secret.mp4".into(),
            "..%5csecret.mp4".into(),
            format!("/{abs}"),
            abs.replace('/', "%2f"),
            "ok.mp4%00.txt".into(),
            "link.mp4".into(),
            "updir/secret.mp4".into(),
            ".%2e/secret.mp4".into(),
        ] {
            let status = common::raw_get(addr, &format!("/{route}/{p}"));
            assert_eq!(status, 404, "/{route}/{p} must be refused");
        }
    }
    server.shutdown().await;
}

/// RFC 9112 §3.2: an HTTP/1.1 request without Host, with two, or with a malformed one is a 400;
/// HTTP/1.0 may go without. Checked on the sendfile path and on hyper's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_header_is_checked_as_rfc_9112_says() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.mp4"), b"0123456789").unwrap();
    for no_sendfile in [false, true] {
        let server = common::serve_with(&[dir.path()], no_sendfile).await;
        let ask = |version: &str, hosts: &str| {
            common::raw_request(
                server.local_addr,
                &format!("GET /media/a.mp4 {version}\r\n{hosts}Connection: close\r\n\r\n"),
            )
        };
        for hosts in [
            "",
            "Host: a\r\nHost: b\r\n",
            "Host: a\r\nHost: a\r\n",
            "Host: user@a\r\n",
            "Host: a:port\r\n",
            "Host: [::1\r\n",
            "Host: a/b\r\n",
        ] {
            let (status, _, body) = ask("HTTP/1.1", hosts);
            assert_eq!(status, 400, "{hosts:?} (sendfile off: {no_sendfile})");
            assert!(body.starts_with(b"bad request: "), "{hosts:?}");
        }
        for (version, hosts) in [
            ("HTTP/1.1", "Host: a\r\n"),
            ("HTTP/1.1", "Host: 192.168.1.5:8000\r\n"),
            ("HTTP/1.1", "Host: [fd00::2]:8000\r\n"),
            ("HTTP/1.0", ""),
        ] {
            let (status, _, body) = ask(version, hosts);
            assert_eq!(
                (status, &body[..]),
                (200, &b"0123456789"[..]),
                "{version} {hosts:?}"
            );
        }
        server.shutdown().await;
    }
}

/// A request head over 64 KiB is refused with 431 (hyper's default would take ~400 KiB per
/// connection); 20 KiB of cookies, more than the sendfile path parses itself, still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_heads_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.mp4"), b"0123456789").unwrap();
    for no_sendfile in [false, true] {
        let server = common::serve_with(&[dir.path()], no_sendfile).await;
        for (size, want) in [(20 * 1024, 200), (70 * 1024, 431)] {
            let (status, _, _) = common::raw_request(
                server.local_addr,
                &format!(
                    "GET /media/a.mp4 HTTP/1.1\r\nHost: a\r\nCookie: c={}\r\nConnection: close\r\n\r\n",
                    "x".repeat(size)
                ),
            );
            assert_eq!(
                status, want,
                "{size} B of cookie (sendfile off: {no_sendfile})"
            );
        }
        server.shutdown().await;
    }
}

/// `homestream serve movie.mp4`: the movie plays with its subtitles; its neighbours, a
/// subfolder and the folder's other subtitles stay out of reach on every route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_file_shares_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("movie.mp4"), b"the movie").unwrap();
    std::fs::write(
        dir.path().join("movie.srt"),
        "1\n00:00:00,000 --> 00:00:01,000\nHi\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("private.mp4"), b"private").unwrap();
    std::fs::write(dir.path().join("private.srt"), b"private").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/other.mp4"), b"other").unwrap();
    let server = common::serve(&[&dir.path().join("movie.mp4")]).await;
    let addr = server.local_addr;
    let (status, _, home) = common::raw_request(
        addr,
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let home = String::from_utf8_lossy(&home);
    assert_eq!(status, 200);
    assert!(home.contains("href=\"/watch/movie.mp4\""), "{home}");
    assert!(!home.contains("private") && !home.contains("sub"), "{home}");
    for ok in [
        "/media/movie.mp4",
        "/watch/movie.mp4",
        "/media/movie.srt",
        "/vtt/movie.srt",
    ] {
        assert_eq!(common::raw_get(addr, ok), 200, "{ok}");
    }
    for refused in [
        "/media/private.mp4",
        "/watch/private.mp4",
        "/media/private.srt",
        "/browse/sub/",
        "/media/sub/other.mp4",
        "/media/movie.mp4/../private.mp4",
    ] {
        assert_eq!(common::raw_get(addr, refused), 404, "{refused}");
    }
    server.shutdown().await;
}
