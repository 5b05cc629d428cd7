//! The HTTP client used for the origin: the user's extra request headers (`-H`, `--cookie`,
//! `--user-agent`, `--referer`) go out with every request, including every piece.
//!
//! Those headers are meant for the host the user named. When any of `-H`, `--cookie` or
//! `--referer` is given, a redirect to another host (or port, or from https to http) is refused
//! instead of followed, so the headers never reach a host the user did not name; the error says
//! to give the final URL instead. Without them, redirects are followed as before.

use crate::error::{Error, Result};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;

/// Request headers the user asked for.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub cookie: Option<String>,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
}

/// Parses `Name: value` (the curl `-H` syntax).
pub fn parse_header(s: &str) -> std::result::Result<(HeaderName, HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not 'Name: value'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("{:?} is not a valid header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of {name} contains characters not allowed in a header"))?;
    Ok((name, value))
}

fn value(what: &str, v: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(v)
        .map_err(|_| Error::Usage(format!("{what}: characters not allowed in a header")))
}

/// Does a redirect from `from` to `to` stay with the same server: same host and port and scheme,
/// or the same host moving from http to https on its default port?
pub fn same_server(from: &reqwest::Url, to: &reqwest::Url) -> bool {
    let upgrade = from.scheme() == "http" && to.scheme() == "https" && to.port().is_none();
    from.host_str() == to.host_str()
        && (upgrade
            || (from.scheme() == to.scheme()
                && from.port_or_known_default() == to.port_or_known_default()))
}

/// Redirects: at most 10; when the user's own headers go out, none that leave the first server.
fn redirect_policy(guard: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let first = attempt.previous().first().cloned();
        if attempt.previous().len() > 10 {
            attempt.error("more than 10 redirects")
        } else if guard && let Some(first) = first.filter(|f| !same_server(f, attempt.url())) {
            let msg = format!(
                "{first} redirects to another server ({}): not followed, since the -H/--cookie/--referer headers go only to the server you named; give that URL instead",
                attempt.url()
            );
            attempt.error(msg)
        } else {
            attempt.follow()
        }
    })
}

/// Builds the client. Redirects are followed (reqwest's limit of 10) on the probe, within the
/// first server when the user's headers go out (see the module docs); the engine then uses the
/// final URL.
pub fn build_client(opts: &ClientOptions) -> Result<reqwest::Client> {
    let guard = !opts.headers.is_empty() || opts.cookie.is_some() || opts.referer.is_some();
    let mut h = HeaderMap::new();
    for (n, v) in &opts.headers {
        h.append(n.clone(), v.clone());
    }
    if let Some(c) = &opts.cookie {
        h.insert(header::COOKIE, value("--cookie", c)?);
    }
    if let Some(r) = &opts.referer {
        h.insert(header::REFERER, value("--referer", r)?);
    }
    let ua = opts
        .user_agent
        .clone()
        .unwrap_or_else(|| format!("homestream-funnel/{}", env!("CARGO_PKG_VERSION")));
    h.insert(header::USER_AGENT, value("--user-agent", &ua)?);
    reqwest::Client::builder()
        .default_headers(h)
        .connect_timeout(Duration::from_secs(15))
        .tcp_nodelay(true)
        .redirect(redirect_policy(guard))
        // The user's --referer (or none) goes out on every request, redirects included.
        .referer(false)
        // Pieces must arrive exactly as stored: no transparent decompression (none is enabled in
        // our reqwest features, and we never send Accept-Encoding).
        .build()
        .map_err(|e| Error::Http(format!("building the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let (n, v) = parse_header("X-Token:  abc def ").unwrap();
        assert_eq!(n.as_str(), "x-token");
        assert_eq!(v, "abc def");
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
        assert!(parse_header("X: a\nb").is_err());
        assert!(build_client(&ClientOptions::default()).is_ok());
        let bad = ClientOptions {
            cookie: Some("a\nb".into()),
            ..Default::default()
        };
        assert!(matches!(build_client(&bad), Err(Error::Usage(m)) if m.contains("--cookie")));
    }

    #[test]
    fn same_server_only() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        let from = u("http://o.example/a");
        assert!(same_server(&from, &u("http://o.example/b")));
        assert!(same_server(&from, &u("http://o.example:80/b")));
        assert!(same_server(&from, &u("https://o.example/b")), "upgrade");
        assert!(!same_server(&from, &u("http://other.example/b")));
        assert!(!same_server(&from, &u("http://o.example:8080/b")));
        assert!(!same_server(&from, &u("https://o.example:8443/b")));
        assert!(!same_server(
            &u("https://o.example/a"),
            &u("http://o.example/b")
        ));
    }
}
