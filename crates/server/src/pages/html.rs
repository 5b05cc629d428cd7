//! Escaping and the common page frame.

/// Escapes text for HTML content and quoted attributes.
pub use homestream_auth::http::escape_html as esc;

/// The tab icon, inline: no request for it (a 404 for /favicon.ico on every page, and one the
/// login gate would have to let through).
const ICON: &str = "<link rel=\"icon\" href=\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%232563eb'/%3E%3Cpath d='M6 4l6 4-6 4z' fill='white'/%3E%3C/svg%3E\">";

/// A whole page: `title` is text, `body` is already HTML.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · homestream</title><link rel=\"stylesheet\" href=\"/assets/style.css\">{ICON}</head>\
<body>{body}</body></html>\n",
        esc(title)
    )
}

/// The top bar: site name, an optional extra link (already HTML), and a logout button when
/// the request came through the login gate with an account.
pub fn header(extra: &str, req: &axum::extract::Request) -> String {
    let logout = match req.extensions().get::<homestream_auth::http::AuthUser>() {
        Some(u) => format!(
            "<form method=\"post\" action=\"/logout\" class=\"logout\">\
<button class=\"button\" title=\"Logged in as {}\">Log out</button></form>",
            esc(&u.name)
        ),
        None => String::new(),
    };
    format!(
        "<header><h1><a href=\"/\">homestream</a></h1><nav class=\"top\">{extra}{logout}</nav></header>"
    )
}

/// `1.5 GB`-style sizes.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `1:02:03` or `2:03`.
pub fn human_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_500_000), "1.5 MB");
        assert_eq!(human_duration(3723.4), "1:02:03");
        assert_eq!(human_duration(65.0), "1:05");
    }
}
