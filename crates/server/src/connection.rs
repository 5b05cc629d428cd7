//! One accepted connection and how hyper serves it. Both the accept loop (`run`) and the
//! sendfile path (`fast`, which hands a connection to hyper at the first request it does not
//! take) start from here.
//!
//! A socket is tuned for what it carries. Every connection gets `TCP_NODELAY`. Live streams
//! also want `TCP_NOTSENT_LOWAT` (see `homestream_live::net`: a slow viewer stops taking
//! frames instead of queueing seconds of them), so a connection gets it at its first
//! `/live/` request and keeps it. File bodies must not have it: it stops each `sendfile` after
//! a few KiB of unsent data, whose last segment the kernel then holds back (the call sent its
//! pages with `MSG_MORE`) with nothing in flight to clock it out, until the 200 ms probe
//! timer sends it; and it keeps the send queue too short for full speed.

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tower::ServiceExt;

/// A client must send its request head (and finish a TLS handshake) within this time.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// One accepted connection, ready to be served over any byte stream (TCP or TLS). Its
/// watcher keeps a graceful stop waiting until the connection ends.
pub(crate) struct Conn {
    builder: auto::Builder<TokioExecutor>,
    pub(crate) router: axum::Router,
    pub(crate) peer: SocketAddr,
    watcher: Watcher,
    live: Live,
}

/// Set once the connection has been asked for a live stream.
#[derive(Clone, Default)]
struct Live(Arc<AtomicBool>);

impl Conn {
    pub(crate) fn new(
        builder: auto::Builder<TokioExecutor>,
        router: axum::Router,
        peer: SocketAddr,
        watcher: Watcher,
    ) -> Conn {
        Conn {
            builder,
            router,
            peer,
            watcher,
            live: Live::default(),
        }
    }

    /// The accepted socket, tuned for file bodies until this connection carries a live
    /// stream.
    pub(crate) fn socket(&self, tcp: TcpStream) -> Socket {
        Socket {
            tcp,
            live: self.live.clone(),
            tuned_live: false,
        }
    }

    pub(crate) async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, stream: S) {
        let Conn {
            builder,
            router,
            peer,
            watcher,
            live,
        } = self;
        let svc =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                if req.uri().path().starts_with("/live/") {
                    // Before the response's first byte is written (see `Socket`).
                    live.0.store(true, Ordering::Relaxed);
                }
                req.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(req)
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), svc)
            .into_owned();
        if let Err(e) = watcher.watch(conn).await {
            match e.downcast_ref::<hyper::Error>() {
                // hyper answered 400 / 431 itself, before any route saw a request: still one
                // line, like every other request.
                Some(h) if h.is_parse() || h.is_parse_too_large() => {
                    tracing::info!(target: "homestream::request", "{peer} bad request refused: {h}");
                }
                // Resets, half-closed sockets and idle keep-alive timeouts are how clients leave.
                _ => tracing::debug!("connection from {peer} ended: {e}"),
            }
        }
    }
}

/// An accepted TCP socket that takes the live tuning before the first write after its
/// connection was asked for a live stream.
pub(crate) struct Socket {
    tcp: TcpStream,
    live: Live,
    tuned_live: bool,
}

impl Socket {
    fn tune(&mut self) {
        if !self.tuned_live && self.live.0.load(Ordering::Relaxed) {
            homestream_live::net::tune_stream_socket(&self.tcp);
            self.tuned_live = true;
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.tune();
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.tune();
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn lowat(s: &Socket) -> u32 {
        socket2::SockRef::from(&s.tcp).tcp_notsent_lowat().unwrap()
    }

    /// File connections keep the kernel's default (no limit); a connection asked for a live
    /// stream has the live limit before its first byte goes out.
    #[tokio::test]
    async fn sockets_are_tuned_for_what_they_carry() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (tcp, peer) = listener.accept().await.unwrap();
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let conn = Conn::new(
            auto::Builder::new(TokioExecutor::new()),
            axum::Router::new(),
            peer,
            graceful.watcher(),
        );
        let mut socket = conn.socket(tcp);
        let default = lowat(&socket);
        socket.write_all(b"file bytes").await.unwrap();
        assert_eq!(lowat(&socket), default);
        // 0: the system's default (net.ipv4.tcp_notsent_lowat, no limit unless set).
        assert_eq!(default, 0);
        conn.live.0.store(true, Ordering::Relaxed);
        socket.write_all(b"--frame").await.unwrap();
        assert_eq!(lowat(&socket), homestream_live::net::NOTSENT_LOWAT);
    }
}
