//! The named live streams a server runs (the table; their HTTP routes are in `homestream-live-http`).

use crate::error::LiveError;
use crate::spec::StreamSpec;
use crate::status;
use crate::stream::Stream;
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
        source.parse::<StreamSpec>().map_err(|e| e.to_string())?;
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
    /// What is running now, for a line under the name: codecs, size, rates, viewers per
    /// transport (empty while the source is idle).
    pub now: String,
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
            let spec: StreamSpec = s.source.parse()?;
            tracing::info!(stream = %s.name, source = %spec.describe(), "live stream configured");
            streams.push(Stream::new(
                s.name.clone(),
                spec,
                opts.grace,
                runtime.clone(),
            )?);
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
                now: now_line(s),
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

    /// The server is stopping: every source is released as soon as its last viewer is gone,
    /// without the grace period.
    pub fn close(&self) {
        for s in &self.streams {
            s.close();
        }
    }

    /// Whether no source is open (every source thread has ended).
    pub fn is_released(&self) -> bool {
        self.streams.iter().all(|s| s.is_released())
    }

    /// Seconds since the registry started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// `H.264 + Opus · 1280x720 · 30 fps · 2480 kbit/s · 2 mse, 1 mjpeg`, from the stream's status.
fn now_line(s: &Stream) -> String {
    let st = status::stream_status(s);
    let mut parts = Vec::new();
    if let Some(codecs) = st["codecs"].as_array() {
        let names: Vec<&str> = codecs
            .iter()
            .filter_map(|c| c.as_str())
            .map(|c| {
                if c.starts_with("avc1") {
                    "H.264"
                } else if c == "opus" {
                    "Opus"
                } else {
                    c
                }
            })
            .collect();
        parts.push(names.join(" + "));
    }
    if let Some(r) = st["resolution"].as_str() {
        parts.push(r.to_string());
    }
    if let Some(f) = st["fps_in"].as_f64().filter(|f| *f > 0.0) {
        parts.push(format!("{f:.0} fps"));
    }
    let kbps = st["video_kbps"].as_f64().unwrap_or(0.0) + st["audio_kbps"].as_f64().unwrap_or(0.0);
    if kbps > 0.0 {
        parts.push(format!("{kbps:.0} kbit/s"));
    }
    if let Some(t) = st["viewers_by_transport"]
        .as_object()
        .filter(|t| !t.is_empty())
    {
        let v: Vec<String> = t.iter().map(|(k, n)| format!("{n} {k}")).collect();
        parts.push(v.join(", "));
    }
    parts.join(" · ")
}
