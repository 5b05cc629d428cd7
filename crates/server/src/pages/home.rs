//! `/` (live streams and the library's top) and `/browse/<folder>/`.

use super::html::{esc, header, human_duration, human_size, page};
use crate::AppState;
use crate::media::not_found;
use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse, Response};
use homestream_library::{Listing, MediaKind};
use http::StatusCode;
use percent_encoding::percent_decode_str;
use std::fmt::Write;
use std::sync::Arc;

/// GET `/`.
pub async fn home(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let top = header("", &req);
    listing_page(st, String::new(), top).await
}

/// GET `/browse/<folder>/`.
pub async fn browse(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let raw = req
        .uri()
        .path()
        .strip_prefix("/browse/")
        .unwrap_or("")
        .to_string();
    let top = header("", &req);
    listing_page(st, raw, top).await
}

async fn listing_page(st: Arc<AppState>, raw: String, top: String) -> Response {
    let lib = Arc::clone(&st.library);
    let listed = tokio::task::spawn_blocking(move || lib.list(&raw)).await;
    let listing = match listed {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => return not_found(&e),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let mut body = top;
    body.push_str("<main>");
    if listing.url_path.is_empty() {
        live_section(&st, &mut body);
    }
    library_section(&listing, st.transcode.is_some(), &mut body);
    body.push_str("</main>");
    let title = if listing.url_path.is_empty() {
        "Home".to_string()
    } else {
        decode(listing.url_path.rsplit('/').next().unwrap_or(""))
    };
    Html(page(&title, &body)).into_response()
}

fn live_section(st: &AppState, out: &mut String) {
    let streams = st.live.list();
    if streams.is_empty() {
        return;
    }
    out.push_str("<section><h2>Live</h2><ul class=\"list\">");
    for s in streams {
        let _ = write!(
            out,
            "<li><a class=\"item live\" href=\"/live/{n}/\"><span class=\"name\">● {n}</span>\
<span class=\"meta\">{d}{sep}{now}</span></a></li>",
            n = esc(&s.name),
            d = esc(&s.description),
            sep = if s.now.is_empty() { "" } else { " · " },
            now = esc(&s.now)
        );
    }
    out.push_str("</ul></section>");
}

/// The folder's entries; with ffmpeg, each video has a poster, lazy-loaded so that only the
/// ones on screen are made (a folder of 500 films opens at once).
fn library_section(listing: &Listing, posters: bool, out: &mut String) {
    out.push_str("<section><h2>Library</h2>");
    breadcrumbs(&listing.url_path, out);
    out.push_str("<ul class=\"list\">");
    let mut shown = 0;
    for e in &listing.entries {
        let (href, icon) = if e.is_dir {
            (format!("/browse/{}/", e.url_path), "▸")
        } else {
            match e.kind {
                MediaKind::Video => (format!("/watch/{}", e.url_path), "▶"),
                MediaKind::Audio => (format!("/watch/{}", e.url_path), "♪"),
                MediaKind::Subtitle | MediaKind::Other => continue,
            }
        };
        let mut meta = String::new();
        if !e.is_dir {
            meta = human_size(e.size);
            if let Some(d) = e.duration_secs {
                meta = format!("{} · {meta}", human_duration(d));
            }
        }
        let poster = if posters && !e.is_dir && e.kind == MediaKind::Video {
            format!(
                "<img class=\"poster\" loading=\"lazy\" decoding=\"async\" alt=\"\" \
width=\"96\" height=\"54\" src=\"/poster/{}\">",
                esc(&e.url_path)
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<li><a class=\"item\" href=\"{}\">{poster}<span class=\"name\">{icon} {}</span>\
<span class=\"meta\">{}</span></a></li>",
            esc(&href),
            esc(&e.name),
            esc(&meta)
        );
        shown += 1;
    }
    if shown == 0 {
        out.push_str("<li class=\"empty\">No videos or audio here.</li>");
    }
    out.push_str("</ul></section>");
}

fn breadcrumbs(url_path: &str, out: &mut String) {
    if url_path.is_empty() {
        return;
    }
    out.push_str("<nav class=\"crumbs\"><a href=\"/\">Home</a>");
    let mut acc = String::new();
    for seg in url_path.split('/') {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(seg);
        let _ = write!(
            out,
            " / <a href=\"/browse/{}/\">{}</a>",
            esc(&acc),
            esc(&decode(seg))
        );
    }
    out.push_str("</nav>");
}

fn decode(seg: &str) -> String {
    percent_decode_str(seg).decode_utf8_lossy().into_owned()
}
