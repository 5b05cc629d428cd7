//! A WebSocket viewer of `/live/NAME/ws` for the tests: what a page's MSE player receives.

#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One connected viewer.
pub struct WsViewer {
    ws: Ws,
    /// The first text message (the init description).
    pub init_json: serde_json::Value,
    /// The init segment.
    pub init: Vec<u8>,
    /// How long from connecting to the first fragment.
    pub first_fragment_after: Option<Duration>,
    opened: Instant,
}

impl WsViewer {
    /// Connects and reads the init pair.
    pub async fn open(addr: SocketAddr, name: &str) -> Result<WsViewer, String> {
        Self::open_with_auth(addr, name, "").await
    }

    /// [`WsViewer::open`] with an `Authorization` header (none when empty).
    pub async fn open_with_auth(
        addr: SocketAddr,
        name: &str,
        authorization: &str,
    ) -> Result<WsViewer, String> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let opened = Instant::now();
        let url = format!("ws://{addr}/live/{name}/ws");
        let mut req = url.into_client_request().map_err(|e| e.to_string())?;
        if !authorization.is_empty() {
            req.headers_mut().insert(
                "authorization",
                authorization
                    .parse()
                    .map_err(|_| "bad header".to_string())?,
            );
        }
        let (mut ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(req),
        )
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
        let text = match next_msg(&mut ws, Duration::from_secs(10)).await? {
            Message::Text(t) => t,
            other => return Err(format!("first message is not text: {other:?}")),
        };
        let init_json: serde_json::Value =
            serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
        let init = match next_msg(&mut ws, Duration::from_secs(5)).await? {
            Message::Binary(b) => b.to_vec(),
            other => return Err(format!("second message is not binary: {other:?}")),
        };
        Ok(WsViewer {
            ws,
            init_json,
            init,
            first_fragment_after: None,
            opened,
        })
    }

    /// The next fragment (binary message), answering nothing; `None` at the end.
    pub async fn next_fragment(&mut self, within: Duration) -> Result<Option<Vec<u8>>, String> {
        loop {
            match next_msg(&mut self.ws, within).await {
                Ok(Message::Binary(b)) => {
                    self.first_fragment_after
                        .get_or_insert(self.opened.elapsed());
                    return Ok(Some(b.to_vec()));
                }
                Ok(Message::Close(_)) => return Ok(None),
                Ok(_) => continue,
                Err(e) if e == "closed" => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) -> Result<(), String> {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| e.to_string())
    }

    /// The next text message (skipping fragments).
    pub async fn next_text(&mut self, within: Duration) -> Result<String, String> {
        loop {
            if let Message::Text(t) = next_msg(&mut self.ws, within).await? {
                return Ok(t.to_string());
            }
        }
    }

    /// Records fragments for `secs` (init first) into one fMP4 file's bytes.
    pub async fn record(&mut self, secs: f64) -> Result<(Vec<u8>, usize), String> {
        let mut out = self.init.clone();
        let mut n = 0;
        let end = Instant::now() + Duration::from_secs_f64(secs);
        while Instant::now() < end {
            match self.next_fragment(Duration::from_secs(5)).await? {
                Some(f) => {
                    out.extend_from_slice(&f);
                    n += 1;
                }
                None => break,
            }
        }
        Ok((out, n))
    }
}

async fn next_msg(ws: &mut Ws, within: Duration) -> Result<Message, String> {
    match tokio::time::timeout(within, ws.next()).await {
        Err(_) => Err(format!("no message within {within:?}")),
        Ok(None) => Err("closed".into()),
        Ok(Some(Err(e))) => Err(e.to_string()),
        Ok(Some(Ok(m))) => Ok(m),
    }
}
