//! The route table. Every route is registered through [`Table::add`], which records its path,
//! so that tests (the auth gate's above all) can walk every route the server really has.

use crate::{AppState, access_log, host_check, media, pages, status, transcode};
use axum::Router;
use axum::routing::{MethodRouter, get};
use std::sync::Arc;

/// A registered route: its axum path pattern (`/media/{*path}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub path: String,
}

struct Table {
    router: Router,
    routes: Vec<RouteInfo>,
}

impl Table {
    fn add(mut self, path: &str, handler: MethodRouter) -> Self {
        self.router = self.router.route(path, handler);
        self.routes.push(RouteInfo {
            path: path.to_string(),
        });
        self
    }
}

/// Builds the router of every route (library, pages, API, live) and the table of its routes.
/// [`app`] puts the gate and the request log around it.
pub fn build_router(state: Arc<AppState>) -> (Router, Vec<RouteInfo>) {
    let s = || Arc::clone(&state);
    let mut t = Table {
        router: Router::new(),
        routes: Vec::new(),
    }
    .add("/", get(pages::home).with_state(s()))
    .add("/browse/{*path}", get(pages::browse).with_state(s()))
    .add("/watch/{*path}", get(pages::watch).with_state(s()))
    .add("/media/{*path}", get(media::media).with_state(s()))
    .add("/vtt/{*path}", get(media::vtt).with_state(s()))
    .add("/assets/{name}", get(pages::asset))
    .add("/api/play/{*path}", get(transcode::play).with_state(s()))
    .add("/hls/{*path}", get(transcode::hls).with_state(s()))
    .add("/poster/{*path}", get(transcode::poster).with_state(s()))
    .add("/subs/{*path}", get(transcode::subs).with_state(s()))
    .add("/api/status", get(status::status).with_state(s()));
    for (path, handler) in homestream_live_http::routes(&state.live) {
        t = t.add(path, handler);
    }
    if let Some(whep) = &state.webrtc {
        for (path, handler) in homestream_live_http::whep::routes(whep, &state.live) {
            t = t.add(path, handler);
        }
    }
    if let Some(whip) = &state.whip {
        for (path, handler) in homestream_live_http::whip::routes(whip, &state.live) {
            t = t.add(path, handler);
        }
    }
    let router = t
        .router
        .fallback(|| async { (http::StatusCode::NOT_FOUND, "not found\n") });
    (router, t.routes)
}

/// The served application: `router` behind the auth gate (when `auth` is on) and the Host
/// check, errors as pages for browsers ([`pages::html_errors`]), with the request log outermost
/// so that refusals are logged too.
pub fn app(router: Router, auth: Option<Arc<homestream_auth::Auth>>) -> Router {
    homestream_auth::http::protect(router, auth)
        .layer(axum::middleware::from_fn(host_check::require_one_host))
        .layer(axum::middleware::from_fn(pages::html_errors))
        .layer(axum::middleware::from_fn(access_log::log_requests))
}
