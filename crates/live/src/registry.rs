//! The named live streams a server runs, and the routes that serve them.

use crate::error::LiveError;
use crate::http::{self, LiveQuery};
use crate::source::SourceSpec;
use crate::status;
use crate::stream::Stream;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `NAME=SOURCE` from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSpec {
    /// The stream's name in URLs (`/live/NAME/`).
    pub name: String,
    /// The source, e.g. `test:1280x720@30`.
    pub source: String,
}

impl std::str::FromStr for LiveSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, source) = s
            .split_once('=')
            .ok_or_else(|| format!("--live expects NAME=SOURCE, got {s:?}"))?;
        if !valid_name(name) {
            return Err(format!(
                "--live {s:?}: NAME must be 1-64 letters, digits, '-' or '_'"
            ));
        }
        source.parse::<SourceSpec>().map_err(|e| e.to_string())?;
        Ok(LiveSpec {
            name: name.to_string(),
            source: source.to_string(),
        })
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One line of the home page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StreamSummary {
    /// Name in URLs.
    pub name: String,
    /// Human description of the source.
    pub description: String,
    /// The viewer page (`/live/NAME/`).
    pub url: String,
    /// Viewers now.
    pub viewers: usize,
}

/// Tunables of a registry.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// How long a source stays open with no viewers.
    pub grace: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            grace: Duration::from_secs(10),
        }
    }
}

/// All live streams of one server.
#[derive(Debug)]
pub struct LiveRegistry {
    streams: Vec<Arc<Stream>>,
    started: Instant,
}

impl LiveRegistry {
    /// Starts the streams (sources open lazily, on first viewer).
    pub fn start(specs: &[LiveSpec]) -> Result<Arc<Self>, LiveError> {
        Self::start_with(specs, LiveOptions::default())
    }

    /// [`LiveRegistry::start`] with options.
    pub fn start_with(specs: &[LiveSpec], opts: LiveOptions) -> Result<Arc<Self>, LiveError> {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let mut streams: Vec<Arc<Stream>> = Vec::new();
        for s in specs {
            if !valid_name(&s.name) {
                return Err(LiveError::BadSpec {
                    spec: format!("{}={}", s.name, s.source),
                    reason: "NAME must be 1-64 letters, digits, '-' or '_'".into(),
                });
            }
            if streams.iter().any(|t| t.name == s.name) {
                return Err(LiveError::DuplicateName(s.name.clone()));
            }
            let spec: SourceSpec = s.source.parse()?;
            tracing::info!(stream = %s.name, source = %spec.describe(), "live stream configured");
            streams.push(Stream::new(
                s.name.clone(),
                spec,
                opts.grace,
                runtime.clone(),
            ));
        }
        Ok(Arc::new(LiveRegistry {
            streams,
            started: Instant::now(),
        }))
    }

    /// A stream by name.
    pub fn stream(&self, name: &str) -> Option<&Arc<Stream>> {
        self.streams.iter().find(|s| s.name == name)
    }

    /// Streams for the home page.
    pub fn list(&self) -> Vec<StreamSummary> {
        self.streams
            .iter()
            .map(|s| StreamSummary {
                name: s.name.clone(),
                description: s.spec.describe(),
                url: format!("/live/{}/", s.name),
                viewers: s.viewers().len(),
            })
            .collect()
    }

    /// The `streams` part of `/api/status`: an array with one object per stream.
    pub fn status(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.streams
                .iter()
                .map(|s| status::stream_status(s))
                .collect(),
        )
    }

    /// Seconds since the registry started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Routes under `/live/` (absolute axum paths such as `/live/{name}/stream.mjpg`), each
    /// with its handlers. The server registers them one by one so that its route table (and the
    /// auth gate's test that walks it) sees every one.
    pub fn routes(self: &Arc<Self>) -> Vec<(&'static str, MethodRouter)> {
        let page = {
            let reg = self.clone();
            get(
                move |Path(name): Path<String>, Query(q): Query<LiveQuery>| async move {
                    let Some(s) = reg.stream(&name) else {
                        return not_found(&name);
                    };
                    match q.action.as_deref() {
                        Some("stream") => match http::parse_fps(&q) {
                            Ok(fps) => http::mjpeg::respond(s, fps),
                            Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
                        },
                        Some("snapshot") => http::snapshot::respond(s).await,
                        None | Some("") => http::page::respond(&name),
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
            let reg = self.clone();
            get(
                move |Path(name): Path<String>, Query(q): Query<LiveQuery>| async move {
                    let Some(s) = reg.stream(&name) else {
                        return not_found(&name);
                    };
                    match http::parse_fps(&q) {
                        Ok(fps) => http::mjpeg::respond(s, fps),
                        Err(e) => (StatusCode::BAD_REQUEST, e).into_response(),
                    }
                },
            )
        };
        let snapshot = {
            let reg = self.clone();
            get(move |Path(name): Path<String>| async move {
                match reg.stream(&name) {
                    Some(s) => http::snapshot::respond(s).await,
                    None => not_found(&name),
                }
            })
        };
        let status = {
            let reg = self.clone();
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
        let slash = {
            let reg = self.clone();
            get(move |Path(name): Path<String>| async move {
                match reg.stream(&name) {
                    Some(_) => Redirect::permanent(&format!("/live/{name}/")).into_response(),
                    None => not_found(&name),
                }
            })
        };
        vec![
            ("/live/{name}", slash),
            ("/live/{name}/", page),
            ("/live/{name}/stream.mjpg", stream),
            ("/live/{name}/snapshot.jpg", snapshot),
            ("/live/{name}/status.json", status),
        ]
    }

    /// An axum router with just the live routes plus `/api/status` (for examples, tests and
    /// benchmarks; the real server registers [`LiveRegistry::routes`] itself).
    pub fn router(self: &Arc<Self>) -> axum::Router {
        let mut r = axum::Router::new();
        for (path, mr) in self.routes() {
            r = r.route(path, mr);
        }
        let reg = self.clone();
        r.route(
            "/api/status",
            get(move || async move {
                axum::Json(serde_json::json!({
                    "uptime_secs": reg.uptime().as_secs(),
                    "streams": reg.status(),
                }))
            }),
        )
    }
}

fn not_found(name: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no live stream named {name:?}\n"),
    )
        .into_response()
}
