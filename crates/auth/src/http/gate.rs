//! The middleware in front of every route (installed by [`super::protect`]), and the helpers the
//! login routes share with it: the session cookie, the client address, refusals.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::auth::{Auth, LoginOutcome, Via};
use crate::ratelimit::retry_secs;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "hs_session";

/// Who made the request; inserted into the request extensions of every admitted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// Account name.
    pub name: String,
    /// How the request proved it.
    pub via: Via,
}

static NO_CONNECT_INFO: AtomicBool = AtomicBool::new(false);

pub(super) fn client_ip(req_ext: &http::Extensions) -> IpAddr {
    match req_ext.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(a)) => a.ip(),
        None => {
            if !NO_CONNECT_INFO.swap(true, Ordering::Relaxed) {
                tracing::error!(
                    "auth: no client address (serve with into_make_service_with_connect_info); \
                     rate limits treat all clients as one"
                );
            }
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    }
}

/// The value of cookie `name` (RFC 6265 §4.2: `a=b; c=d`; a quoted value loses its quotes).
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value_trimmed().to_owned())
}

enum Identity {
    User(String, Via),
    Anonymous,
    Refused(&'static str),
    TooMany(std::time::Duration),
}

async fn identify(auth: &Auth, headers: &HeaderMap, ip: IpAddr) -> Identity {
    if let Some(sid) = cookie(headers, SESSION_COOKIE)
        && let Some(user) = auth.session_user(&sid)
    {
        return Identity::User(user, Via::Session);
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Identity::Anonymous;
    };
    let Ok(value) = value.to_str() else {
        return Identity::Refused("malformed Authorization");
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return match auth.token_identity(rest) {
            Ok((user, via)) => Identity::User(user, via),
            Err(why) => {
                tracing::warn!(%ip, ?why, "bearer token refused");
                Identity::Refused("token refused")
            }
        };
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let Some((user, pass)) = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
        else {
            return Identity::Refused("malformed Basic credentials");
        };
        return match auth.check_basic(&user, &pass, ip).await {
            LoginOutcome::Ok(u) => Identity::User(u, Via::Basic),
            LoginOutcome::Wrong => Identity::Refused("wrong user or password"),
            LoginOutcome::TooMany(w) => Identity::TooMany(w),
        };
    }
    Identity::Refused("unsupported Authorization scheme")
}

/// A browser navigation: GET/HEAD that accepts HTML and carries no Authorization.
pub(super) fn is_navigation(method: &Method, headers: &HeaderMap) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && !headers.contains_key(header::AUTHORIZATION)
        && headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"))
}

/// True for requests a browser made (fetch, media elements, WebSocket): they carry
/// `Sec-Fetch-Mode` (Fetch Metadata), which players and scripts do not send.
pub(super) fn from_browser(headers: &HeaderMap) -> bool {
    headers.contains_key("sec-fetch-mode")
}

/// 401 with challenges. Browsers get only `Bearer`: a `Basic` challenge would make them pop
/// up their own password dialog (for a video element or fetch() after the session ended),
/// or in headless mode wait forever on it. Everyone else gets `Basic` and `Bearer`.
pub(super) fn unauthorized(reason: &str, browser: bool) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        format!("401 unauthorized: {reason}\n"),
    )
        .into_response();
    let h = r.headers_mut();
    if !browser {
        h.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"homestream\", charset=\"UTF-8\""),
        );
    }
    h.append(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"homestream\""),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(super) fn too_many(wait: std::time::Duration) -> Response {
    let secs = retry_secs(wait);
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        format!("429 too many attempts, try again in {secs} s\n"),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn to_login(path_and_query: &str) -> Response {
    let next =
        percent_encoding::utf8_percent_encode(path_and_query, percent_encoding::NON_ALPHANUMERIC);
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/login?next={next}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The check in front of every route but `/login` and `/logout`.
pub(super) async fn gate(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/login" || path == "/logout" {
        return next.run(req).await;
    }
    // A CORS preflight carries no credentials by design (Fetch standard, "CORS-preflight
    // request"), so a WHEP player on another origin could never pass the gate; the route
    // answers it with the methods and headers it allows and nothing else.
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return next.run(req).await;
    }
    let ip = client_ip(req.extensions());
    match identify(&auth, req.headers(), ip).await {
        Identity::User(name, via) => {
            req.extensions_mut().insert(AuthUser { name, via });
            next.run(req).await
        }
        Identity::Anonymous if is_navigation(req.method(), req.headers()) => {
            let pq = req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            to_login(&pq)
        }
        Identity::Anonymous => unauthorized(
            "log in, or send Basic or Bearer credentials",
            from_browser(req.headers()),
        ),
        Identity::Refused(why) => unauthorized(why, from_browser(req.headers())),
        Identity::TooMany(w) => too_many(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; hs_session=abc ; b=2"),
        );
        assert_eq!(cookie(&h, "hs_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
        h.append(header::COOKIE, HeaderValue::from_static("c=\"q\""));
        assert_eq!(cookie(&h, "c").as_deref(), Some("q"));
    }

    #[test]
    fn navigation() {
        let mut h = HeaderMap::new();
        assert!(!is_navigation(&Method::GET, &h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,*/*"),
        );
        assert!(is_navigation(&Method::GET, &h));
        assert!(!is_navigation(&Method::POST, &h));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eDp5"),
        );
        assert!(!is_navigation(&Method::GET, &h));
    }

    #[test]
    fn login_redirect_encodes_next() {
        let r = to_login("/watch/a b?x=1&y=//z");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[header::LOCATION],
            "/login?next=%2Fwatch%2Fa%20b%3Fx%3D1%26y%3D%2F%2Fz"
        );
    }

    #[test]
    fn refusals_carry_headers() {
        let r = unauthorized("x", false);
        let v: Vec<_> = r
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .collect();
        assert_eq!(v.len(), 2);
        let r = unauthorized("x", true);
        let v: Vec<_> = r
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .collect();
        assert_eq!(
            v,
            ["Bearer realm=\"homestream\""],
            "no Basic dialog in browsers"
        );
        let r = too_many(std::time::Duration::from_millis(1500));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
    }
}
