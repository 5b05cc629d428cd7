//! One accepted connection and how hyper serves it. Both the accept loop (`run`) and the
//! sendfile path (`fast`, which hands a connection to hyper at the first request it does not
//! take) start from here.

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
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
}

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
        }
    }

    pub(crate) async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(self, stream: S) {
        let Conn {
            builder,
            router,
            peer,
            watcher,
        } = self;
        let svc =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
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
