//! Error answers: a page in the site's look for a browser, plain text for everyone else.
//!
//! A browser that navigates to a wrong address says so with `Accept: text/html`; players,
//! scripts and `curl` do not, and get the one line they can read or log. [`html_errors`] does
//! this for every error any route answers as plain text (the route table's fallback, the Host
//! check, the login gate's refusals, the live streams' 404s), so a handler can go on answering
//! `(StatusCode::NOT_FOUND, "not found\n")`; [`error_response`] is for a handler that wants to
//! choose itself.

use super::html::{esc, page};
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// The longest plain-text error body turned into a page; a longer one is passed on as it is.
const MAX_MESSAGE: usize = 4096;

/// Does a request with these headers want HTML (a browser's navigation)?
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// An error answer with `status` and `message` (one line of text, not HTML): the error page
/// when `request_headers` accept `text/html`, else `message` as `text/plain`.
pub fn error_response(request_headers: &HeaderMap, status: StatusCode, message: &str) -> Response {
    if wants_html(request_headers) {
        error_page(status, message)
    } else {
        (status, format!("{}\n", message.trim_end())).into_response()
    }
}

/// The error page: the site's header and style, the status, the message, a way home.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<header><h1><a href=\"/\">homestream</a></h1></header><main><h2>{}</h2>\
<p class=\"warning\" id=\"error\">{}</p><p><a class=\"button\" href=\"/\">Back to the library</a></p></main>",
        esc(&title),
        esc(message.trim())
    );
    let mut r = (status, Html(page(&title, &body))).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// axum middleware: an error (4xx, 5xx) answered as plain text (or with no body) becomes the
/// error page when the request accepts HTML. Other headers of the answer (`WWW-Authenticate`,
/// `Retry-After`, `Allow`) are kept.
pub async fn html_errors(req: Request, next: Next) -> Response {
    let html = wants_html(req.headers());
    let res = next.run(req).await;
    let status = res.status();
    if !html || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let plain = match res.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(ct) => ct.as_bytes().starts_with(b"text/plain"),
    };
    if !plain {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_MESSAGE).await {
        Ok(b) => b,
        // Too long or failing: not a one-line error message; send what is left of nothing.
        Err(_) => return (status, "error\n").into_response(),
    };
    let text = String::from_utf8_lossy(&bytes);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_owned(),
        t => t.to_owned(),
    };
    let page = error_page(status, &message);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in page.headers() {
        parts.headers.insert(name.clone(), value.clone());
    }
    let (_, body) = page.into_parts();
    Response::from_parts(parts, Body::new(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    fn accept(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static(v));
        h
    }

    async fn text(r: Response) -> String {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn browsers_get_a_page_others_a_line() {
        let r = error_response(
            &accept("text/html,application/xhtml+xml,*/*;q=0.8"),
            StatusCode::NOT_FOUND,
            "no live stream named \"<x>\"",
        );
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = text(r).await;
        assert!(
            page.contains("<title>404 Not Found · homestream</title>"),
            "{page}"
        );
        assert!(
            page.contains("/assets/style.css"),
            "the site's look: {page}"
        );
        assert!(
            page.contains("no live stream named &quot;&lt;x&gt;&quot;"),
            "{page}"
        );
        let r = error_response(&accept("*/*"), StatusCode::NOT_FOUND, "not found");
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(text(r).await, "not found\n");
    }

    #[tokio::test]
    async fn the_middleware_turns_plain_errors_into_pages_for_browsers_only() {
        let app = Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route(
                "/teapot",
                get(|| async {
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Bearer")],
                        "log in <now>\n",
                    )
                }),
            )
            .route(
                "/empty",
                get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
            )
            .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
            .layer(axum::middleware::from_fn(html_errors));
        let get = |path: &'static str, acc: &'static str| {
            let app = app.clone();
            async move {
                let req = http::Request::get(path)
                    .header(header::ACCEPT, acc)
                    .body(Body::empty())
                    .unwrap();
                app.oneshot(req).await.unwrap()
            }
        };
        let r = get("/nowhere", "text/html").await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let page = text(r).await;
        assert!(
            page.contains("<p class=\"warning\" id=\"error\">not found</p>"),
            "{page}"
        );
        let r = get("/nowhere", "*/*").await;
        assert_eq!(text(r).await, "not found\n");
        let r = get("/teapot", "text/html").await;
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert!(text(r).await.contains("log in &lt;now&gt;"));
        let r = get("/empty", "text/html").await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(text(r).await.contains(">Internal Server Error</p>"));
        let r = get("/ok", "text/html").await;
        assert_eq!(text(r).await, "fine");
    }
}
