//! The plain-HTTP/1.1 path that sends library files with `sendfile` (Linux): framing,
//! pipelining and the hand-off to hyper on one connection, heads that arrive in pieces,
//! `Connection: close`, the request log, a file that shrinks mid-body, and the same answers as
//! hyper's path (`no_sendfile`) header for header.

#![cfg(target_os = "linux")]

mod common;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One parsed response: status, headers (lower-case names, in order), body.
#[derive(Debug)]
struct Res {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Res {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response off `buf` (filling it from `s` as needed), framed by Content-Length;
/// `head_request` responses and 304s have no body.
fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>, head_request: bool) -> Res {
    let split = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        fill(s, buf);
    };
    let head = String::from_utf8(buf[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    buf.drain(..split);
    let mut res = Res {
        status,
        headers,
        body: Vec::new(),
    };
    if head_request || status == 304 {
        return res;
    }
    let len: usize = res.header("content-length").unwrap().parse().unwrap();
    while buf.len() < len {
        fill(s, buf);
    }
    res.body = buf.drain(..len).collect();
    res
}

fn fill(s: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 65536];
    let n = s.read(&mut chunk).expect("read");
    assert!(n > 0, "connection closed early; have {} bytes", buf.len());
    buf.extend_from_slice(&chunk[..n]);
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn random_file(dir: &Path, name: &str, len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    StdRng::seed_from_u64(len as u64).fill_bytes(&mut data);
    std::fs::write(dir.join(name), &data).unwrap();
    data
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_across_the_hand_off() {
    let dir = tempfile::tempdir().unwrap();
    let data = random_file(dir.path(), "f.mp4", 300_000);
    let server = common::serve(&[dir.path()]).await;
    let mut s = connect(server.local_addr);
    let all = [
        get("/media/f.mp4", "Range: bytes=10-99\r\n"),
        "HEAD /media/f.mp4 HTTP/1.1\r\nHost: t\r\n\r\n".to_string(),
        get("/media/missing.mp4", ""),
        get("/media/f.mp4", ""),
        get("/", ""),
        // Not the fast path's: from here on hyper has the connection.
        get("/api/status", ""),
        get("/media/f.mp4", "Range: bytes=-5\r\nConnection: close\r\n"),
    ]
    .concat();
    s.write_all(all.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let r = read_response(&mut s, &mut buf, false);
    assert_eq!((r.status, &r.body[..]), (206, &data[10..100]));
    assert_eq!(r.header("content-range"), Some("bytes 10-99/300000"));
    assert!(r.header("date").is_some() && r.header("etag").is_some());
    let r = read_response(&mut s, &mut buf, true);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("300000"));
    let r = read_response(&mut s, &mut buf, false);
    assert_eq!((r.status, &r.body[..]), (404, &b"not found\n"[..]));
    let r = read_response(&mut s, &mut buf, false);
    assert_eq!((r.status, &r.body[..]), (200, &data[..]));
    let r = read_response(&mut s, &mut buf, false);
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("f.mp4"));
    let r = read_response(&mut s, &mut buf, false);
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("\"version\""));
    let r = read_response(&mut s, &mut buf, false);
    assert_eq!((r.status, &r.body[..]), (206, &data[data.len() - 5..]));
    // Connection: close was honoured (by hyper, here).
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(buf.is_empty() && rest.is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_in_pieces_is_served_and_close_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let data = random_file(dir.path(), "f.mp4", 5000);
    let server = common::serve(&[dir.path()]).await;
    let mut s = connect(server.local_addr);
    let req = get(
        "/media/f.mp4",
        "Range: bytes=100-199\r\nConnection: close\r\n",
    );
    for piece in req.as_bytes().chunks(7) {
        s.write_all(piece).unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut buf = Vec::new();
    let r = read_response(&mut s, &mut buf, false);
    assert_eq!((r.status, &r.body[..]), (206, &data[100..200]));
    assert_eq!(r.header("connection"), Some("close"));
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(buf.is_empty() && rest.is_empty(), "nothing after a close");
    server.shutdown().await;
}

/// Every header but Date, and every byte, is the same whichever path answers: files under
/// every range and precondition, and the library's pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendfile_and_hyper_answer_alike() {
    let dir = tempfile::tempdir().unwrap();
    random_file(dir.path(), "f.mp4", 1_000_000);
    std::fs::create_dir(dir.path().join("sub dir")).unwrap();
    random_file(&dir.path().join("sub dir"), "g.webm", 1000);
    std::fs::write(
        dir.path().join("f.srt"),
        "1\n00:00:01,000 --> 00:00:02,000\nHi\n",
    )
    .unwrap();
    let fast = common::serve_with(&[dir.path()], false).await;
    let copying = common::serve_with(&[dir.path()], true).await;
    let etag = {
        let mut s = connect(fast.local_addr);
        s.write_all(get("/media/f.mp4", "").as_bytes()).unwrap();
        read_response(&mut s, &mut Vec::new(), false)
            .header("etag")
            .unwrap()
            .to_string()
    };
    let cases = [
        ("GET", ""),
        ("HEAD", ""),
        ("GET", "Range: bytes=0-0\r\n"),
        ("GET", "Range: bytes=999990-\r\n"),
        ("GET", "Range: bytes=-1\r\n"),
        ("GET", "Range: bytes=0-1,5-9\r\n"),
        ("GET", "Range: bytes=2000000-\r\n"),
        ("HEAD", "Range: bytes=5-9\r\n"),
        ("GET", &format!("If-None-Match: {etag}\r\n")),
        ("GET", &format!("If-Range: {etag}\r\nRange: bytes=1-2\r\n")),
        ("GET", "If-Range: \"stale\"\r\nRange: bytes=1-2\r\n"),
        (
            "GET",
            "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n",
        ),
        ("GET", "Range: bytes=9-5\r\n"),
    ];
    let files = cases
        .iter()
        .map(|&(m, e)| (m, "/media/f.mp4", e.to_string()));
    let pages = [
        "/",
        "/?sort=size",
        "/browse/sub%20dir/",
        "/browse/nothing/",
        "/watch/f.mp4",
        "/watch/sub%20dir/g.webm",
        "/watch/missing.mp4",
        "/vtt/f.srt",
        "/assets/style.css",
        "/assets/player.js",
        "/assets/nothing.js",
        "/media/../f.mp4",
        "/favicon.ico",
        "/login",
    ]
    .into_iter()
    .flat_map(|p| [("GET", p, String::new()), ("HEAD", p, String::new())]);
    for (method, path, extra) in files.chain(pages) {
        let req = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n");
        let answer = |addr| {
            let mut s = connect(addr);
            s.write_all(req.as_bytes()).unwrap();
            let mut r = read_response(&mut s, &mut Vec::new(), method == "HEAD");
            r.headers.retain(|(n, _)| n != "date");
            r.headers.sort();
            r
        };
        let (mut a, mut b) = (answer(fast.local_addr), answer(copying.local_addr));
        // Multipart boundaries are random per response.
        for r in [&mut a, &mut b] {
            if let Some(i) = r.headers.iter().position(|(n, _)| n == "content-type") {
                let v = r.headers[i].1.clone();
                if let Some(bound) = v.strip_prefix("multipart/byteranges; boundary=") {
                    let body = String::from_utf8_lossy(&r.body).replace(bound, "BOUNDARY");
                    r.body = body.into_bytes();
                    r.headers[i].1 = "multipart/byteranges; boundary=BOUNDARY".into();
                }
            }
        }
        assert_eq!(a.status, b.status, "{req:?}");
        assert_eq!(a.headers, b.headers, "{req:?}");
        assert_eq!(a.body, b.body, "{req:?}");
    }
    fast.shutdown().await;
    copying.shutdown().await;
}

/// Status and body of one response, with as little work in this (unoptimized) test code as
/// can be, so that the time measured is the server's: the head byte by byte, the body in one
/// `read_exact`.
fn read_lean(s: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (status, body)
}

/// What a player seeking in a movie does: 1 MiB ranges at arbitrary offsets, one after the
/// other on one keep-alive connection. Each must come at once on loopback; the sendfile path
/// once held the end of the second and later responses back for 200 ms (issue 13).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_ranges_at_unaligned_offsets_come_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let len = 48 << 20;
    let data = Arc::new(random_file(dir.path(), "big.mp4", len));
    let offsets = [
        5_000_000usize,
        30_000_001,
        1,
        12_345_678,
        40_000_003,
        7_777_777,
        20_971_520,
        33_554_431,
    ];
    for no_sendfile in [false, true] {
        let server = common::serve_with(&[dir.path()], no_sendfile).await;
        let addr = server.local_addr;
        let data = Arc::clone(&data);
        let slowest = tokio::task::spawn_blocking(move || {
            let mut s = connect(addr);
            // The first request warms the connection and the page cache alike.
            s.write_all(get("/media/big.mp4", "Range: bytes=0-1048575\r\n").as_bytes())
                .unwrap();
            assert_eq!(read_lean(&mut s).0, 206);
            // The fastest of three tries per offset: a loaded machine can slow one answer,
            // the stall came every time.
            let mut times = Vec::new();
            for &at in &offsets {
                let last = at + (1 << 20) - 1;
                let range = format!("Range: bytes={at}-{last}\r\n");
                let mut fastest = Duration::MAX;
                for _ in 0..3 {
                    let started = std::time::Instant::now();
                    s.write_all(get("/media/big.mp4", &range).as_bytes())
                        .unwrap();
                    let (status, body) = read_lean(&mut s);
                    fastest = fastest.min(started.elapsed());
                    assert_eq!(status, 206);
                    assert!(body == data[at..=last], "bytes of {range:?}");
                }
                times.push(fastest);
            }
            times
        })
        .await
        .unwrap();
        let worst = slowest.iter().max().unwrap();
        assert!(
            *worst < Duration::from_millis(50),
            "sendfile off: {no_sendfile}: response times {slowest:?}"
        );
        server.shutdown().await;
    }
}

/// File names that are not UTF-8 (Latin-1 from an old disk): listed, and every route that
/// takes a path (/browse, /watch, /media, /vtt) reaches them by their percent-encoded bytes,
/// on both paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_are_not_utf8_are_listed_and_served() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(OsStr::from_bytes(b"Vid\xe9os"));
    std::fs::create_dir(&folder).unwrap();
    let data = random_file(&folder, "x", 5000);
    std::fs::rename(
        folder.join("x"),
        folder.join(OsStr::from_bytes(b"f\xeate.mp4")),
    )
    .unwrap();
    std::fs::write(
        folder.join(OsStr::from_bytes(b"f\xeate.srt")),
        "1\n00:00:01,000 --> 00:00:02,000\nHi\n",
    )
    .unwrap();
    for no_sendfile in [false, true] {
        let server = common::serve_with(&[dir.path()], no_sendfile).await;
        let fetch = |path: &str, extra: &str| {
            let mut s = connect(server.local_addr);
            s.write_all(get(path, extra).as_bytes()).unwrap();
            read_response(&mut s, &mut Vec::new(), false)
        };
        let top = fetch("/", "");
        assert!(
            String::from_utf8_lossy(&top.body).contains("href=\"/browse/Vid%E9os/\""),
            "sendfile off: {no_sendfile}"
        );
        let listing = fetch("/browse/Vid%E9os/", "");
        assert_eq!(listing.status, 200);
        let page = String::from_utf8_lossy(&listing.body).into_owned();
        assert!(
            page.contains("href=\"/watch/Vid%E9os/f%EAte.mp4\""),
            "{page}"
        );
        let watch = fetch("/watch/Vid%E9os/f%EAte.mp4", "");
        assert_eq!(watch.status, 200);
        let page = String::from_utf8_lossy(&watch.body).into_owned();
        assert!(
            page.contains("src=\"/media/Vid%E9os/f%EAte.mp4\""),
            "{page}"
        );
        assert!(page.contains("src=\"/vtt/Vid%E9os/f%EAte.srt\""), "{page}");
        let media = fetch("/media/Vid%E9os/f%EAte.mp4", "Range: bytes=10-4009\r\n");
        assert_eq!((media.status, &media.body[..]), (206, &data[10..4010]));
        let vtt = fetch("/vtt/Vid%E9os/f%EAte.srt", "");
        assert_eq!(vtt.status, 200);
        assert!(vtt.body.starts_with(b"WEBVTT"));
        assert_eq!(fetch("/media/Vid%E9os/f%EBte.mp4", "").status, 404);
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_shrinks_mid_body_ends_the_response_short() {
    let dir = tempfile::tempdir().unwrap();
    let len = 64 << 20;
    random_file(dir.path(), "big.mp4", len);
    let server = common::serve(&[dir.path()]).await;
    let mut s = connect(server.local_addr);
    s.write_all(get("/media/big.mp4", "").as_bytes()).unwrap();
    let mut first = vec![0u8; 4096];
    s.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 200 OK\r\n"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("big.mp4"))
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let mut rest = Vec::new();
    // The server closes the connection: read_to_end ends (an error would be a reset).
    let _ = s.read_to_end(&mut rest);
    assert!(
        first.len() + rest.len() < len,
        "got {} of {len}",
        first.len() + rest.len()
    );
    server.shutdown().await;
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_log_counts_the_bytes_that_went_out() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    random_file(dir.path(), "f.mp4", 3_000_000);
    // By sendfile (one range), from a body the router made (several ranges, a page), and all
    // of it copied through hyper: each line must say the body's length, no more, no less.
    let requests = [
        ("/media/f.mp4", "Range: bytes=1000-2000999\r\n", 206),
        ("/media/f.mp4", "Range: bytes=0-9,100-199\r\n", 206),
        ("/", "", 200),
    ];
    for no_sendfile in [false, true] {
        let server = common::serve_with(&[dir.path()], no_sendfile).await;
        for (i, (path, headers, status)) in requests.iter().enumerate() {
            let mut s = connect(server.local_addr);
            let path = format!("{path}?copying={no_sendfile}&case={i}");
            s.write_all(get(&path, headers).as_bytes()).unwrap();
            let r = read_response(&mut s, &mut Vec::new(), false);
            assert_eq!(r.status, *status, "{path}");
            drop(s);
            let want = format!("GET {path} {status} {}B", r.body.len());
            let line = logs.line_with(&format!("GET {path} ")).await;
            assert!(line.contains(&want), "want {want:?} in {line}");
            assert!(!line.contains("aborted"), "{line}");
        }
        // Requests hyper refuses before routing (400, 431) are logged too.
        for (bad, status) in [
            ("GARBAGE\r\n\r\n".to_string(), 400),
            (
                get("/", &format!("Cookie: {}\r\n", "x".repeat(70_000))),
                431,
            ),
        ] {
            let mut s = connect(server.local_addr);
            let me = s.local_addr().unwrap();
            s.write_all(bad.as_bytes()).unwrap();
            let r = read_response(&mut s, &mut Vec::new(), false);
            assert_eq!(r.status, status);
            let line = logs.line_with(&format!("{me} bad request refused")).await;
            assert!(line.contains("INFO"), "{line}");
        }
        server.shutdown().await;
    }
}

impl Captured {
    /// The first log line holding `needle`, waiting up to 2 s for it to be written.
    async fn line_with(&self, needle: &str) -> String {
        for _ in 0..100 {
            let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
            if let Some(l) = text.lines().find(|l| l.contains(needle)) {
                return l.to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no log line with {needle:?}")
    }
}
