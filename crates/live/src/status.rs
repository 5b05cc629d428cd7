//! The JSON a stream contributes to `/api/status` and to its own `status.json` (one shape).

use crate::stream::{Stream, lock};
use serde_json::{Value, json};

/// Status of one stream: resolution, fps in and out, viewers with frames dropped per viewer,
/// uptime of the source.
pub fn stream_status(s: &Stream) -> Value {
    let h = lock(&s.health);
    let viewers = s.viewers();
    let fps_out_total: f64 = viewers.iter().map(|v| v.fps()).sum();
    let per_viewer: Vec<Value> = viewers
        .iter()
        .map(|v| {
            json!({
                "id": v.id,
                "transport": v.transport,
                "fps": round2(v.fps()),
                "fps_cap": v.fps_cap,
                "frames_sent": v.sent.load(std::sync::atomic::Ordering::Relaxed),
                "frames_dropped": v.dropped.load(std::sync::atomic::Ordering::Relaxed),
                "connected_secs": v.joined.elapsed().as_secs(),
            })
        })
        .collect();
    let mut per_transport = serde_json::Map::new();
    for v in &viewers {
        let n = per_transport
            .entry(v.transport)
            .or_insert(Value::from(0u64));
        *n = Value::from(n.as_u64().unwrap_or(0) + 1);
    }
    let init = s.av.current_init();
    json!({
        "name": s.name,
        "codecs": init.as_ref().map(|i| i.codecs.clone()),
        "mime": init.as_ref().map(|i| i.mime.clone()),
        "audio": s.spec.audio.is_some(),
        "video_kbps": round2(h.video_bps / 1000.0),
        "audio_kbps": round2(h.audio_bps / 1000.0),
        "viewers_by_transport": per_transport,
        "source": s.spec.describe(),
        "state": h.state,
        "last_error": h.last_error,
        "width": h.size.map(|s| s.0),
        "height": h.size.map(|s| s.1),
        "resolution": h.size.map(|(w, hh)| format!("{w}x{hh}")),
        "fps_in": round2(h.fps_in),
        "fps_out": if viewers.is_empty() { 0.0 } else { round2(fps_out_total / viewers.len() as f64) },
        "fps_out_total": round2(fps_out_total),
        "frames_in": h.frames_in,
        "viewers": viewers.len(),
        "viewer_details": per_viewer,
        "uptime_secs": h.live_since.map(|t| t.elapsed().as_secs()),
        "urls": {
            "page": format!("/live/{}/", s.name),
            "mjpeg": format!("/live/{}/stream.mjpg", s.name),
            "snapshot": format!("/live/{}/snapshot.jpg", s.name),
            "ws": format!("/live/{}/ws", s.name),
        },
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
