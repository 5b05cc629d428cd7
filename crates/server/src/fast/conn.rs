//! The async shell around [`head`](super::head) and [`response`](super::response): reads
//! request heads, runs the router, writes responses, and hands the connection to hyper at the
//! first request it does not take.

use super::head::{self, Head};
use super::response::{self, Framing};
use super::send::{Corked, send_all, send_file};
use crate::access_log::BodySent;
use crate::connection::{Conn, HEADER_TIMEOUT, Socket};
use crate::media::FileRegion;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::{Buf, Bytes, BytesMut};
use http::{Method, Request};
use http_body::Body as _;
use http_body_util::BodyExt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt;

/// Serves `stream` until it closes, `stop` turns true between requests, or a request comes
/// that hyper should have.
pub async fn serve(mut stream: TcpStream, conn: Conn, mut stop: watch::Receiver<bool>) {
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        let (req, len, close) = match read_head(&mut stream, &mut buf, &mut stop).await {
            Some(Head::Plain { req, len, close }) => (*req, len, close),
            Some(_) => {
                let line = buf[..].split(|&b| b == b'\n').next().unwrap_or_default();
                tracing::debug!(
                    "connection from {} goes to hyper at {:?}",
                    conn.peer,
                    String::from_utf8_lossy(&line[..line.len().min(80)])
                );
                let prefixed = Prefixed {
                    prefix: buf.freeze(),
                    inner: conn.socket(stream),
                };
                return conn.serve(prefixed).await;
            }
            None => return,
        };
        buf.advance(len);
        match respond(&stream, &conn, req, close).await {
            Ok(true) if !*stop.borrow() => {}
            Ok(_) => {
                let _ = stream.shutdown().await;
                return;
            }
            Err(e) => {
                // Resets and half-closed sockets are how media clients leave.
                tracing::debug!("connection from {} ended: {e}", conn.peer);
                return;
            }
        }
    }
}

/// The next whole head, `Other` for hyper's requests, or `None` when the connection should
/// end (closed, idle at a stop, too slow).
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    stop: &mut watch::Receiver<bool>,
) -> Option<Head> {
    let deadline = tokio::time::Instant::now() + HEADER_TIMEOUT;
    loop {
        match head::parse(buf) {
            Head::Partial => {}
            whole => return Some(whole),
        }
        let idle = buf.is_empty();
        if idle && *stop.borrow() {
            return None;
        }
        tokio::select! {
            read = tokio::time::timeout_at(deadline, stream.read_buf(buf)) => match read {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            },
            _ = stop.changed(), if idle => return None,
        }
    }
}

/// Answers one request; `Ok(true)` when the connection may carry another.
async fn respond(
    stream: &TcpStream,
    conn: &Conn,
    req: Request<()>,
    close: bool,
) -> io::Result<bool> {
    let head_request = req.method() == Method::HEAD;
    let mut req = req.map(|()| Body::empty());
    req.extensions_mut().insert(ConnectInfo(conn.peer));
    let Ok(res) = conn.router.clone().oneshot(req).await;
    let (mut parts, mut body) = res.into_parts();
    let region = parts.extensions.remove::<FileRegion>();
    let sent = parts.extensions.remove::<BodySent>();
    let count = |n: u64| {
        if let Some(s) = &sent {
            s.add(n);
        }
    };
    let body_len = match &region {
        Some(r) => Some(r.range.end - r.range.start),
        None => body.size_hint().exact(),
    };
    let date = httpdate::fmt_http_date(SystemTime::now());
    let (head, framing) = response::encode(&parts, body_len, head_request, close, &date);
    let keep_alive = !close && framing != Framing::UntilClose;
    match (framing, region) {
        (Framing::None, _) => send_all(stream, &head, false).await?,
        (Framing::Length(n), Some(region)) if Some(n) == body_len => {
            let _cork = Corked::new(stream);
            send_all(stream, &head, n > 0).await?;
            send_file(stream, &region.file, region.range, count).await?;
        }
        (framing, _) => {
            send_all(stream, &head, false).await?;
            let mut left = match framing {
                Framing::Length(n) => n,
                _ => u64::MAX,
            };
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(io::Error::other)?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if data.len() as u64 > left {
                    return Err(io::Error::other("body longer than its Content-Length"));
                }
                // The access log's body wrapper counted these bytes as it yielded them (as it
                // does for hyper); only sendfile's bytes, which bypass it, are added by hand.
                send_all(stream, &data, false).await?;
                left -= data.len() as u64;
            }
            if matches!(framing, Framing::Length(_)) && left != 0 {
                return Err(io::Error::other("body shorter than its Content-Length"));
            }
        }
    }
    if let Some(s) = &sent {
        s.finish();
    }
    Ok(keep_alive)
}

/// The socket with the bytes already read in front, for hyper.
struct Prefixed {
    prefix: Bytes,
    inner: Socket,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.prefix.is_empty() {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        let n = self.prefix.len().min(buf.remaining());
        buf.put_slice(&self.prefix[..n]);
        self.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
