//! `/watch/<path>`: the player page for a library file.

use super::html::{esc, header, page};
use crate::AppState;
use crate::media::not_found;
use axum::extract::{Request, State};
use axum::response::{Html, IntoResponse, Response};
use homestream_library::{
    Error as LibError, Listing, MediaKind, Resolved, content_type, decode_url_path,
    encode_segments, kind_of, sidecars_for,
};
use http::StatusCode;
use std::fmt::Write;
use std::sync::Arc;

/// GET `/watch/<path>`.
pub async fn watch(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let raw = req
        .uri()
        .path()
        .strip_prefix("/watch/")
        .unwrap_or("")
        .to_string();
    let top = header("", &req);
    let found = tokio::task::spawn_blocking(move || page_for(&st, &raw, &top)).await;
    match found {
        Ok(Ok(html)) => Html(html).into_response(),
        Ok(Err(e)) => not_found(&e),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn page_for(st: &AppState, raw: &str, top: &str) -> Result<String, LibError> {
    let segs = decode_url_path(raw)?;
    let not_media = || LibError::NotFound(raw.to_string());
    let Resolved::File(_) = st.library.resolve(raw)? else {
        return Err(not_media());
    };
    let (name, parent) = segs.split_last().ok_or_else(not_media)?;
    // Shown as text; the URLs below carry the name's own bytes.
    let name = name.to_string_lossy();
    let kind = kind_of(&name);
    if !matches!(kind, MediaKind::Video | MediaKind::Audio) {
        return Err(not_media());
    }
    let url = encode_segments(&segs);
    let parent_url = encode_segments(parent);
    let listing = st.library.list(&parent_url)?;
    let play = match st.transcode {
        Some(_) => Play::AskServer,
        None => Play::Direct {
            hint: st.transcode_hint,
        },
    };
    Ok(render(&name, &url, &parent_url, kind, &listing, top, play))
}

/// How the page plays a video.
#[derive(Clone, Copy)]
enum Play {
    /// Asks `/api/play` (ffmpeg is there).
    AskServer,
    /// The file is the source; `hint` says what ffmpeg would add.
    Direct { hint: Option<&'static str> },
}

fn render(
    name: &str,
    url: &str,
    parent_url: &str,
    kind: MediaKind,
    listing: &Listing,
    top: &str,
    play: Play,
) -> String {
    let playable: Vec<_> = listing
        .entries
        .iter()
        .filter(|e| !e.is_dir && matches!(e.kind, MediaKind::Video | MediaKind::Audio))
        .collect();
    let here = playable.iter().position(|e| e.url_path == url);
    let prev = here
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| playable.get(i));
    let next = here.and_then(|i| playable.get(i + 1));
    let names: Vec<String> = listing.entries.iter().map(|e| e.name.clone()).collect();
    let base = if parent_url.is_empty() {
        String::new()
    } else {
        format!("{parent_url}/")
    };

    let mut tracks = String::new();
    for (i, t) in sidecars_for(name, &names).iter().enumerate() {
        let label = t.label.clone().unwrap_or_else(|| "Subtitles".to_string());
        // The listing's URL has the file name's real bytes (its `name` may have U+FFFD).
        let file = listing
            .entries
            .iter()
            .find(|e| e.name == t.file)
            .and_then(|e| e.url_path.rsplit('/').next())
            .map(str::to_string)
            .unwrap_or_else(|| encode_segments(std::slice::from_ref(&t.file)));
        let _ = write!(
            tracks,
            "<track kind=\"subtitles\" src=\"/vtt/{}{}\" label=\"{}\"{}{}>",
            esc(&base),
            esc(&file),
            esc(&label),
            t.label
                .as_deref()
                .filter(|l| l.len() <= 3)
                .map(|l| format!(" srclang=\"{}\"", esc(l)))
                .unwrap_or_default(),
            if i == 0 { " default" } else { "" }
        );
    }
    let tag = if kind == MediaKind::Audio {
        "audio"
    } else {
        "video"
    };
    let back = if parent_url.is_empty() {
        "/".to_string()
    } else {
        format!("/browse/{parent_url}/")
    };
    let link = |e: Option<&&homestream_library::Entry>, label: &str, rel: &str| match e {
        Some(e) => format!(
            "<a class=\"button\" id=\"{rel}\" href=\"/watch/{}\" title=\"{}\">{label}</a>",
            esc(&e.url_path),
            esc(&e.name)
        ),
        None => format!("<span class=\"button disabled\">{label}</span>"),
    };
    // With ffmpeg, the page asks `/api/play` how this browser plays the file before loading
    // anything (player.js sets the source); without, the file is the source.
    let video = kind == MediaKind::Video;
    let source = if video && matches!(play, Play::AskServer) {
        format!(
            "data-src=\"/media/{0}\" data-play=\"/api/play/{0}\"",
            esc(url)
        )
    } else {
        format!("src=\"/media/{}\"", esc(url))
    };
    let hint = match play {
        Play::Direct { hint: Some(h) } if video => format!(" {}", esc(h)),
        _ => String::new(),
    };
    let body = format!(
        "{top}<main class=\"watch\"><a class=\"back\" href=\"{back}\">← folder</a><h2 class=\"title\">{title}</h2>\
<{tag} id=\"player\" controls autoplay playsinline preload=\"metadata\" {source} \
data-type=\"{ctype}\" data-key=\"{src}\">{tracks}</{tag}>\
<p id=\"unsupported\" class=\"warning\" hidden>This browser cannot play <b>{title}</b> \
(its container or codec is not supported). Download it and open it in a player such as VLC or mpv.{hint}</p>\
<p id=\"playmode\" class=\"hint\" hidden></p>\
<nav class=\"controls\">{prev}<label id=\"audio-choice\" hidden>Audio <select id=\"audio-track\"></select></label><a class=\"button\" href=\"/media/{src}\" download>Download</a>{next}</nav>\
<p class=\"hint\">Keys: space play/pause · ←/→ 5 s · J/L 10 s · ↑/↓ volume · F full screen · \
M mute · C subtitles · N/P next/previous · 0-9 jump to 0-90 %</p></main>\
<script src=\"/assets/player.js\"></script>",
        title = esc(name),
        src = esc(url),
        ctype = esc(content_type(name)),
        prev = link(prev, "◀ Previous", "prev"),
        next = link(next, "Next ▶", "next"),
    );
    page(name, &body)
}
