//! `GET /login` (the page), `POST /login` (the form) and `POST /logout`.
//!
//! The page is plain HTML (no script) so it works on any phone browser; messages are
//! rendered by the server. The session cookie is HttpOnly, SameSite=Strict, Path=/, with
//! Max-Age = session lifetime and Secure under TLS (RFC 6265bis). POSTs whose `Origin`
//! names another host are refused (403), on top of SameSite, against cross-site forms.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Query, Request, State};
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;

use super::escape_html;
use super::gate::{SESSION_COOKIE, client_ip, cookie, too_many};
use super::safe_next;
use crate::auth::{Auth, LoginOutcome};
use crate::ratelimit::retry_secs;

const PAGE: &str = include_str!("../../../../web/auth/login.html");

#[derive(Debug, Deserialize)]
pub(super) struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

fn render(status: StatusCode, message: &str, next: &str) -> Response {
    let body = PAGE
        .replace("{{message}}", &escape_html(message))
        .replace("{{next}}", &escape_html(safe_next(next)));
    let mut r = (status, Html(body)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    r
}

pub(super) async fn page(Query(q): Query<NextQuery>) -> Response {
    render(StatusCode::OK, "", q.next.as_deref().unwrap_or("/"))
}

/// True when `Origin` is absent or names the same host as `Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, h)| h.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

fn session_cookie(value: &str, max_age: Duration, secure: bool) -> HeaderValue {
    let c = cookie::Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX),
        ))
        .secure(secure)
        .build();
    // Session ids are hex; the header value is always valid.
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(super) async fn submit(State(auth): State<Arc<Auth>>, req: Request) -> Response {
    let ip = client_ip(req.extensions());
    if !same_origin(req.headers()) {
        tracing::warn!(%ip, "login refused: cross-origin form");
        return (StatusCode::FORBIDDEN, "403 cross-origin login refused\n").into_response();
    }
    let form = match axum::Form::<LoginForm>::from_request(req, &()).await {
        Ok(axum::Form(f)) => f,
        Err(e) => return e.into_response(),
    };
    let next = form.next.as_deref().unwrap_or("/");
    if form.user.len() > 256 || form.password.len() > 4096 {
        return render(StatusCode::UNAUTHORIZED, "wrong user or password", next);
    }
    match auth.check_password(&form.user, &form.password, ip).await {
        LoginOutcome::Ok(user) => {
            let sid = auth.create_session(&user);
            tracing::info!(%ip, user, "login");
            let mut r = see_other(safe_next(next));
            r.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(
                    &sid,
                    auth.config().session_ttl,
                    auth.config().secure_cookies,
                ),
            );
            r
        }
        LoginOutcome::Wrong => render(StatusCode::UNAUTHORIZED, "wrong user or password", next),
        LoginOutcome::TooMany(wait) => {
            let mut r = render(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("too many attempts, try again in {} s", retry_secs(wait)),
                next,
            );
            let retry = too_many(wait);
            if let Some(v) = retry.headers().get(header::RETRY_AFTER) {
                r.headers_mut().insert(header::RETRY_AFTER, v.clone());
            }
            r
        }
    }
}

pub(super) async fn logout(State(auth): State<Arc<Auth>>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "403 cross-origin logout refused\n").into_response();
    }
    if let Some(sid) = cookie(&headers, SESSION_COOKIE) {
        auth.logout(&sid);
    }
    let mut r = see_other("/login");
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie("", Duration::ZERO, auth.config().secure_cookies),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn page_escapes() {
        let r = render(StatusCode::OK, "<b>&'", "/x\"><script>alert(1)</script>");
        assert_eq!(r.status(), StatusCode::OK);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("&lt;b&gt;&amp;&#39;"), "{body}");
        assert!(
            body.contains("value=\"/x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
            "{body}"
        );
        assert!(!body.contains("<b>") && !body.contains("<script"), "{body}");
        assert!(!body.contains("{{"), "every placeholder filled: {body}");
        assert!(body.contains("name=\"user\"") && body.contains("name=\"password\""));
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn origin_check() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h));
        h.insert(header::HOST, HeaderValue::from_static("192.168.1.2:8000"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://192.168.1.2:8000"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn cookie_attributes() {
        let parse = |v: HeaderValue| cookie::Cookie::parse(v.to_str().unwrap().to_owned()).unwrap();
        let c = parse(session_cookie("ab", Duration::from_secs(60), true));
        assert_eq!((c.name(), c.value()), ("hs_session", "ab"));
        assert_eq!(c.path(), Some("/"));
        assert_eq!(c.http_only(), Some(true));
        assert_eq!(c.same_site(), Some(cookie::SameSite::Strict));
        assert_eq!(c.max_age(), Some(cookie::time::Duration::seconds(60)));
        assert_eq!(c.secure(), Some(true));
        let c = parse(session_cookie("ab", Duration::from_secs(60), false));
        assert_ne!(c.secure(), Some(true));
    }
}
