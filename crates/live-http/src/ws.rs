//! `/live/NAME/ws`: the stream's CMAF fragments over a WebSocket, for Media Source Extensions.
//!
//! Messages, server to page: a text message `{"type":"init", mime, codecs, width, height,
//! generation, audio, server_ms}`, a binary message with the init segment, then one binary
//! message per fragment (`prft` + `moof` + `mdat`, video and audio interleaved in capture
//! order). When the encode restarts with other parameters a new init pair comes first. The page
//! may send `{"type":"ping","t":<its clock, ms>}`; the answer `{"type":"pong","t","server_ms"}`
//! lets it read latency on the server's clock even when its own is wrong.
//!
//! Each viewer is a cursor into the stream's fMP4 hub with [`LagPolicy::SkipToKeyframe`]: a
//! viewer whose socket backs up resumes at the newest keyframe, never queues (the hub's ring is
//! the only buffer). A send that cannot finish within [`SEND_TIMEOUT`] ends the connection.

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use homestream_live::av::InitSegment;
use homestream_live::hub::LagPolicy;
use homestream_live::stream::Stream;
use homestream_live::{MediaKind, clock};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A viewer that has not taken one message for this long is gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How old the newest keyframe may be for a new viewer to start at it; older, and the encoder
/// is asked for a fresh one (so picture comes within a frame or two, not a whole GOP late).
pub const FRESH_KEYFRAME: Duration = Duration::from_millis(500);
/// How long a new viewer waits for the encode to start (a source opening, a camera warming).
const INIT_WAIT: Duration = Duration::from_secs(10);
/// Messages from the page are small JSON pings.
const MAX_INCOMING: usize = 4096;

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn init_message(init: &InitSegment, audio: bool) -> Message {
    let v = serde_json::json!({
        "type": "init",
        "mime": init.mime,
        "codecs": init.codecs,
        "width": init.width,
        "height": init.height,
        "generation": init.generation,
        "audio": audio,
        "server_ms": unix_ms(SystemTime::now()),
    });
    Message::Text(Utf8Bytes::from(v.to_string()))
}

/// The page's ping, answered with the server's clock.
fn pong(text: &str) -> Option<Message> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if v.get("type")?.as_str()? != "ping" {
        return None;
    }
    let t = v.get("t").cloned().unwrap_or(serde_json::Value::Null);
    let reply =
        serde_json::json!({"type": "pong", "t": t, "server_ms": unix_ms(SystemTime::now())});
    Some(Message::Text(Utf8Bytes::from(reply.to_string())))
}

/// Upgrades the request and serves the viewer.
pub fn respond(stream: &Arc<Stream>, ws: WebSocketUpgrade) -> Response {
    let stream = stream.clone();
    ws.max_message_size(MAX_INCOMING)
        .on_upgrade(move |socket| serve(stream, socket))
}

async fn serve(stream: Arc<Stream>, socket: WebSocket) {
    let handle = stream.add_viewer("mse", None);
    let stats = handle.stats.clone();
    let mut cursor = stream.av.fmp4.subscribe(LagPolicy::SkipToKeyframe);
    let now = clock::now().pts;
    let fresh = stream
        .av
        .fmp4
        .latest_keyframe()
        .is_some_and(|k| now.saturating_sub(k.pts) <= FRESH_KEYFRAME);
    if !fresh {
        stream.av.request_keyframe(Instant::now());
        cursor.wait_for_keyframe();
    }
    let (mut tx, mut rx) = socket.split();
    let mut init_rx = stream.av.init();
    let ready = matches!(
        tokio::time::timeout(INIT_WAIT, init_rx.wait_for(|i| i.is_some())).await,
        Ok(Ok(_))
    );
    if !ready {
        tracing::info!(stream = %stream.name, viewer = stats.id, "no picture within 10 s; closing");
        let _ = tx.send(Message::Close(None)).await;
        return;
    }
    let mut sent_generation = 0u32;
    let mut skipped = cursor.skipped();
    loop {
        tokio::select! {
            unit = cursor.next() => {
                let Ok(unit) = unit else { break };
                let MediaKind::Fragment { generation } = unit.kind else { continue };
                if generation != sent_generation {
                    let init = init_rx.borrow_and_update().clone();
                    match init {
                        Some(i) if i.generation == generation && unit.keyframe => {
                            let audio = stream.spec.audio.is_some();
                            let head = [init_message(&i, audio), Message::Binary(i.bytes.clone())];
                            let mut ok = true;
                            for m in head {
                                ok &= matches!(tokio::time::timeout(SEND_TIMEOUT, tx.send(m)).await, Ok(Ok(())));
                            }
                            if !ok { break; }
                            sent_generation = generation;
                        }
                        // A fragment of an encode this viewer cannot start yet: wait for its
                        // keyframe.
                        _ => { cursor.wait_for_keyframe(); continue; }
                    }
                }
                match tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Binary(unit.payload.clone()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        tracing::info!(stream = %stream.name, viewer = stats.id, "viewer stopped reading; dropped");
                        break;
                    }
                }
                stats.sent.fetch_add(1, Ordering::Relaxed);
                let now_skipped = cursor.skipped();
                stats.dropped.store(now_skipped, Ordering::Relaxed);
                if now_skipped > skipped && sent_generation != 0 {
                    tracing::info!(stream = %stream.name, viewer = stats.id, skipped = now_skipped - skipped, "viewer fell behind; skipped to the newest keyframe");
                }
                skipped = now_skipped;
            }
            msg = rx.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if let Some(reply) = pong(t.as_str())
                        && tx.send(reply).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    drop(handle);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_get_the_server_clock() {
        let Some(Message::Text(t)) = pong(r#"{"type":"ping","t":12.5}"#) else {
            panic!("no pong");
        };
        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
        assert_eq!(v["type"], "pong");
        assert_eq!(v["t"], 12.5);
        let ms = v["server_ms"].as_u64().unwrap();
        assert!(ms.abs_diff(unix_ms(SystemTime::now())) < 5_000);
        assert!(pong("not json").is_none());
        assert!(pong(r#"{"type":"other"}"#).is_none());
        assert!(pong(r#"[1,2]"#).is_none());
    }
}
