//! HLS through the funnel: playlists rewritten to local URIs that keep the file name, segments
//! served, and the funnel refusing to fetch anything its playlists did not name (it is reachable
//! from the LAN with `--bind`: it must not be an open proxy carrying the user's headers).

mod common;

use common::origin::{TestOrigin, content};
use common::{Funnel, cfg, player};
use homestream_funnel::client::{ClientOptions, build_client, parse_header};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use std::process::Command;

const MIB: u64 = 1 << 20;

/// Puts a VOD playlist `/hls/index.m3u8` naming `segs` as `seg{i}.ts` on the origin.
fn vod(o: &TestOrigin, segs: &[Vec<u8>]) {
    let mut files = o.state.files.lock().unwrap();
    let mut pl = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
    for (i, s) in segs.iter().enumerate() {
        pl.push_str(&format!("#EXTINF:4,\nseg{i}.ts\n"));
        files.push((format!("/hls/seg{i}.ts"), "video/mp2t", s.clone().into()));
    }
    pl.push_str("#EXT-X-ENDLIST\n");
    files.push((
        "/hls/index.m3u8".into(),
        "application/vnd.apple.mpegurl",
        pl.into(),
    ));
}

fn segments(n: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| content(20 + i, 0, 100_000 + i * 10))
        .collect()
}

/// A client sending the user's own headers (as `-H` and `--cookie` do).
fn with_secrets() -> reqwest::Client {
    build_client(&ClientOptions {
        headers: vec![parse_header("X-Token: s3cret").unwrap()],
        cookie: Some("sid=42".into()),
        ..Default::default()
    })
    .unwrap()
}

/// A funnel of the origin's `/hls/index.m3u8` sending the user's headers, with `connections`,
/// whose playlist has been served once (so its URLs are numbered).
async fn funnel_with_secrets(o: &TestOrigin, connections: usize) -> Funnel {
    let f = Funnel::start_with(
        with_secrets(),
        &o.url("/hls/index.m3u8"),
        cfg(connections, 256 << 10, MIB, 2),
    )
    .await
    .unwrap();
    playlist(&f).await;
    f
}

/// Waits until the origin saw no new request for 300 ms (at most 5 s).
async fn settle(o: &TestOrigin) {
    let mut n = o.seen().len();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let m = o.seen().len();
        if m == n {
            return;
        }
        n = m;
    }
    panic!("the origin kept getting requests");
}

async fn status(f: &Funnel, path: &str) -> u16 {
    player()
        .get(format!("http://{}{path}", f.addr))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn playlist(f: &Funnel) -> String {
    let r = player().get(f.url()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/vnd.apple.mpegurl");
    r.text().await.unwrap()
}

fn encoded(url: &str) -> String {
    format!("/hls/{}", utf8_percent_encode(url, NON_ALPHANUMERIC))
}

#[tokio::test]
async fn playlist_is_rewritten_and_segments_served_under_their_names() {
    let o = TestOrigin::start(MIB, 0).await;
    let segs = segments(5);
    vod(&o, &segs);
    let f = Funnel::start(&o.url("/hls/index.m3u8"), cfg(4, 256 << 10, MIB, 2)).await;
    let text = playlist(&f).await;
    let uris: Vec<&str> = text.lines().filter(|l| l.starts_with("/hls/")).collect();
    let want: Vec<String> = (0..5).map(|i| format!("/hls/{i}/seg{i}.ts")).collect();
    assert_eq!(uris, want, "{text}");
    for (i, u) in uris.iter().enumerate() {
        let b = player()
            .get(format!("http://{}{}", f.addr, u))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(b.to_vec(), segs[i], "segment {i}");
    }
}

/// Requests for URLs no served playlist named: the old "any percent-encoded URL" form (another
/// server, another host name for the origin, another port, `file:`, user info), an unknown
/// number, a known number with another name. Each is 403 and no server sees a request.
#[tokio::test]
async fn refuses_every_url_its_playlists_did_not_name() {
    let o = TestOrigin::start(MIB, 0).await;
    vod(&o, &segments(2));
    let other = TestOrigin::start(3 * MIB, 0).await;
    let f = funnel_with_secrets(&o, 4).await;
    let port = o.addr.port();
    let hostile = [
        encoded(&other.url("/secret.bin")),
        encoded(&format!("http://localhost:{port}/hls/seg0.ts")),
        encoded(&format!(
            "http://127.0.0.1:{}/hls/seg0.ts",
            other.addr.port()
        )),
        encoded(&format!("http://u:p@127.0.0.1:{port}/hls/seg0.ts")),
        encoded(&o.url("/hls/seg0.ts")),
        encoded("file:///etc/passwd"),
        format!("/hls/http://127.0.0.1:{}/secret.bin", other.addr.port()),
        "/hls/99/seg0.ts".into(),
        "/hls/0/secret.bin".into(),
        "/hls/0".into(),
    ];
    // The funnel prefetches the playlist's segments as soon as it served it: let that end.
    settle(&o).await;
    let before = o.seen().len();
    for path in &hostile {
        assert_eq!(status(&f, path).await, 403, "{path}");
    }
    assert!(other.seen().is_empty(), "{:?}", other.seen());
    assert_eq!(o.seen().len(), before, "no request reached the origin");
    // The legitimate one still works.
    assert_eq!(status(&f, "/hls/0/seg0.ts").await, 200);
}

/// A playlist naming `file:` and user-info URIs: they are never numbered (left as they stand,
/// so nothing under `/hls/` leads to them) and never fetched.
#[tokio::test]
async fn playlist_uris_it_never_fetches_are_left_alone() {
    let o = TestOrigin::start(MIB, 0).await;
    let other = TestOrigin::start(MIB, 0).await;
    let evil = format!("http://user:pw@{}/secret.bin", other.addr);
    let pl = format!(
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-KEY:METHOD=AES-128,URI=\"file:///etc/passwd\"\n#EXTINF:4,\n{evil}\n#EXTINF:4,\nseg0.ts\n#EXT-X-ENDLIST\n"
    );
    {
        let mut files = o.state.files.lock().unwrap();
        files.push((
            "/hls/index.m3u8".into(),
            "application/vnd.apple.mpegurl",
            pl.into(),
        ));
        files.push(("/hls/seg0.ts".into(), "video/mp2t", vec![1u8; 10].into()));
    }
    let f = Funnel::start(&o.url("/hls/index.m3u8"), cfg(4, 256 << 10, MIB, 2)).await;
    let text = playlist(&f).await;
    assert!(text.contains("URI=\"file:///etc/passwd\""), "{text}");
    assert!(text.contains(&format!("\n{evil}\n")), "{text}");
    assert!(text.contains("\n/hls/0/seg0.ts\n"), "{text}");
    assert_eq!(f.state.hls.as_ref().unwrap().allowed_len(), 1);
    assert_eq!(status(&f, "/hls/0/seg0.ts").await, 200);
    assert!(other.seen().is_empty());
}

/// A segment whose origin answers with a redirect to another server: with the user's headers
/// set, the funnel does not follow it (502), so the other server never sees them; a redirect on
/// the same server is followed.
#[tokio::test]
async fn redirects_leaving_the_origin_are_not_followed_with_the_users_headers() {
    let o = TestOrigin::start(MIB, 0).await;
    let segs = segments(3);
    vod(&o, &segs);
    let other = TestOrigin::start(MIB, 0).await;
    let away = [
        other.url("/hls/seg1.ts"),
        format!("http://localhost:{}/hls/seg1.ts", o.addr.port()),
    ];
    {
        let mut m = o.state.moved.lock().unwrap();
        m.push(("/hls/seg1.ts".into(), away[0].clone()));
        m.push(("/hls/seg2.ts".into(), "/hls/real2.ts".into()));
        o.state.files.lock().unwrap().push((
            "/hls/real2.ts".into(),
            "video/mp2t",
            segs[2].clone().into(),
        ));
    }
    // One connection: no prefetch of segment 1 while segment 0 is asked for.
    let f = funnel_with_secrets(&o, 1).await;
    assert_eq!(status(&f, "/hls/1/seg1.ts").await, 502);
    let b = player()
        .get(format!("http://{}/hls/2/seg2.ts", f.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(b.status(), 200);
    assert_eq!(b.bytes().await.unwrap().to_vec(), segs[2]);
    assert!(other.seen().is_empty(), "{:?}", other.seen());
    // Another host name for the same address is another server too.
    o.state.moved.lock().unwrap()[0].1 = away[1].clone();
    let n = o.seen().len();
    let f = funnel_with_secrets(&o, 1).await;
    // The prefetch's failure is what the player gets: one request for the segment in all.
    assert_eq!(status(&f, "/hls/1/seg1.ts").await, 502);
    settle(&o).await;
    let asked = o.seen()[n..]
        .iter()
        .filter(|s| s.path == "/hls/seg1.ts")
        .count();
    assert_eq!(asked, 1, "the redirect to localhost was not followed");
    for s in o.seen() {
        assert_eq!(s.headers["x-token"], "s3cret", "{}", s.path);
    }
}

/// The origin URL itself redirecting to another server: refused when the user's headers would go
/// along (the error says why), followed when none are given.
#[tokio::test]
async fn origin_redirect_to_another_server_needs_no_user_headers() {
    let o = TestOrigin::start(MIB, 0).await;
    let other = TestOrigin::start(MIB, 0).await;
    o.state
        .moved
        .lock()
        .unwrap()
        .push(("/away".into(), other.url("/v.bin")));
    let e = Funnel::start_with(with_secrets(), &o.url("/away"), cfg(2, 256 << 10, MIB, 2))
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("another server"), "{e}");
    assert!(other.seen().is_empty());
    let f = Funnel::start(&o.url("/away"), cfg(2, 256 << 10, MIB, 2)).await;
    assert_eq!(f.state.origin.url.as_str(), other.url("/v.bin"));
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-version").output().is_ok()
}

/// ffmpeg checks a segment URL's extension before it loads it (Debian's 5.1 refuses
/// `.../seg000%2Ets`): it reads a whole HLS VOD that ffmpeg itself wrote, through the funnel,
/// and decodes every frame.
#[tokio::test]
async fn ffmpeg_reads_the_playlist_through_the_funnel() {
    assert!(
        have("ffmpeg") && have("ffprobe"),
        "needs Debian's ffmpeg (bash scripts/test.sh installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg("testsrc=duration=6:size=160x120:rate=10")
        .args([
            "-c:v",
            "mpeg2video",
            "-g",
            "10",
            "-f",
            "hls",
            "-hls_time",
            "2",
        ])
        .args(["-hls_playlist_type", "vod", "-hls_segment_filename"])
        .arg(dir.path().join("seg%03d.ts"))
        .arg(dir.path().join("index.m3u8"))
        .status()
        .unwrap();
    assert!(st.success());
    let o = TestOrigin::start(MIB, 0).await;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        let ct = if name.ends_with(".m3u8") {
            "application/vnd.apple.mpegurl"
        } else {
            "video/mp2t"
        };
        o.state.files.lock().unwrap().push((
            format!("/v/{name}"),
            ct,
            std::fs::read(&p).unwrap().into(),
        ));
    }
    let f = Funnel::start(&o.url("/v/index.m3u8"), cfg(4, 256 << 10, MIB, 2)).await;
    let url = f.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // ffprobe lists the stream under its HLS program and again on its own.
    let counts: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            l.trim_matches(|c: char| c == ',' || c.is_whitespace())
                .to_owned()
        })
        .filter(|l| !l.is_empty())
        .collect();
    assert!(!counts.is_empty(), "{stderr}");
    assert!(
        counts.iter().all(|c| c == "60"),
        "frames decoded: {counts:?} {stderr}"
    );
    assert!(!stderr.contains("allowed"), "{stderr}");
}
