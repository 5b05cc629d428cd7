//! Every route of the server's own route table, behind the login, for every kind of caller.
//! A route added later shows up in `Server::routes` and so in this test: if it has a path
//! parameter this test does not know, the test fails and asks for an example.

mod common;

use homestream_auth::AuthConfig;
use homestream_auth::password::HashParams;
use homestream_auth::ratelimit::RateLimitConfig;
use homestream_server::{ServeConfig, Server, Tls};
use reqwest::{StatusCode, header};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use homestream_test_support::{PASSWORD, USER, users_file};

async fn start(media: &Path, users: &Path, session_ttl: Duration) -> Server {
    let limits = RateLimitConfig {
        pair_free: 1_000_000,
        ip_free: 1_000_000,
        ..RateLimitConfig::default()
    };
    homestream_server::start(ServeConfig {
        paths: vec![media.to_path_buf()],
        bind: Some(Ipv4Addr::LOCALHOST.into()),
        port: Some(0),
        live: vec!["demo=test:160x120@5".parse().unwrap()],
        auth: Some(users.to_path_buf()),
        auth_config: AuthConfig {
            hash_params: HashParams::cheap(),
            session_ttl,
            limits,
            ..AuthConfig::default()
        },
        tls: Tls::Off,
        no_sendfile: false,
        state_dir: None,
        webrtc: Default::default(),
        ..Default::default()
    })
    .await
    .expect("server starts")
}

/// A concrete URL path for a route pattern.
fn example(pattern: &str) -> String {
    // The file-play routes: a playlist of a plan, a subtitle stream.
    match pattern {
        "/hls/{*path}" => return "/hls/a.mp4/vcopy-an/index.m3u8".into(),
        "/subs/{*path}" => return "/subs/a.mp4?stream=2".into(),
        _ => {}
    }
    let filled = pattern
        .replace("/browse/{*path}", "/browse/sub/")
        .replace("{*path}", "a.mp4")
        .replace("/vtt/a.mp4", "/vtt/a.srt")
        .replace("/assets/{name}", "/assets/style.css")
        .replace("/hls/{file}", "/hls/00000000-i1.mp4")
        .replace("/live/{name}", "/live/demo")
        .replace("/whep/{id}", "/whep/0123456789abcdef0123456789abcdef");
    assert!(
        !filled.contains('{'),
        "route {pattern} has a parameter this test has no example for: add one"
    );
    filled
}

fn media_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.mp4"), b"not really a movie").unwrap();
    std::fs::write(
        dir.path().join("a.srt"),
        "1\n00:00:01,000 --> 00:00:02,000\nHi\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    dir
}

enum Cred<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
    Cookie(&'a str),
}

async fn status(client: &reqwest::Client, url: &str, cred: &Cred<'_>) -> StatusCode {
    answer(client, url, cred).await.status()
}

async fn answer(client: &reqwest::Client, url: &str, cred: &Cred<'_>) -> reqwest::Response {
    let mut req = client.get(url);
    req = match cred {
        Cred::None => req,
        Cred::Basic(u, p) => req.basic_auth(u, Some(p)),
        Cred::Bearer(t) => req.bearer_auth(t),
        Cred::Cookie(id) => req.header(header::COOKIE, format!("hs_session={id}")),
    };
    // Only the status matters; live streams never end, so do not read bodies.
    tokio::time::timeout(Duration::from_secs(20), req.send())
        .await
        .expect("answer within 20 s")
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_kind_of_caller() {
    let media = media_dir();
    let secrets = tempfile::tempdir().unwrap();
    let creds = users_file(secrets.path());
    let users = creds.path.clone();
    let server = start(media.path(), &users, Duration::from_secs(3600)).await;
    let auth = server.auth.clone().expect("auth on");
    let session = auth.create_session(USER);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", server.local_addr);
    assert!(server.routes.len() >= 7, "{:?}", server.routes);

    for route in &server.routes {
        let url = format!("{base}{}", example(&route.path));
        let refused = [
            ("no credentials", Cred::None),
            ("wrong password", Cred::Basic(USER, "wrong")),
            ("unknown user", Cred::Basic("mallory", PASSWORD)),
            ("revoked token", Cred::Bearer(&creds.revoked)),
            ("made-up token", Cred::Bearer("hst_00000000_deadbeef")),
            ("made-up session", Cred::Cookie("0123456789abcdef")),
        ];
        for (what, cred) in &refused {
            let s = status(&client, &url, cred).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{} with {what}", route.path);
        }
        let admitted = [
            ("valid session", Cred::Cookie(&session)),
            ("valid token", Cred::Bearer(&creds.valid)),
            ("valid password", Cred::Basic(USER, PASSWORD)),
        ];
        for (what, cred) in &admitted {
            let res = answer(&client, &url, cred).await;
            let s = res.status();
            let location = res
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok());
            // Admitted: a success, a redirect elsewhere than the login page (`/live/x` to
            // `/live/x/`), or a WebSocket route's upgrade error, or a WHEP route's 405, for a
            // plain GET, or the 404 of an LL-HLS part name no muxer made, or the 422 of a
            // fake film.
            let ok = s.is_success()
                || (s.is_redirection() && !location.unwrap_or("/login").starts_with("/login"))
                || (route.path.ends_with("/ws")
                    && s.is_client_error()
                    && s != StatusCode::UNAUTHORIZED)
                // An LL-HLS part of no running muxer: past the gate, not found.
                || (route.path.ends_with("/hls/{file}") && s == StatusCode::NOT_FOUND)
                || (route.path.contains("/whep") && s == StatusCode::METHOD_NOT_ALLOWED)
                // The file-play routes on a file that is no film: past the gate, ffmpeg
                // cannot read it.
                || (["/api/play/", "/hls/", "/poster/", "/subs/"]
                    .iter()
                    .any(|p| route.path.starts_with(p))
                    && s == StatusCode::UNPROCESSABLE_ENTITY);
            assert!(ok, "{} with {what}: {s} {location:?}", route.path);
        }
        // A browser navigation without a session is sent to the login page.
        let nav = client
            .get(&url)
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        if nav.status() == StatusCode::SEE_OTHER {
            let to = nav.headers()[header::LOCATION].to_str().unwrap();
            assert!(to.starts_with("/login"), "{} redirects to {to}", route.path);
        } else {
            assert_eq!(nav.status(), StatusCode::UNAUTHORIZED, "{}", route.path);
        }
    }
    // A CORS preflight of the WHEP endpoint passes the gate (it carries no credentials by
    // design); the offer itself does not.
    let pre = client
        .request(reqwest::Method::OPTIONS, format!("{base}/live/demo/whep"))
        .header(header::ORIGIN, "http://player.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), StatusCode::NO_CONTENT);
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    let offer = client
        .post(format!("{base}/live/demo/whep"))
        .header(header::CONTENT_TYPE, "application/sdp")
        .body("v=0\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(offer.status(), StatusCode::UNAUTHORIZED);
    // Unknown paths are refused like known ones.
    let s = status(&client, &format!("{base}/no/such/route"), &Cred::None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Logout ends the session on the server.
    let out = client
        .post(format!("{base}/logout"))
        .header(header::COOKIE, format!("hs_session={session}"))
        .header(header::ORIGIN, &base)
        .send()
        .await
        .unwrap();
    assert!(
        out.status().is_redirection() || out.status().is_success(),
        "{}",
        out.status()
    );
    let s = status(
        &client,
        &format!("{base}/api/status"),
        &Cred::Cookie(&session),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "session after logout");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_refused_on_every_route() {
    let media = media_dir();
    let secrets = tempfile::tempdir().unwrap();
    let users = users_file(secrets.path()).path;
    let server = start(media.path(), &users, Duration::from_secs(1)).await;
    let session = server.auth.clone().unwrap().create_session(USER);
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.local_addr);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for route in &server.routes {
        let url = format!("{base}{}", example(&route.path));
        let s = status(&client, &url, &Cred::Cookie(&session)).await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{} with an expired session",
            route.path
        );
    }
    server.shutdown().await;
}
