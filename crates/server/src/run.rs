//! Starting and stopping a server: bind, accept (TLS when asked), serve each connection with
//! hyper, drain on stop.

use crate::config::Tls;
use crate::connection::{Conn, HEADER_TIMEOUT};
use crate::listen::{bind, lan_urls};
use crate::{AppState, Error, RouteInfo, ServeConfig, app, build_router};
use homestream_auth::Auth;
use homestream_library::Library;
use homestream_live::LiveRegistry;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// How long open responses (streams, long downloads) may run on after a stop is asked for.
const DRAIN: Duration = Duration::from_secs(2);
/// How long a stop waits for the live sources to close (a source reading a frame ends within
/// one frame interval; a relay within its read timeout).
const RELEASE: Duration = Duration::from_secs(2);
/// The largest request head (request line and headers) hyper accepts; see `accept_loop`.
pub(crate) const MAX_REQUEST_HEAD: usize = 64 * 1024;

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
    /// Whether a login is required.
    pub auth: Option<Arc<Auth>>,
    /// The self-signed certificate (PEM) when `Tls::SelfSigned`.
    pub self_signed_cert: Option<String>,
    /// Where that certificate is kept between runs (with `state_dir`), and whether it was made
    /// by this start.
    pub self_signed_kept: Option<(PathBuf, bool)>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Opens the library, live streams and users file, binds, and starts serving in the
/// background.
pub async fn start(config: ServeConfig) -> Result<Server, Error> {
    let library = Arc::new(Library::new(&config.paths)?);
    let tls_on = config.tls != Tls::Off;
    let auth = match &config.auth {
        Some(path) => Some(Arc::new(
            Auth::load_with(path, config.auth_config.clone())?.with_secure_cookies(tls_on),
        )),
        None => None,
    };
    let live = LiveRegistry::start(&config.live).map_err(|e| Error::Live(e.to_string()))?;
    let webrtc = match homestream_live_http::whep::Whep::start(config.webrtc.clone()).await {
        Ok(w) => Some(w),
        Err(source) => match config.webrtc.port {
            Some(port) => return Err(Error::WebrtcPort { port, source }),
            None => {
                tracing::warn!("WebRTC is off: no UDP port could be bound: {source}");
                None
            }
        },
    };
    let whip = if live
        .list()
        .iter()
        .any(|s| live.stream(&s.name).is_some_and(|s| s.is_publish()))
    {
        match &webrtc {
            Some(w) => match homestream_live_http::whip::Whip::start(w).await {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!("WHIP is off: {e}");
                    None
                }
            },
            None => {
                tracing::warn!("WHIP is off: it uses the WebRTC UDP port, and WebRTC is off");
                None
            }
        }
    } else {
        None
    };
    let state = Arc::new(AppState {
        library,
        live,
        webrtc,
        whip,
        started: Instant::now(),
        transcode: start_transcoder(&config),
        transcode_hint: (!config.no_transcode).then_some(crate::transcode::NO_FFMPEG),
    });
    let (router, routes) = build_router(Arc::clone(&state));
    let router = app(router, auth.clone());
    let listener = bind(config.bind, config.port).await?;
    let local_addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: SocketAddr::new(config.bind.unwrap_or([0, 0, 0, 0].into()), 0),
        source,
    })?;
    let urls = lan_urls(local_addr, if tls_on { "https" } else { "http" });
    let mut self_signed_kept = None;
    let (acceptor, self_signed_cert) = match &config.tls {
        Tls::Off => (None, None),
        Tls::Files { cert, key } => (Some(homestream_auth::tls::load(cert, key)?), None),
        Tls::SelfSigned => {
            let mut names: Vec<String> = urls.iter().filter_map(|u| host_of(u)).collect();
            names.push("localhost".into());
            match &config.state_dir {
                Some(dir) => {
                    let kept = homestream_auth::tls::self_signed_kept(&dir.join("tls"), &names)?;
                    self_signed_kept = Some((kept.cert_path, kept.made_now));
                    (Some(kept.config), Some(kept.pem))
                }
                None => {
                    let (cfg, pem) = homestream_auth::tls::self_signed(&names)?;
                    (Some(cfg), Some(pem))
                }
            }
        }
    };
    let acceptor = acceptor.map(|c| TlsAcceptor::from(Arc::new(c)));
    let (stop, stopped) = watch::channel(false);
    let sendfile = cfg!(target_os = "linux") && acceptor.is_none() && !config.no_sendfile;
    let task = tokio::spawn(accept_loop(listener, router, acceptor, sendfile, stopped));
    Ok(Server {
        local_addr,
        urls,
        routes,
        state,
        auth,
        self_signed_cert,
        self_signed_kept,
        stop,
        task,
    })
}

/// The transcoder, when ffmpeg runs here; its cache is in the state folder (else in the
/// temporary folder, per user).
fn start_transcoder(config: &ServeConfig) -> Option<Arc<homestream_transcode::Transcoder>> {
    if config.no_transcode {
        return None;
    }
    let cache_dir = match &config.state_dir {
        Some(d) => d.join("cache"),
        None => std::env::temp_dir().join(format!("homestream-cache-{}", user_tag())),
    };
    let cfg = homestream_transcode::TranscodeConfig {
        ffmpeg: config.ffmpeg.clone(),
        cache_dir,
        cache_cap_bytes: homestream_transcode::DEFAULT_CACHE_CAP,
        max_jobs: config.transcode_jobs,
    };
    match homestream_transcode::Transcoder::new(&cfg) {
        Ok(t) => {
            tracing::info!(
                "files the browser cannot play are remuxed or transcoded ({}, cache {})",
                t.status()["ffmpeg"].as_str().unwrap_or("ffmpeg"),
                cfg.cache_dir.display()
            );
            Some(Arc::new(t))
        }
        Err(e) => {
            tracing::warn!("{e}: files the browser cannot play are offered for download only");
            None
        }
    }
}

/// The user's id, to keep users' caches apart in a shared temporary folder.
fn user_tag() -> String {
    std::env::var("USER").unwrap_or_else(|_| "user".into())
}

fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = rest.rsplit_once(':')?.0;
    Some(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
}

impl Server {
    /// Stops accepting, lets open responses finish for a moment, then closes them, and waits
    /// (briefly) until the live sources have let go of their cameras and microphones.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        if let Some(t) = &self.state.transcode {
            t.stop_all();
        }
        self.state.live.close();
        let released_by = Instant::now() + RELEASE;
        while !self.state.live.is_released() && Instant::now() < released_by {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
async fn accept_loop(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<TlsAcceptor>,
    sendfile: bool,
    mut stop: watch::Receiver<bool>,
) {
    // Connections still open when the drain time is over end when this sender is dropped.
    let (closing, closed) = watch::channel(());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        // A request head larger than this is a 431 instead of hyper's ~400 KiB default, so a
        // crowd of slow clients with huge headers cannot hold much memory (nginx allows 32 KiB).
        .max_buf_size(MAX_REQUEST_HEAD);
    // HTTP/2 (offered by ALPN on TLS): the same limits on its header block, pings to find
    // dead peers.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_REQUEST_HEAD as u32)
        .keep_alive_interval(Some(std::time::Duration::from_secs(30)));
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Live streams add their own tuning later (see `connection`).
                    let _ = stream.set_nodelay(true);
                    // `[::]` listeners see IPv4 clients as ::ffff:a.b.c.d; logs and rate limits
                    // want the plain address.
                    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
                    let conn = Conn::new(builder.clone(), router.clone(), peer, graceful.watcher());
                    let closed = closed.clone();
                    match &tls {
                        #[cfg(target_os = "linux")]
                        None if sendfile => {
                            tokio::spawn(until_closed(closed, crate::fast::serve(stream, conn, stop.clone())));
                        }
                        None => {
                            let socket = conn.socket(stream);
                            tokio::spawn(until_closed(closed, conn.serve(socket)));
                        }
                        Some(acceptor) => {
                            let acceptor = acceptor.clone();
                            tokio::spawn(until_closed(closed, async move {
                                let socket = conn.socket(stream);
                                match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(socket)).await {
                                    Ok(Ok(tls_stream)) => conn.serve(tls_stream).await,
                                    Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                                    Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                                }
                            }));
                        }
                    }
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
    drop(closing);
}

/// Runs a connection until it ends or the server's drain time is over.
async fn until_closed(mut closed: watch::Receiver<()>, conn: impl Future<Output = ()>) {
    tokio::select! {
        _ = conn => {}
        _ = closed.changed() => {}
    }
}
