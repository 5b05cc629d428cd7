//! The gate over real TCP: a small router with a page, a media-like route, an API route and a
//! WebSocket route, wrapped by `protect()`, served on 127.0.0.1:0.

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{PASSWORD, Server, cheap, start};
use homestream_auth::AuthConfig;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// What a client can send.
#[derive(Clone, Copy)]
enum Cred<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
    Cookie(&'a str),
}

fn cred_headers(c: Cred<'_>) -> Vec<(String, String)> {
    use base64::Engine;
    match c {
        Cred::None => vec![],
        Cred::Basic(u, p) => vec![(
            "authorization".into(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            ),
        )],
        Cred::Bearer(t) => vec![("authorization".into(), format!("Bearer {t}"))],
        Cred::Cookie(c) => vec![("cookie".into(), c.to_owned())],
    }
}

const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

async fn get_status(s: &Server, path: &str, accept: &str, c: Cred<'_>) -> (StatusCode, HeaderMap) {
    let mut rq = client_from("127.0.0.1")
        .get(format!("{}{path}", s.base))
        .header(header::ACCEPT, accept);
    for (k, v) in cred_headers(c) {
        rq = rq.header(k, v);
    }
    let r = rq.send().await.unwrap();
    (r.status(), r.headers().clone())
}

/// WebSocket upgrade over a raw socket; returns the status code of the answer.
async fn ws_status(s: &Server, c: Cred<'_>) -> u16 {
    let mut sock = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let mut req = format!(
        "GET /live/demo/ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        s.addr
    );
    for (k, v) in cred_headers(c) {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(10), sock.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    std::str::from_utf8(&buf[9..12]).unwrap().parse().unwrap()
}

async fn login_from(s: &Server, ip: &str, user: &str, pw: &str, next: &str) -> reqwest::Response {
    login_with(&client_from(ip), s, user, pw, next).await
}

async fn login_with(
    c: &reqwest::Client,
    s: &Server,
    user: &str,
    pw: &str,
    next: &str,
) -> reqwest::Response {
    let body = format!("user={}&password={}&next={}", enc(user), enc(pw), enc(next));
    c.post(format!("{}/login", s.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, HTML)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn session_cookie(r: &reqwest::Response) -> String {
    let sc = r.headers()[header::SET_COOKIE].to_str().unwrap();
    sc.split(';').next().unwrap().to_owned()
}

const NON_PAGES: [&str; 4] = [
    "/media/films/a.mp4",
    "/api/status",
    "/live/demo/index.m3u8",
    "/no/such/route",
];

/// Asserts every route refuses `c`: page navigations redirect to /login (when anonymous) or
/// get 401, everything else 401 with both challenges; the WebSocket upgrade gets 401.
async fn assert_refused(s: &Server, c: Cred<'_>, what: &str) {
    let (st, h) = get_status(s, "/", HTML, c).await;
    if matches!(c, Cred::None | Cred::Cookie(_)) {
        assert_eq!(st, StatusCode::SEE_OTHER, "{what}: page");
        assert_eq!(h[header::LOCATION], "/login?next=%2F", "{what}");
    } else {
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{what}: page");
    }
    for p in NON_PAGES {
        let (st, h) = get_status(s, p, "*/*", c).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{what}: {p}");
        let ch: Vec<_> = h.get_all(header::WWW_AUTHENTICATE).iter().collect();
        assert_eq!(ch.len(), 2, "{what}: {p}: {ch:?}");
        assert!(ch[0].to_str().unwrap().starts_with("Basic realm="));
        assert!(ch[1].to_str().unwrap().starts_with("Bearer realm="));
    }
    assert_eq!(ws_status(s, c).await, 401, "{what}: ws");
}

async fn assert_admitted(s: &Server, c: Cred<'_>, what: &str) {
    let (st, _) = get_status(s, "/", HTML, c).await;
    assert_eq!(st, StatusCode::OK, "{what}: page");
    for p in NON_PAGES {
        let want = if p == "/no/such/route" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(get_status(s, p, "*/*", c).await.0, want, "{what}: {p}");
    }
    assert_eq!(ws_status(s, c).await, 101, "{what}: ws");
}

#[tokio::test]
async fn anonymous_wrong_unknown_revoked_expired_are_refused() {
    // Each case sends 6 requests; lift the guessing limits so every one gets a real check
    // (the limits have their own test below).
    let mut config = cheap();
    config.limits.pair_free = 100;
    config.limits.ip_free = 100;
    let s = start(config).await;
    assert_refused(&s, Cred::None, "no credentials").await;
    assert_refused(&s, Cred::Basic("alice", "wrong password"), "wrong password").await;
    assert_refused(&s, Cred::Basic("mallory", PASSWORD), "unknown user").await;
    assert_refused(&s, Cred::Bearer(&s.tokens.revoked), "revoked token").await;
    assert_refused(&s, Cred::Bearer(&s.tokens.expired), "expired token").await;
    assert_refused(&s, Cred::Bearer("hst_00000000_00"), "made-up token").await;
    assert_refused(&s, Cred::Cookie("hs_session=0123abcd"), "made-up session").await;
}

#[tokio::test]
async fn session_token_basic_are_admitted_and_logout_ends_session() {
    let s = start(cheap()).await;
    assert_admitted(&s, Cred::Bearer(&s.tokens.valid), "valid token").await;
    assert_admitted(&s, Cred::Basic("alice", PASSWORD), "basic").await;

    let r = login_from(&s, "127.0.0.1", "alice", PASSWORD, "/watch/a%20b.mp4").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/watch/a%20b.mp4");
    let sc = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
        assert!(sc.contains(attr), "{sc}");
    }
    assert!(!sc.contains("Secure"), "plain HTTP: no Secure");
    let cookie = session_cookie(&r);
    assert_admitted(&s, Cred::Cookie(&cookie), "valid session").await;

    let r = client_from("127.0.0.1")
        .post(format!("{}/logout", s.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/login");
    assert!(
        r.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_refused(&s, Cred::Cookie(&cookie), "after logout").await;
}

#[tokio::test]
async fn browsers_get_no_basic_challenge() {
    let s = start(cheap()).await;
    let r = client_from("127.0.0.1")
        .get(format!("{}/api/status", s.base))
        .header("sec-fetch-mode", "cors")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let ch: Vec<_> = r
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .collect();
    assert_eq!(ch, ["Bearer realm=\"homestream\""]);
}

#[tokio::test]
async fn expired_session_is_refused() {
    let s = start(AuthConfig {
        session_ttl: Duration::from_millis(1500),
        ..cheap()
    })
    .await;
    let r = login_from(&s, "127.0.0.1", "alice", PASSWORD, "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    assert_eq!(
        get_status(&s, "/api/status", "*/*", Cred::Cookie(&cookie))
            .await
            .0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_refused(&s, Cred::Cookie(&cookie), "expired session").await;
}

#[tokio::test]
async fn login_page_messages_and_safe_next() {
    let s = start(cheap()).await;
    let c = client_from("127.0.0.1");
    let r = c
        .get(format!("{}/login?next=%2Flive%2Fdemo%2F", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(body.contains("value=\"/live/demo/\""), "{body}");
    assert!(body.contains("name=\"viewport\""));

    let r = login_from(&s, "127.0.0.1", "alice", "nope nope", "/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("wrong user or password"));
    let r = login_from(&s, "127.0.0.1", "nobody", "nope nope", "/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("wrong user or password"));

    for evil in [
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let r = login_from(&s, "127.0.0.1", "alice", PASSWORD, evil).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/", "{evil}");
    }

    let r = c
        .post(format!("{}/login", s.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "http://evil.example")
        .body(format!("user=alice&password={}", enc(PASSWORD)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "cross-origin login");
}

#[tokio::test]
async fn secure_cookie_under_tls_flag() {
    let s = start(AuthConfig {
        secure_cookies: true,
        ..cheap()
    })
    .await;
    let r = login_from(&s, "127.0.0.1", "alice", PASSWORD, "/").await;
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.split(';').skip(1).any(|a| a.trim() == "Secure"),
        "{set}"
    );
}

/// 1000 wrong logins in a burst from 127.0.0.1 are refused with 429 after the free ones;
/// the right password from 127.0.0.2 still works at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_burst_does_not_lock_out_other_addresses() {
    // A backoff longer than any burst can take, so that "the attacker is still held back"
    // below does not depend on how fast this machine runs the burst.
    let mut config = cheap();
    config.limits.base_delay = Duration::from_secs(120);
    let s = Arc::new(start(config).await);
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(50));
    // One client (connection pool) for the attacker, as a real one would use.
    let attacker = client_from("127.0.0.1");
    for i in 0..1000 {
        let s = s.clone();
        let gate = gate.clone();
        let attacker = attacker.clone();
        set.spawn(async move {
            let _p = gate.acquire().await.unwrap();
            let r = login_with(&attacker, &s, "alice", &format!("guess {i}"), "/").await;
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().unwrap().to_owned());
            let body = r.text().await.unwrap();
            (status, retry, body)
        });
    }
    let (mut wrong, mut limited) = (0, 0);
    while let Some(res) = set.join_next().await {
        let (kind, retry, body) = res.unwrap();
        match kind {
            401 => wrong += 1,
            429 => {
                limited += 1;
                let n: u64 = retry.expect("Retry-After").parse().unwrap();
                assert!((1..=900).contains(&n));
                assert!(
                    body.contains(&format!("too many attempts, try again in {n} s")),
                    "{body}"
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let burst = started.elapsed();
    eprintln!("burst of 1000: {wrong} checked (401), {limited} refused (429) in {burst:?}");
    // 5 free failures, then waits of 1, 2, 4 ... s: however slow the burst, only a handful
    // of passwords get checked.
    assert!((5..=5 + 12).contains(&wrong), "{wrong} passwords checked");
    assert_eq!(wrong + limited, 1000);

    // The owner from another address: in at once.
    let t = Instant::now();
    let r = login_from(&s, "127.0.0.2", "alice", PASSWORD, "/").await;
    let took = t.elapsed();
    eprintln!(
        "correct login from 127.0.0.2 after the burst: {} in {took:?}",
        r.status()
    );
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers().get(header::RETRY_AFTER).is_none());
    assert!(took < Duration::from_secs(5), "{took:?}");
    let cookie = session_cookie(&r);
    assert_eq!(
        get_status(&s, "/api/status", "*/*", Cred::Cookie(&cookie))
            .await
            .0,
        StatusCode::OK
    );

    // The attacking address is still held back, even with the right password.
    let r = login_from(&s, "127.0.0.1", "alice", PASSWORD, "/").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    // HTTP Basic from the attacking address is throttled the same way (429 + Retry-After).
    let (st, h) = get_status(&s, "/api/status", "*/*", Cred::Basic("alice", "guess")).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert!(h.contains_key(header::RETRY_AFTER));
}
