//! A tiny server with a few dummy routes behind the gate, to try the login page by hand or
//! with tests/browser/auth_login.mjs:
//!
//! ```text
//! homestream user add alice --users users.toml
//! cargo run -p homestream-auth --example gate_demo -- users.toml 8123
//! # or, without the binary: HS_PASSWORD=... creates user `demo` when the file is missing
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use homestream_auth::Auth;
use homestream_auth::http::{AuthUser, protect};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let users = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: gate_demo USERS_FILE [PORT]"))?;
    let port: u16 = args.next().map_or(Ok(8123), |p| p.parse())?;
    if !std::path::Path::new(&users).exists() {
        // Convenience for trying it out: create user `demo` with the password in HS_PASSWORD.
        let pw = std::env::var("HS_PASSWORD").map_err(|_| {
            anyhow::anyhow!("{users} does not exist; set HS_PASSWORD to create user demo")
        })?;
        let mut f = homestream_auth::users::UsersFile::default();
        let hash = homestream_auth::password::hash_password(&pw, Default::default())?;
        f.set_user("demo", hash, false)?;
        f.save(std::path::Path::new(&users))?;
    }
    let auth = Arc::new(Auth::load(&users)?);
    let app = Router::new()
        .route(
            "/",
            get(|axum::Extension(u): axum::Extension<AuthUser>| async move {
                Html(format!(
                    "<!doctype html><meta name=viewport content='width=device-width'>\
                     <p>hello {} ({:?})</p>\
                     <form method=post action=/logout><button id=logout>Log out</button></form>",
                    u.name, u.via
                ))
            }),
        )
        .route("/api/status", get(|| async { "{\"ok\":true}" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("http://{}/", listener.local_addr()?);
    axum::serve(
        listener,
        protect(app, Some(auth)).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
