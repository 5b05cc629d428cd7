//! RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
//! request message that lacks a Host header field and to any request message that contains more
//! than one Host header field line or a Host header field with an invalid field value."
//!
//! hyper leaves this to the application. Two Host lines are how request smuggling through a
//! proxy begins (the proxy reads one, we the other), so they are refused like nginx does.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, Version, header};

/// axum middleware: refuses requests whose Host header breaks RFC 9112 §3.2.
/// An HTTP/2 request names its host in `:authority` (RFC 9113 §8.3.1), which hyper puts in
/// the URI: it is copied to `Host`, so that what reads `Host` (the login's same-origin check)
/// sees the same on either version.
pub async fn require_one_host(mut req: Request, next: Next) -> Response {
    if let Err(why) = check(&req) {
        tracing::warn!("bad request: {why}");
        return (StatusCode::BAD_REQUEST, format!("bad request: {why}\n")).into_response();
    }
    if req.version() == Version::HTTP_2
        && !req.headers().contains_key(header::HOST)
        && let Some(v) = req
            .uri()
            .authority()
            .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
    {
        req.headers_mut().insert(header::HOST, v);
    }
    next.run(req).await
}

fn check<B>(req: &http::Request<B>) -> Result<(), &'static str> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (_, Some(_)) => Err("more than one Host header"),
        (None, _) if req.version() == Version::HTTP_11 => Err("HTTP/1.1 without a Host header"),
        (Some(h), _) if !valid_host(h.as_bytes()) => Err("invalid Host header"),
        _ => Ok(()),
    }
}

/// `uri-host [ ":" port ]` (RFC 3986 §3.2.2-3.2.3): an IP literal in brackets or a reg-name,
/// then digits after the colon. Written out because `http::uri::Authority` also takes user
/// info and a port that is not a number.
fn valid_host(v: &[u8]) -> bool {
    let (host, port) = match v.first() {
        Some(b'[') => match v.iter().position(|&c| c == b']') {
            Some(end) => {
                let literal = &v[1..end];
                if literal.is_empty()
                    || !literal
                        .iter()
                        .all(|c| c.is_ascii_hexdigit() || b":.".contains(c))
                {
                    return false;
                }
                (&v[..0], &v[end + 1..])
            }
            None => return false,
        },
        _ => match v.iter().rposition(|&c| c == b':') {
            Some(colon) => (&v[..colon], &v[colon..]),
            None => (v, &v[..0]),
        },
    };
    let reg_name = |c: &u8| c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(c);
    let port_ok = match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    host.iter().all(reg_name) && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(version: Version, hosts: &[&str]) -> http::Request<()> {
        let mut b = http::Request::get("/").version(version);
        for h in hosts {
            b = b.header(header::HOST, *h);
        }
        b.body(()).expect("request")
    }

    #[test]
    fn one_host_is_required_in_http_1_1() {
        assert!(check(&req(Version::HTTP_11, &["example.com"])).is_ok());
        assert!(check(&req(Version::HTTP_11, &["192.168.1.5:8000"])).is_ok());
        assert!(check(&req(Version::HTTP_11, &["[fd00::2]:8000"])).is_ok());
        assert!(check(&req(Version::HTTP_11, &[])).is_err());
        assert!(check(&req(Version::HTTP_11, &["a", "b"])).is_err());
        assert!(check(&req(Version::HTTP_11, &["a", "a"])).is_err());
        assert!(check(&req(Version::HTTP_11, &["user@evil"])).is_err());
        assert!(check(&req(Version::HTTP_11, &["a b"])).is_err());
        assert!(check(&req(Version::HTTP_11, &["a:port"])).is_err());
        assert!(check(&req(Version::HTTP_11, &["a:1:2"])).is_err());
        assert!(check(&req(Version::HTTP_11, &["[fd00::2"])).is_err());
        assert!(check(&req(Version::HTTP_11, &["[fd00::2]x"])).is_err());
        assert!(check(&req(Version::HTTP_11, &["a/b"])).is_err());
        assert!(check(&req(Version::HTTP_11, &[""])).is_ok());
        assert!(check(&req(Version::HTTP_11, &["localhost:"])).is_ok());
    }

    #[test]
    fn http_1_0_and_2_may_go_without() {
        assert!(check(&req(Version::HTTP_10, &[])).is_ok());
        assert!(check(&req(Version::HTTP_2, &[])).is_ok());
        assert!(check(&req(Version::HTTP_2, &["a", "b"])).is_err());
    }
}
