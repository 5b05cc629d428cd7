//! A minimal MJPEG reader for tests and the load client: HTTP/1.1 through hyper's client
//! connection (which removes chunked encoding), then the multipart parts by Content-Length.
//! It counts and times parts and keeps their bytes only when asked, so one process can read
//! hundreds of streams. (The full parser is homestream_mjpeg's; this one stays independent of
//! it so that the relay test does not check the relay with its own parser.)

#![allow(dead_code)]

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One received part.
#[derive(Debug, Clone)]
pub struct Part {
    pub len: usize,
    /// X-Timestamp, Unix seconds.
    pub timestamp: Option<f64>,
    /// When its last byte arrived, Unix seconds.
    pub received: f64,
    pub data: Option<Vec<u8>>,
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// A part whose body is being read: (length, X-Timestamp, bytes if kept, bytes so far).
type InBody = (usize, Option<f64>, Option<Vec<u8>>, usize);

#[derive(Default)]
pub struct PartParser {
    buf: BytesMut,
    body: Option<InBody>,
    pub keep: bool,
}

impl PartParser {
    pub fn new(keep: bool) -> Self {
        PartParser {
            keep,
            ..Default::default()
        }
    }

    /// Feeds bytes; completed parts are appended to `out`.
    pub fn push(&mut self, mut chunk: Bytes, out: &mut Vec<Part>) -> Result<(), String> {
        loop {
            if let Some((len, _, data, got)) = &mut self.body {
                let take = (*len - *got).min(chunk.len());
                if let Some(d) = data {
                    d.extend_from_slice(&chunk[..take]);
                }
                *got += take;
                chunk.advance(take);
                if *got == *len {
                    let (len, ts, data, _) = self.body.take().unwrap_or_default();
                    out.push(Part {
                        len,
                        timestamp: ts,
                        received: unix_now(),
                        data,
                    });
                    continue;
                }
                return Ok(());
            }
            if chunk.is_empty() {
                return Ok(());
            }
            self.buf.extend_from_slice(&chunk);
            // Skip the CRLF that ends the previous part.
            while self.buf.first().is_some_and(|b| *b == b'\r' || *b == b'\n') {
                self.buf.advance(1);
            }
            let Some(end) = memchr::memmem::find(&self.buf, b"\r\n\r\n") else {
                if self.buf.len() > 8192 {
                    return Err("part head longer than 8 KiB".into());
                }
                return Ok(());
            };
            let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
            self.buf.advance(end + 4);
            let mut lines = head.split("\r\n");
            let delim = lines.next().unwrap_or_default();
            if !delim.starts_with("--") {
                return Err(format!("expected a boundary, got {delim:?}"));
            }
            let (mut len, mut ts) = (None, None);
            for l in lines {
                if let Some((k, v)) = l.split_once(':') {
                    let v = v.trim();
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.parse::<usize>().ok();
                    } else if k.eq_ignore_ascii_case("x-timestamp") {
                        ts = v.parse::<f64>().ok();
                    }
                }
            }
            let len = len.ok_or("part without Content-Length")?;
            let data = self.keep.then(|| Vec::with_capacity(len));
            self.body = Some((len, ts, data, 0));
            chunk = self.buf.split().freeze();
        }
    }
}

/// An open MJPEG response.
pub struct MjpegStream {
    body: hyper::body::Incoming,
    parser: PartParser,
    ready: std::collections::VecDeque<Part>,
    pub content_type: String,
    _conn: tokio::task::JoinHandle<()>,
}

/// GETs `path` from `addr` and returns the response status, headers and body bytes, whole.
pub async fn get(addr: SocketAddr, path: &str) -> Result<(u16, hyper::HeaderMap, Vec<u8>), String> {
    get_with_auth(addr, path, None).await
}

/// [`get`] with an `Authorization` header.
pub async fn get_with_auth(
    addr: SocketAddr,
    path: &str,
    auth: Option<&str>,
) -> Result<(u16, hyper::HeaderMap, Vec<u8>), String> {
    let (res, conn) = request_with(addr, path, None, auth).await?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    conn.abort();
    Ok((status, headers, body))
}

type Opened = (
    hyper::Response<hyper::body::Incoming>,
    tokio::task::JoinHandle<()>,
);

async fn request_with(
    addr: SocketAddr,
    path: &str,
    rcvbuf: Option<u32>,
    auth: Option<&str>,
) -> Result<Opened, String> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| e.to_string())?;
    if let Some(n) = rcvbuf {
        socket.set_recv_buffer_size(n).map_err(|e| e.to_string())?;
    }
    let tcp = socket
        .connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    tcp.set_nodelay(true).ok();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| e.to_string())?;
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = hyper::Request::get(path).header("host", addr.to_string());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
    let res = send.send_request(req).await.map_err(|e| e.to_string())?;
    Ok((res, conn))
}

impl MjpegStream {
    pub async fn open(addr: SocketAddr, path: &str, keep: bool) -> Result<Self, String> {
        Self::open_with(addr, path, keep, None).await
    }

    /// Like `open`, behind a login (`Authorization` header).
    pub async fn open_with_auth(
        addr: SocketAddr,
        path: &str,
        keep: bool,
        auth: &str,
    ) -> Result<Self, String> {
        let (res, conn) = request_with(addr, path, None, Some(auth)).await?;
        Self::from_response(res, conn, keep)
    }

    /// Like `open`, with a small receive buffer: a reader that is slow itself, not only its
    /// link (the kernel would otherwise absorb megabytes for it).
    pub async fn open_with(
        addr: SocketAddr,
        path: &str,
        keep: bool,
        rcvbuf: Option<u32>,
    ) -> Result<Self, String> {
        let (res, conn) = request_with(addr, path, rcvbuf, None).await?;
        Self::from_response(res, conn, keep)
    }

    fn from_response(
        res: hyper::Response<hyper::body::Incoming>,
        conn: tokio::task::JoinHandle<()>,
        keep: bool,
    ) -> Result<Self, String> {
        if res.status() != 200 {
            return Err(format!("status {}", res.status()));
        }
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Ok(MjpegStream {
            body: res.into_body(),
            parser: PartParser::new(keep),
            ready: Default::default(),
            content_type,
            _conn: conn,
        })
    }

    /// The next part; `None` at the end of the stream.
    pub async fn next(&mut self) -> Result<Option<Part>, String> {
        loop {
            if let Some(p) = self.ready.pop_front() {
                return Ok(Some(p));
            }
            let Some(frame) = self.body.frame().await else {
                return Ok(None);
            };
            let frame = frame.map_err(|e| e.to_string())?;
            if let Ok(data) = frame.into_data() {
                let mut out = Vec::new();
                self.parser.push(data, &mut out)?;
                self.ready.extend(out);
            }
        }
    }

    /// The next part, or an error after `t`.
    pub async fn next_within(&mut self, t: Duration) -> Result<Part, String> {
        match tokio::time::timeout(t, self.next()).await {
            Ok(Ok(Some(p))) => Ok(p),
            Ok(Ok(None)) => Err("stream ended".into()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("no part within {t:?}")),
        }
    }
}
