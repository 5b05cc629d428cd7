//! Query parameters of the live routes.

use serde::Deserialize;

/// Query parameters the live routes understand.
#[derive(Debug, Default, Deserialize)]
pub struct LiveQuery {
    /// Per-viewer rate limit.
    pub fps: Option<String>,
    /// mjpg-streamer style `stream` / `snapshot`.
    pub action: Option<String>,
}

/// `?fps=N` as a rate in (0, 240], or `Err` with a message for a 400.
pub fn parse_fps(q: &LiveQuery) -> Result<Option<f64>, String> {
    match q.fps.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 240.0 => Ok(Some(f)),
            _ => Err(format!("fps must be a number in (0, 240], got {s:?}\n")),
        },
    }
}
