//! Starting and stopping a server: bind, accept, serve each connection with hyper, drain.

use crate::listen::{bind, lan_urls};
use crate::{AppState, Error, RouteInfo, ServeConfig, build_router};
use axum::extract::ConnectInfo;
use homestream_library::Library;
use homestream_live::LiveRegistry;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How long open responses (streams, long downloads) may run on after a stop is asked for.
const DRAIN: Duration = Duration::from_secs(2);
/// A client must send its request head within this time (slowloris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server.
pub struct Server {
    /// Where it listens.
    pub local_addr: SocketAddr,
    /// Where users can reach it (LAN first).
    pub urls: Vec<String>,
    /// Every route, for tests and diagnostics.
    pub routes: Vec<RouteInfo>,
    /// The shared state (library, live streams).
    pub state: Arc<AppState>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Opens the library and live streams, binds, and starts serving in the background.
pub async fn start(config: ServeConfig) -> Result<Server, Error> {
    let library = Arc::new(Library::new(&config.paths)?);
    let live = LiveRegistry::start(&config.live).map_err(|e| Error::Live(e.to_string()))?;
    let state = Arc::new(AppState {
        library,
        live,
        started: Instant::now(),
    });
    let (router, routes) = build_router(Arc::clone(&state));
    let listener = bind(config.bind, config.port).await?;
    let local_addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: SocketAddr::new(config.bind.unwrap_or([0, 0, 0, 0].into()), 0),
        source,
    })?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, router, stopped));
    Ok(Server {
        local_addr,
        urls: lan_urls(local_addr, "http"),
        routes,
        state,
        stop,
        task,
    })
}

impl Server {
    /// Stops accepting, lets open responses finish for a moment, then closes them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(listener: TcpListener, router: axum::Router, mut stop: watch::Receiver<bool>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    // `[::]` listeners see IPv4 clients as ::ffff:a.b.c.d; logs and rate limits
                    // want the plain address.
                    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
                    let router = router.clone();
                    let svc = hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(ConnectInfo(peer));
                        router.clone().oneshot(req)
                    });
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            // Resets and half-closed sockets are how media clients leave.
                            tracing::debug!("connection from {peer} ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning; accepting resumes on its own.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => {}
    }
}
