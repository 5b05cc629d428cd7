//! HLS segments through the real funnel and `download`, against a paced loopback origin that
//! records every request: the prefetch window (count bound, refocus on a seek, the jumped-to
//! segment fast), a segment that changes between fetches, `download` resumed after an
//! interruption, and the user's headers on every playlist, key and segment request.

mod common;

use aes::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::origin::content;
use common::{Funnel, cfg, player};
use futures_util::StreamExt;
use homestream_funnel::client::{ClientOptions, build_client, parse_header};
use homestream_funnel::download::{DownloadOptions, download};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// One request the origin saw: which segment (`None` for a playlist or key), when.
#[derive(Debug, Clone)]
struct Hit {
    seg: Option<usize>,
    at: Instant,
    range: Option<String>,
    /// A segment of the audio rendition (`/aud<n>.ts`, renditions mode).
    audio: bool,
}

struct Site {
    /// Segment bytes by number.
    segs: Vec<Vec<u8>>,
    playlist: String,
    /// Key bytes served at `/k.bin` (AES-128 playlists).
    key: Option<[u8; 16]>,
    /// The first this many requests for `/k.bin` are answered 503.
    key_failures: AtomicU32,
    /// Bytes per second per response.
    rate: u64,
    hits: Mutex<Vec<Hit>>,
    /// Segment `.0` is served as `.1` from its `.2`-th request on (a new version, another
    /// size), or, with `.3`, as the new and the old version in turn.
    change: Option<(usize, Vec<u8>, u32, bool)>,
    change_count: AtomicU32,
    /// Every request must carry this header, else 403.
    require: Option<(&'static str, &'static str)>,
    refused: AtomicU32,
    /// A live playlist: five segments, one more each second from this instant.
    live: Option<Instant>,
    /// `/index.m3u8` is a master naming `video.m3u8` (the segments as `seg<n>.ts`) and, by
    /// EXT-X-MEDIA, an audio rendition `audio.m3u8` (the same bytes as `aud<n>.ts`).
    renditions: bool,
    /// Segment responses being sent now, and the most there ever were.
    in_flight: AtomicU32,
    max_in_flight: AtomicU32,
}

/// Counts a segment response as in flight for as long as its body lives.
struct InFlight(Arc<Site>);

impl InFlight {
    fn new(s: &Arc<Site>) -> InFlight {
        let n = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        s.max_in_flight.fetch_max(n, Ordering::SeqCst);
        InFlight(s.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Origin {
    addr: std::net::SocketAddr,
    site: Arc<Site>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Origin {
    async fn start(site: Site) -> Origin {
        let site = Arc::new(site);
        let app = axum::Router::new().fallback(serve).with_state(site.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Origin { addr, site, task }
    }

    fn url(&self) -> String {
        format!("http://{}/index.m3u8", self.addr)
    }

    fn hits(&self) -> Vec<Hit> {
        self.site.hits.lock().unwrap().clone()
    }
}

fn site(segs: Vec<Vec<u8>>, rate: u64) -> Site {
    let mut pl = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n");
    for i in 0..segs.len() {
        pl.push_str(&format!("#EXTINF:2.0,\nseg{i:03}.ts\n"));
    }
    pl.push_str("#EXT-X-ENDLIST\n");
    Site {
        segs,
        playlist: pl,
        key: None,
        rate,
        hits: Mutex::new(Vec::new()),
        change: None,
        change_count: AtomicU32::new(0),
        require: None,
        refused: AtomicU32::new(0),
        key_failures: AtomicU32::new(0),
        live: None,
        renditions: false,
        in_flight: AtomicU32::new(0),
        max_in_flight: AtomicU32::new(0),
    }
}

async fn serve(State(s): State<Arc<Site>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some((k, v)) = s.require
        && req.headers().get(k).and_then(|h| h.to_str().ok()) != Some(v)
    {
        s.refused.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::FORBIDDEN, "no token").into_response();
    }
    let audio = s.renditions && path.starts_with("/aud");
    let seg = path
        .strip_prefix(if audio { "/aud" } else { "/seg" })
        .and_then(|p| p.strip_suffix(".ts"))
        .and_then(|n| n.parse::<usize>().ok());
    s.hits.lock().unwrap().push(Hit {
        seg,
        at: Instant::now(),
        range: range.clone(),
        audio,
    });
    let pl = |body: String| {
        (
            [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
            body,
        )
            .into_response()
    };
    if s.renditions {
        match path.as_str() {
            "/index.m3u8" => {
                return pl("#EXTM3U\n\
                     #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\",DEFAULT=YES,URI=\"audio.m3u8\"\n\
                     #EXT-X-STREAM-INF:BANDWIDTH=1000000,AUDIO=\"a\"\nvideo.m3u8\n"
                    .to_owned());
            }
            "/video.m3u8" => return pl(s.playlist.clone()),
            "/audio.m3u8" => return pl(s.playlist.replace("seg", "aud")),
            _ => {}
        }
    }
    let data: Vec<u8> = match (path.as_str(), seg) {
        ("/index.m3u8", _) if s.live.is_some() => {
            let now = s.live.map_or(0, |t| t.elapsed().as_secs() as usize);
            let first = now;
            let mut pl = format!(
                "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
            );
            for i in first..first + 5 {
                pl.push_str(&format!("#EXTINF:1.0,\nseg{i:03}.ts\n"));
            }
            return (
                [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
                pl,
            )
                .into_response();
        }
        ("/index.m3u8", _) => {
            return (
                [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
                s.playlist.clone(),
            )
                .into_response();
        }
        ("/k.bin", _) if s.key.is_some() => {
            let failing = s
                .key_failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
            }
            return s.key.unwrap().to_vec().into_response();
        }
        (_, Some(i)) if i < s.segs.len() => match &s.change {
            Some((c, new, from, alternate)) if *c == i => {
                let n = s.change_count.fetch_add(1, Ordering::SeqCst) + 1;
                if (*alternate && n % 2 == 0) || (!*alternate && n >= *from) {
                    new.clone()
                } else {
                    s.segs[i].clone()
                }
            }
            _ => s.segs[i].clone(),
        },
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let len = data.len() as u64;
    let (status, a, b) = match range.as_deref().and_then(|r| parse_range(r, len)) {
        Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b),
        None => (StatusCode::OK, 0, len),
    };
    let body = data[a as usize..b as usize].to_vec();
    let rate = s.rate;
    let chunks: Vec<Vec<u8>> = body.chunks(16 << 10).map(<[u8]>::to_vec).collect();
    let in_flight = InFlight::new(&s);
    // Paced from the first byte: no burst per request.
    let stream = futures_util::stream::iter(chunks)
        .then(move |c| async move {
            tokio::time::sleep(Duration::from_secs_f64(c.len() as f64 / rate as f64)).await;
            Ok::<_, std::io::Error>(c)
        })
        .map(move |c| {
            let _counted = &in_flight;
            c
        });
    let mut r = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "video/mp2t")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, b - a);
    if status == StatusCode::PARTIAL_CONTENT {
        r = r.header(header::CONTENT_RANGE, format!("bytes {a}-{}/{len}", b - 1));
    }
    r.body(Body::from_stream(stream)).unwrap()
}

fn parse_range(v: &str, len: u64) -> Option<(u64, u64)> {
    let (a, b) = v.strip_prefix("bytes=")?.split_once('-')?;
    let a: u64 = a.parse().ok()?;
    let b: u64 = if b.is_empty() {
        len - 1
    } else {
        b.parse::<u64>().ok()?.min(len - 1)
    };
    (a <= b && a < len).then_some((a, b + 1))
}

fn segments(n: usize, size: u64) -> Vec<Vec<u8>> {
    (0..n as u64)
        .map(|i| content(100 + i, 0, size + i * 7))
        .collect()
}

/// What the funnel answers at `path`, as a player gets it.
async fn text_at(f: &Funnel, path: &str) -> String {
    player()
        .get(format!("http://{}{path}", f.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The funnel's playlist, as a player gets it.
async fn playlist_text(f: &Funnel) -> String {
    text_at(f, "/").await
}

/// The local paths a rewritten playlist names, in order.
fn hls_paths(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|l| l.starts_with("/hls/"))
        .map(str::to_owned)
        .collect()
}

/// The funnel's local paths of the segments (from its rewritten playlist).
async fn local_paths(f: &Funnel) -> Vec<String> {
    hls_paths(&playlist_text(f).await)
}

async fn get_segment(f: &Funnel, path: &str) -> (Vec<u8>, Duration) {
    let t = Instant::now();
    let r = player()
        .get(format!("http://{}{path}", f.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let b = r.bytes().await.unwrap().to_vec();
    (b, t.elapsed())
}

/// A player asks for segment 0, then jumps to segment 30. The funnel fetches ahead of 0 within
/// its window (at most 3 x connections segments), refocuses on 30 at once (no request for a
/// segment of the old window after the jump), and segment 30 arrives much faster than one
/// connection could bring it.
#[tokio::test]
async fn prefetch_window_refocuses_on_a_seek() {
    const CONNS: usize = 4;
    const WINDOW: usize = 3 * CONNS;
    const SIZE: u64 = 512 * KIB;
    const RATE: u64 = MIB;
    let segs = segments(40, SIZE);
    let o = Origin::start(site(segs.clone(), RATE)).await;
    // 8 MiB of budget: the count (12 segments) bounds the window before the bytes do.
    let f = Funnel::start(&o.url(), cfg(CONNS, 256 << 10, MIB, 8)).await;
    let paths = local_paths(&f).await;
    assert_eq!(paths.len(), 40);

    let (b0, _) = get_segment(&f, &paths[0]).await;
    assert_eq!(b0, segs[0]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = o.hits();
    let ahead: std::collections::BTreeSet<usize> = before.iter().filter_map(|h| h.seg).collect();
    assert!(
        ahead.iter().all(|&i| i < WINDOW),
        "fetched beyond the window of 0: {ahead:?}"
    );
    assert!(
        ahead.len() >= 3,
        "segments after 0 are fetched ahead: {ahead:?}"
    );

    let jump = Instant::now();
    let (b30, took) = get_segment(&f, &paths[30]).await;
    assert_eq!(b30, segs[30], "segment 30's bytes");
    let one_connection = Duration::from_secs_f64(segs[30].len() as f64 / RATE as f64);
    println!("segment 30 after the jump: {took:?} (one connection: {one_connection:?})");
    assert!(
        took < one_connection.mul_f64(0.6),
        "segment 30 took {took:?}, one connection needs {one_connection:?}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    // From the funnel's first fetch of 30 on: a fetch of the old window may start while the
    // player's request for 30 is still on its way (CI saw one of segment 7 there).
    let hits = o.hits();
    let refocused = hits
        .iter()
        .filter(|h| h.at >= jump && h.seg == Some(30))
        .map(|h| h.at)
        .min()
        .expect("segment 30 was fetched from the origin");
    let after: Vec<Hit> = hits.into_iter().filter(|h| h.at >= refocused).collect();
    let segs_after: Vec<usize> = after.iter().filter_map(|h| h.seg).collect();
    assert!(
        segs_after.iter().all(|&i| (30..30 + WINDOW).contains(&i)),
        "after the jump only the new window is fetched: {segs_after:?}"
    );
    assert!(
        segs_after.iter().any(|&i| i > 31),
        "and it is fetched ahead of 30: {segs_after:?}"
    );
    // Segment 30 went over several connections at once (ranges).
    let on30 = after.iter().filter(|h| h.seg == Some(30)).count();
    assert!(on30 >= 2, "segment 30 in {on30} requests: {after:?}");
    assert!(after.iter().all(|h| h.range.is_some()), "{after:?}");
}

/// Segment 3 is replaced by a longer version after its first request: the funnel never joins
/// pieces of the two (it refetches the segment and serves the new version whole), and a segment
/// that changes on every request is a 502, not mixed bytes.
#[tokio::test]
async fn a_segment_that_changes_between_fetches_is_never_mixed() {
    let segs = segments(6, 300 * KIB);
    let new = content(999, 0, 400 * KIB);
    let mut s = site(segs.clone(), 4 * MIB);
    s.change = Some((3, new.clone(), 2, false));
    let o = Origin::start(s).await;
    let f = Funnel::start(&o.url(), cfg(4, 256 << 10, MIB, 8)).await;
    let paths = local_paths(&f).await;
    let (b, _) = get_segment(&f, &paths[3]).await;
    assert!(
        b == new,
        "segment 3: {} bytes, neither version whole? old {} new {}",
        b.len(),
        segs[3].len(),
        new.len()
    );

    // Changing on every request: a bounded retry, then an error.
    let mut s = site(segs.clone(), 4 * MIB);
    s.change = Some((3, new.clone(), 0, true));
    let o = Origin::start(s).await;
    let f = Funnel::start(&o.url(), cfg(4, 256 << 10, MIB, 8)).await;
    let paths = local_paths(&f).await;
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        player()
            .get(format!("http://{}{}", f.addr, paths[3]))
            .send(),
    )
    .await
    .expect("no hang")
    .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("changed"), "{body}");
    // The other segments are served as usual.
    let (b, _) = get_segment(&f, &paths[4]).await;
    assert_eq!(b, segs[4]);
}

fn opts(url: String, out: std::path::PathBuf) -> DownloadOptions {
    DownloadOptions {
        url,
        output: out,
        sha256: None,
        engine: cfg(4, 256 << 10, MIB, 8),
        progress: false,
        variant: Default::default(),
    }
}

/// Runs `download` into `out` and cuts it off after `ms`: the bytes it left, checked to be some
/// but not all of `whole` bytes.
async fn cut_off_download(
    client: &reqwest::Client,
    o: &Origin,
    out: &std::path::Path,
    ms: u64,
    whole: usize,
) -> u64 {
    let r = download(
        client.clone(),
        &opts(o.url(), out.to_owned()),
        tokio::time::sleep(Duration::from_millis(ms)),
    )
    .await;
    assert!(r.is_err(), "cut off: {r:?}");
    let partial = std::fs::metadata(out).unwrap().len();
    assert!(partial > 0, "something was written before the cut");
    assert!(partial < whole as u64, "not finished before the cut");
    partial
}

/// `download` cut off part way (as by Ctrl-C) and run again: the second run resumes from the
/// segments already written (fetching none of them again) and the file is every segment, in
/// order, byte for byte.
#[tokio::test]
async fn download_resumes_after_an_interruption() {
    let segs = segments(24, 100 * KIB);
    // 2.4 MB over 4 connections of 256 KiB/s: about 2.3 s, cut off after 0.8 s.
    let o = Origin::start(site(segs.clone(), 256 * KIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.ts");
    let client = build_client(&Default::default()).unwrap();
    let whole: Vec<u8> = segs.concat();
    let partial = cut_off_download(&client, &o, &out, 800, whole.len()).await;
    let hits_first = o.hits().len();
    let rep = download(client, &opts(o.url(), out.clone()), std::future::pending())
        .await
        .unwrap();
    let got = std::fs::read(&out).unwrap();
    assert!(got == whole, "{} bytes, want {}", got.len(), whole.len());
    assert_eq!(rep.resumed, partial, "resumed from what was on disk");
    // The second run asked for no segment that was already whole in the file.
    let written: usize = {
        let mut n = 0;
        let mut at = 0u64;
        for s in &segs {
            if at + s.len() as u64 <= partial {
                n += 1;
                at += s.len() as u64;
            }
        }
        n
    };
    let again: Vec<usize> = o.hits()[hits_first..]
        .iter()
        .filter_map(|h| h.seg)
        .filter(|&i| i < written)
        .collect();
    assert!(again.is_empty(), "refetched {again:?} (written {written})");
    assert!(
        !dir.path().join("v.ts.homestream-hls").exists(),
        "sidecar removed"
    );
}

/// An origin that 403s any request without the token: with `-H` (and a cookie and a referer
/// given) the funnel and `download` send it on the playlist, the AES-128 key and every segment.
#[tokio::test]
async fn user_headers_go_on_every_playlist_key_and_segment_request() {
    let plain = segments(5, 50 * KIB);
    let key = [0x11u8; 16];
    let enc: Vec<Vec<u8>> = plain
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let iv = (i as u128).to_be_bytes();
            let mut buf = p.clone();
            buf.resize(p.len() + 16, 0);
            let n = cbc::Encryptor::<aes::Aes128>::new(&key.into(), &iv.into())
                .encrypt_padded::<Pkcs7>(&mut buf, p.len())
                .unwrap()
                .len();
            buf.truncate(n);
            buf
        })
        .collect();
    let mut s = site(enc.clone(), 4 * MIB);
    // No IV: it is the media sequence number, 0 for the first segment (RFC 8216 5.2).
    s.playlist = s.playlist.replacen(
        "#EXTINF",
        "#EXT-X-KEY:METHOD=AES-128,URI=\"k.bin\"\n#EXTINF",
        1,
    );
    s.key = Some(key);
    s.require = Some(("x-token", "s3cret"));
    let o = Origin::start(s).await;
    let with = build_client(&ClientOptions {
        headers: vec![parse_header("X-Token: s3cret").unwrap()],
        cookie: Some("sid=42".into()),
        referer: Some("http://example.test/page".into()),
        ..Default::default()
    })
    .unwrap();

    // Without the header nothing works, and it is an error, not a file.
    let dir = tempfile::tempdir().unwrap();
    let r = download(
        build_client(&Default::default()).unwrap(),
        &opts(o.url(), dir.path().join("no.ts")),
        std::future::pending(),
    )
    .await;
    assert!(r.is_err(), "{r:?}");
    assert!(o.site.refused.load(Ordering::SeqCst) > 0);
    let refused = o.site.refused.load(Ordering::SeqCst);

    // download: playlist, key, segments, all with the header; the file decrypts.
    let out = dir.path().join("v.ts");
    download(
        with.clone(),
        &opts(o.url(), out.clone()),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), plain.concat());

    // The funnel: its playlist, the key and the segments a player asks for.
    let f = Funnel::start_with(with, &o.url(), cfg(4, 256 << 10, MIB, 8))
        .await
        .unwrap();
    let text = playlist_text(&f).await;
    let key_path = text
        .split("URI=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let k = player()
        .get(format!("http://{}{key_path}", f.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(k.status(), 200);
    assert_eq!(k.bytes().await.unwrap().as_ref(), key);
    for (i, p) in local_paths(&f).await.iter().enumerate() {
        let (b, _) = get_segment(&f, p).await;
        assert_eq!(b, enc[i], "segment {i}");
    }
    assert_eq!(
        o.site.refused.load(Ordering::SeqCst),
        refused,
        "no request went without the header"
    );
}

/// A live playlist (no EXT-X-ENDLIST, a new segment each second, five listed): the funnel
/// passes every reload to the origin (a playlist is never cached, so never past its target
/// duration), rewrites the new segments, and serves them; the prefetch follows the window.
#[tokio::test]
async fn live_playlists_are_never_cached() {
    let segs = segments(60, 20 * KIB);
    let mut s = site(segs.clone(), 4 * MIB);
    s.live = Some(Instant::now());
    let o = Origin::start(s).await;
    let f = Funnel::start(&o.url(), cfg(4, 256 << 10, MIB, 8)).await;
    let playlist_hits = |o: &Origin| o.hits().iter().filter(|h| h.seg.is_none()).count();
    let before = playlist_hits(&o);
    let mut seen_first = Vec::new();
    for round in 0..3 {
        let text = playlist_text(&f).await;
        assert!(!text.contains("EXT-X-ENDLIST"), "{text}");
        let seq: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a media sequence");
        seen_first.push(seq);
        let paths: Vec<&str> = text.lines().filter(|l| l.starts_with("/hls/")).collect();
        assert_eq!(paths.len(), 5, "{text}");
        // The newest segment, as a player at the live edge asks for it.
        let (b, _) = get_segment(&f, paths[4]).await;
        assert_eq!(b, segs[seq + 4], "round {round}: segment {}", seq + 4);
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    assert_eq!(
        playlist_hits(&o) - before,
        3,
        "each reload went to the origin"
    );
    assert!(
        seen_first.windows(2).all(|w| w[1] > w[0]),
        "the window moved on every reload: {seen_first:?}"
    );
    // Nothing of the first window but what the window allows was fetched: no segment beyond
    // what the origin listed (there is none to fetch).
    assert!(o.hits().iter().filter_map(|h| h.seg).all(|i| i < 60));
}

/// What a killed `download` leaves behind resumes byte-exact: a segment written but not yet
/// recorded in the sidecar (the file is longer than the record) is cut back and fetched again,
/// and a sidecar that is not a record at all (torn by hand here; the download itself renames
/// a whole new record into place) starts the download over instead of trusting it.
#[tokio::test]
async fn download_resumes_from_what_a_killed_process_left() {
    let segs = segments(12, 100 * KIB);
    let whole: Vec<u8> = segs.concat();
    let o = Origin::start(site(segs.clone(), 256 * KIB)).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v.ts");
    let side = dir.path().join("v.ts.homestream-hls");
    let client = build_client(&Default::default()).unwrap();
    let recorded = cut_off_download(&client, &o, &out, 500, whole.len()).await;
    assert!(side.exists(), "a resume record");
    // Killed after writing half of the next segment, before recording it: junk at the end.
    let mut f = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    std::io::Write::write_all(&mut f, &[0xEE; 50 * 1024]).unwrap();
    drop(f);
    let rep = download(
        client.clone(),
        &opts(o.url(), out.clone()),
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(
        rep.resumed, recorded,
        "resumed from the record, not the file's length"
    );
    assert!(
        std::fs::read(&out).unwrap() == whole,
        "byte-exact after the junk"
    );

    // A torn record: started over, still byte-exact.
    std::fs::write(&out, &whole[..150 * 1024]).unwrap();
    std::fs::write(&side, b"{\"url\":\"http://").unwrap();
    let rep = download(client, &opts(o.url(), out.clone()), std::future::pending())
        .await
        .unwrap();
    assert_eq!(rep.resumed, 0, "a torn record is not trusted");
    assert!(
        std::fs::read(&out).unwrap() == whole,
        "byte-exact after a torn record"
    );
    assert!(!side.exists(), "record removed when done");
}

/// A master with a video variant and an audio rendition (EXT-X-MEDIA), read at once as a
/// player does: both get segments fetched ahead of the one asked for, and together they never
/// hold more than the `--connections` the user gave.
#[tokio::test]
async fn a_video_variant_and_an_audio_rendition_are_both_prefetched_within_the_connections() {
    const CONNS: usize = 4;
    let segs = segments(20, 100 * KIB);
    let mut s = site(segs.clone(), 256 * KIB);
    s.renditions = true;
    let o = Origin::start(s).await;
    let f = Funnel::start(&o.url(), cfg(CONNS, 64 << 10, MIB, 8)).await;
    let master = playlist_text(&f).await;
    let local = |name: &str| {
        master
            .lines()
            .find_map(|l| {
                let at = l.find("/hls/")?;
                let rest = &l[at..];
                let end = rest.find(['"', '\n']).unwrap_or(rest.len());
                rest[..end].ends_with(name).then(|| rest[..end].to_owned())
            })
            .unwrap_or_else(|| panic!("{name} in {master}"))
    };
    let (video, audio) = (local("video.m3u8"), local("audio.m3u8"));
    // The funnel's own count of fetches, sampled all along (the origin sees a cancelled fetch
    // go only at its next write, so its count lags).
    let hls = f.state.hls.clone().expect("an HLS funnel");
    let most = Arc::new(AtomicU32::new(0));
    let sampler = {
        let (hls, most) = (hls.clone(), most.clone());
        tokio::spawn(async move {
            loop {
                most.fetch_max(hls.fetches_running() as u32, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let vpaths = hls_paths(&text_at(&f, &video).await);
    let apaths = hls_paths(&text_at(&f, &audio).await);
    assert_eq!((vpaths.len(), apaths.len()), (20, 20));
    // From when the cancelled ones are gone at the origin too (a paced chunk is 62 ms here).
    tokio::time::sleep(Duration::from_millis(300)).await;
    o.site
        .max_in_flight
        .store(o.site.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    // The player reads segment 0 of each, in turn.
    let (v0, _) = get_segment(&f, &vpaths[0]).await;
    let (a0, _) = get_segment(&f, &apaths[0]).await;
    assert!(v0 == segs[0] && a0 == segs[0]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hits = o.hits();
    let ahead = |audio: bool| -> std::collections::BTreeSet<usize> {
        hits.iter()
            .filter(|h| h.audio == audio)
            .filter_map(|h| h.seg)
            .filter(|&i| i > 0)
            .collect()
    };
    let (va, aa) = (ahead(false), ahead(true));
    assert!(va.len() >= 2, "video fetched ahead of 0: {va:?}");
    assert!(aa.len() >= 2, "audio fetched ahead of 0: {aa:?}");
    sampler.abort();
    let held = most.load(Ordering::SeqCst);
    assert!(
        held as usize <= CONNS && held >= 2,
        "the funnel held {held} fetches at once with --connections {CONNS}"
    );
    let max = o.site.max_in_flight.load(Ordering::SeqCst);
    assert!(
        max as usize <= CONNS,
        "the origin saw {max} segment requests at once with --connections {CONNS}"
    );
    // Both are served from what was fetched ahead, byte for byte.
    let (v1, _) = get_segment(&f, &vpaths[1]).await;
    let (a1, _) = get_segment(&f, &apaths[1]).await;
    assert!(v1 == segs[1] && a1 == segs[1]);
}

/// A key the origin fails to serve once (503) fails that request (502) but not the next: the
/// funnel keeps no failure, only bytes.
#[tokio::test]
async fn a_key_that_failed_once_is_fetched_again() {
    let mut s = site(segments(3, 10 * KIB), 4 * MIB);
    s.playlist = s.playlist.replacen(
        "#EXTINF",
        "#EXT-X-KEY:METHOD=AES-128,URI=\"k.bin\"\n#EXTINF",
        1,
    );
    s.key = Some([0x22; 16]);
    s.key_failures.store(1, Ordering::SeqCst);
    let o = Origin::start(s).await;
    let f = Funnel::start(&o.url(), cfg(2, 256 << 10, MIB, 8)).await;
    let text = playlist_text(&f).await;
    let key_path = text
        .lines()
        .find_map(|l| l.split("URI=\"").nth(1)?.split('"').next())
        .expect("the key's URI")
        .to_owned();
    let get = |p: String| {
        let url = format!("http://{}{p}", f.addr);
        async move { player().get(url).send().await.unwrap() }
    };
    assert_eq!(
        get(key_path.clone()).await.status(),
        502,
        "the origin's 503"
    );
    let again = get(key_path.clone()).await;
    assert_eq!(again.status(), 200, "fetched again");
    assert_eq!(again.bytes().await.unwrap().as_ref(), &[0x22; 16]);
    // And kept now: a third request costs the origin nothing.
    let fetched = |o: &Origin| o.hits().iter().filter(|h| h.seg.is_none()).count();
    let before = fetched(&o);
    assert_eq!(get(key_path).await.status(), 200);
    assert_eq!(fetched(&o), before, "served from the cache");
}

/// A VOD of 5000 segments (hours of video): the first and the last segment are both served
/// (every URI of a playlist stays numbered however long it is), and a playlist naming more
/// than the 200 000 segments `download` allows is a 502 saying so, not a funnel that holds it.
#[tokio::test]
async fn a_vod_of_thousands_of_segments_plays_from_its_start_and_huge_ones_are_refused() {
    let segs = segments(5000, 200);
    let o = Origin::start(site(segs.clone(), 64 * MIB)).await;
    let f = Funnel::start(&o.url(), cfg(2, 256 << 10, MIB, 8)).await;
    let paths = local_paths(&f).await;
    assert_eq!(paths.len(), 5000);
    let (first, _) = get_segment(&f, &paths[0]).await;
    assert!(first == segs[0], "segment 0");
    let (last, _) = get_segment(&f, &paths[4999]).await;
    assert!(last == segs[4999], "segment 4999");

    let mut huge = site(Vec::new(), 64 * MIB);
    huge.playlist = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:2\n");
    for i in 0..200_001 {
        huge.playlist
            .push_str(&format!("#EXTINF:2.0,\nseg{i:06}.ts\n"));
    }
    huge.playlist.push_str("#EXT-X-ENDLIST\n");
    let o = Origin::start(huge).await;
    let f = Funnel::start(&o.url(), cfg(2, 256 << 10, MIB, 8)).await;
    let r = player().get(f.url()).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let msg = r.text().await.unwrap();
    assert!(msg.contains("more than 200000"), "{msg}");
}
