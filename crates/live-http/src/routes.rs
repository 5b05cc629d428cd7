//! The live routes (absolute axum paths such as `/live/{name}/stream.mjpg`), each with its
//! handlers. The server registers them one by one so that its route table (and the auth gate's
//! test that walks it) sees every one.

use crate::hls::Hls;
use crate::query::{LiveQuery, parse_fps};
use crate::{mjpeg, page, snapshot, ws};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};
use homestream_live::{LiveRegistry, status};
use std::collections::HashMap;
use std::sync::Arc;

/// Every route under `/live/`, for the server's route table.
pub fn routes(reg: &Arc<LiveRegistry>) -> Vec<(&'static str, MethodRouter)> {
    let page = {
        let reg = reg.clone();
        get(
            move |Path(name): Path<String>, Query(q): Query<LiveQuery>| async move {
                let Some(s) = reg.stream(&name) else {
                    return not_found(&name);
                };
                match q.action.as_deref() {
                    Some("stream") => match parse_fps(&q) {
                        Ok(fps) => mjpeg::respond(s, fps),
                        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
                    },
                    Some("snapshot") => snapshot::respond(s).await,
                    None | Some("") => page::respond(&name),
                    Some(other) => (
                        StatusCode::BAD_REQUEST,
                        format!("unknown action {other:?}; use stream or snapshot\n"),
                    )
                        .into_response(),
                }
            },
        )
    };
    let stream = {
        let reg = reg.clone();
        get(
            move |Path(name): Path<String>, Query(q): Query<LiveQuery>| async move {
                let Some(s) = reg.stream(&name) else {
                    return not_found(&name);
                };
                match parse_fps(&q) {
                    Ok(fps) => mjpeg::respond(s, fps),
                    Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
                }
            },
        )
    };
    let snapshot = {
        let reg = reg.clone();
        get(move |Path(name): Path<String>| async move {
            match reg.stream(&name) {
                Some(s) => snapshot::respond(s).await,
                None => not_found(&name),
            }
        })
    };
    let status = {
        let reg = reg.clone();
        get(move |Path(name): Path<String>| async move {
            match reg.stream(&name) {
                Some(s) => (
                    [(header::CACHE_CONTROL, "no-store")],
                    axum::Json(status::stream_status(s)),
                )
                    .into_response(),
                None => not_found(&name),
            }
        })
    };
    let websocket = {
        let reg = reg.clone();
        get(
            move |Path(name): Path<String>, upgrade: WebSocketUpgrade| async move {
                match reg.stream(&name) {
                    Some(s) => ws::respond(s, upgrade),
                    None => not_found(&name),
                }
            },
        )
    };
    let slash = {
        let reg = reg.clone();
        get(move |Path(name): Path<String>| async move {
            match reg.stream(&name) {
                Some(_) => Redirect::permanent(&format!("/live/{name}/")).into_response(),
                None => not_found(&name),
            }
        })
    };
    let hls = Hls::new(reg.clone());
    let playlist = {
        let hls = hls.clone();
        get(
            move |Path(name): Path<String>, Query(q): Query<HashMap<String, String>>| async move {
                hls.playlist(&name, &q).await
            },
        )
    };
    let hls_file = get(
        move |Path((name, file)): Path<(String, String)>| async move {
            hls.resource(&name, &file).await
        },
    );
    vec![
        ("/live/{name}", slash),
        ("/live/{name}/", page),
        ("/live/{name}/stream.mjpg", stream),
        ("/live/{name}/snapshot.jpg", snapshot),
        ("/live/{name}/status.json", status),
        ("/live/{name}/ws", websocket),
        ("/live/{name}/index.m3u8", playlist),
        ("/live/{name}/hls/{file}", hls_file),
        (
            "/live/{name}/hls.light.min.js",
            get(|| async { crate::hls::library() }),
        ),
    ]
}

/// An axum router with just the live routes, for examples, tests and benchmarks (the server
/// registers [`routes`] itself, beside its `/api/status`).
pub fn router(reg: &Arc<LiveRegistry>) -> axum::Router {
    let mut r = axum::Router::new();
    for (path, mr) in routes(reg) {
        r = r.route(path, mr);
    }
    r
}

pub(crate) fn not_found(name: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no live stream named {name:?}\n"),
    )
        .into_response()
}
