//! The named live streams a server runs.

use std::sync::Arc;

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
        Ok(LiveSpec {
            name: name.to_string(),
            source: source.to_string(),
        })
    }
}

/// One line of the home page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StreamSummary {
    /// Name in URLs.
    pub name: String,
    /// Human description of the source.
    pub description: String,
}

/// All live streams of one server.
#[derive(Default)]
pub struct LiveRegistry {}

impl LiveRegistry {
    /// Starts the streams (sources open lazily, on first viewer).
    pub fn start(_specs: &[LiveSpec]) -> Result<Arc<Self>, String> {
        Ok(Arc::new(LiveRegistry {}))
    }

    /// Streams for the home page.
    pub fn list(&self) -> Vec<StreamSummary> {
        Vec::new()
    }

    /// The `streams` part of `/api/status`.
    pub fn status(&self) -> serde_json::Value {
        serde_json::json!([])
    }

    /// Routes under `/live/` (absolute axum paths such as `/live/{name}/stream.mjpg`), each
    /// with its handlers. The server registers them one by one so that its route table (and the
    /// auth gate's test that walks it) sees every one.
    pub fn routes(self: &Arc<Self>) -> Vec<(&'static str, axum::routing::MethodRouter)> {
        Vec::new()
    }
}
