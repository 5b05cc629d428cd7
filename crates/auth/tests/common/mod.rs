//! Shared by the HTTP tests: a small router (a page, a media-like route, an API route, an HLS
//! playlist and a WebSocket route) behind `protect()`, served on 127.0.0.1:0.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use homestream_auth::http::protect;
use homestream_auth::password::HashParams;
use homestream_auth::{Auth, AuthConfig};
use reqwest::StatusCode;

pub const PASSWORD: &str = homestream_test_support::PASSWORD;

pub fn app() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { Html("<link rel=\"icon\" href=\"data:,\"><h1>library</h1>") }),
        )
        .route("/media/{*path}", get(|| async { "media bytes" }))
        .route("/api/status", get(|| async { "{\"ok\":true}" }))
        .route("/live/{name}/index.m3u8", get(|| async { "#EXTM3U\n" }))
        .route(
            "/live/{name}/ws",
            get(|ws: WebSocketUpgrade| async move { ws.on_upgrade(|_socket| async {}) }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "nothing here").into_response() })
}

pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
    pub tokens: Tokens,
}

pub struct Tokens {
    pub valid: String,
    pub revoked: String,
    pub expired: String,
}

pub async fn start(config: AuthConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let users = homestream_test_support::users_file(dir.path());
    let auth = Arc::new(Auth::load_with(&users.path, config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = protect(app(), Some(auth)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, svc).await.unwrap() });
    Server {
        base: format!("http://{addr}"),
        addr,
        _dir: dir,
        tokens: Tokens {
            valid: users.valid,
            revoked: users.revoked,
            expired: users.expired,
        },
    }
}

pub fn cheap() -> AuthConfig {
    AuthConfig {
        hash_params: HashParams::cheap(),
        ..Default::default()
    }
}
