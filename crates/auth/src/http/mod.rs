//! The HTTP gate for axum 0.8: `/login`, `/logout`, and a check in front of every other route.
//!
//! Credentials, in order: the session cookie (browsers), `Authorization: Bearer` (RFC 6750,
//! tokens from `homestream token create`), `Authorization: Basic` (RFC 7617, players and
//! scripts). Anonymous browser navigations are sent to the login page (303, RFC 9110
//! §15.4.4); everything else gets 401 with `WWW-Authenticate` (RFC 9110 §11.6.1), or 429
//! with `Retry-After` (RFC 6585) when password guessing is being throttled.

mod gate;
mod login;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

pub use crate::auth::{Auth, AuthConfig, Via};
pub use gate::{AuthUser, SESSION_COOKIE};

/// Adds `GET|POST /login`, `POST /logout` and the access check in front of every other
/// route of `router`, including its fallback (unknown paths are refused like known ones,
/// so anonymous clients cannot map the site). `auth = None` returns `router` unchanged:
/// print [`open_server_warning`] then.
///
/// The client address comes from `ConnectInfo<SocketAddr>`: serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`. Without it all clients share one
/// address for rate limiting (logged once), which is safe but lets one client slow others.
pub fn protect(router: Router, auth: Option<Arc<Auth>>) -> Router {
    let Some(auth) = auth else {
        return router;
    };
    let inner = router
        .route(
            "/login",
            get(login::page)
                .post(login::submit)
                .with_state(auth.clone()),
        )
        .route("/logout", post(login::logout).with_state(auth.clone()));
    Router::new()
        .fallback_service(inner)
        .layer(middleware::from_fn_with_state(auth, gate::gate))
}

/// The warning the server prints at start when it runs without `--auth`.
pub fn open_server_warning() -> &'static str {
    "WARNING: login is OFF: anyone who can reach this computer on the network can watch \
     every file and live stream it serves. Turn it on with `homestream user add NAME` and \
     `homestream serve --auth homestream-users.toml`."
}

/// Only local absolute paths are allowed as a post-login destination: `/x`, never
/// `//host`, `/\host`, `http:...` or anything with control characters.
pub(crate) fn safe_next(next: &str) -> &str {
    let b = next.as_bytes();
    let ok = b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/') | Some(b'\\'))
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if ok { next } else { "/" }
}

/// Escapes text for HTML element content and quoted attribute values. The login page and the
/// server's pages both use it (the server depends on this crate, not the other way round).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_local_only() {
        for ok in ["/", "/watch/a%20b.mp4", "/live/demo/?x=1", "/a//b"] {
            assert_eq!(safe_next(ok), ok);
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "http://evil",
            "https:/evil",
            "evil",
            "/\tx",
            "/a\\b",
            "javascript:alert(1)",
            "\n/x",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }
}
