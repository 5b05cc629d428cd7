//! `/live/NAME/whep`: WebRTC viewers over WHEP (draft-ietf-wish-whep), the UDP and HTTP shell
//! around the sans-IO sessions of `homestream-webrtc`.
//!
//! - `POST /live/NAME/whep` with an `application/sdp` offer: `201 Created`, the answer (every
//!   candidate in it) and `Location: /live/NAME/whep/ID` (WHEP §4.2).
//! - `DELETE` on that URL ends the session (§4.3); `PATCH` is `405` (no trickle ICE: the
//!   answer's candidates are complete, §4.4 allows that); `OPTIONS` on both answers CORS
//!   preflights (§4.1), so players on other origins can use them; it and each `201` carry
//!   the `--ice-server`s as `Link` headers (§4.6, [`crate::ice_server`]).
//!
//! One task owns the session table and a UDP port: one socket per local address, all on the
//! same port (str0m must know which local address a datagram came to, and a wildcard socket
//! does not say), each read by a small task that hands datagrams over a bounded channel
//! (policy: drop newest when full; UDP's own). Media comes from the stream's hubs: a viewer
//! is two cursors ([`LagPolicy::SkipToKeyframe`]), so one that falls behind resumes at the next
//! keyframe and nothing queues per viewer; each unit is turned into the `Arc<[u8]>` str0m
//! takes once per stream and shared by every session. A full socket buffer drops the datagram
//! (the viewer's NACK or PLI recovers it).

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, options, post};
use homestream_live::hub::{Cursor, LagPolicy};
use homestream_live::stream::{Stream, ViewerHandle};
use homestream_live::{LiveRegistry, MediaUnit, clock};
use homestream_webrtc::{
    EndReason, Endpoint, Negotiated, Offered, SdpOffer, SessionEvent, SessionId, Sessions,
    TableStats, Unit, check_offer, sdp::MAX_OFFER_BYTES,
};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, mpsc, oneshot};

/// Datagrams waiting for the session task; past this they are dropped.
const DATAGRAM_QUEUE: usize = 1024;
/// Sessions at most (each costs a few hundred KiB of str0m state and send buffer).
pub const MAX_SESSIONS: usize = 500;
/// How old the newest keyframe may be for a viewer that just connected to start at it.
const FRESH_KEYFRAME: Duration = Duration::from_millis(100);
/// The session task wakes at least this often (reaping, status).
const TICK: Duration = Duration::from_millis(500);
/// How long a `POST` waits for the session task.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// How WebRTC is reached, from the command line.
#[derive(Debug, Clone, Default)]
pub struct WhepConfig {
    /// The UDP port; `None` picks a free one.
    pub port: Option<u16>,
    /// Local addresses to offer; `None` means every interface (loopback included).
    pub addrs: Option<Vec<IpAddr>>,
    /// Public addresses (a router forwarding the port), offered as server-reflexive
    /// candidates on top of the local ones.
    pub public_ips: Vec<IpAddr>,
    /// STUN/TURN servers for players (`--ice-server`), told in `Link` headers.
    pub ice_servers: Vec<crate::ice_server::IceServer>,
}

/// The counters `/api/status` shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct WhepStatus {
    /// Sessions in the table now.
    pub sessions: usize,
    /// Of those, connected.
    pub connected: usize,
    /// Totals over the server's life.
    pub totals: TableStats,
    /// PLI/FIR from viewers, and how many reached the encoder (it is rate-limited).
    pub keyframe_requests: u64,
    /// Of those, passed on to the encoder.
    pub keyframes_granted: u64,
    /// Datagrams dropped because the session task was behind.
    pub datagrams_dropped: u64,
}

enum Command {
    Offer {
        stream: Arc<Stream>,
        offer: SdpOffer,
        offered: Offered,
        reply: oneshot::Sender<Result<(SessionId, String, Negotiated), homestream_webrtc::Error>>,
    },
    Delete {
        stream: String,
        id: SessionId,
        reply: oneshot::Sender<bool>,
    },
    /// Datagrams no viewer's session takes go to WHIP's task from now on (publishers share
    /// the one UDP port).
    Forward(mpsc::Sender<Datagram>),
}

/// One received datagram, as the socket readers pass it on.
pub(crate) struct Datagram {
    pub(crate) source: SocketAddr,
    pub(crate) destination: SocketAddr,
    pub(crate) contents: Vec<u8>,
    pub(crate) at: Instant,
}

/// The WebRTC service: the UDP port and the task that runs every session.
pub struct Whep {
    commands: mpsc::Sender<Command>,
    status: Arc<Mutex<WhepStatus>>,
    /// The UDP port every session uses.
    pub port: u16,
    /// The local sockets (address and port) offered as host candidates.
    pub local: Vec<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    /// `Link: <URL>; rel="ice-server"` values, one per `--ice-server`.
    ice_links: Vec<HeaderValue>,
    /// The bound sockets, by local address (WHIP sends from them too).
    pub(crate) sockets: HashMap<SocketAddr, Arc<UdpSocket>>,
    /// The candidates every session's answer offers.
    pub(crate) endpoint: Endpoint,
}

impl std::fmt::Debug for Whep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Whep").field("local", &self.local).finish()
    }
}

impl Drop for Whep {
    fn drop(&mut self) {
        self.task.abort();
        for r in &self.readers {
            r.abort();
        }
    }
}

/// The local addresses to offer: every interface's, without IPv4 link-local and IPv6
/// link-local ones (those need a scope id no candidate line carries).
pub(crate) fn local_addrs() -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = vec![IpAddr::from([127, 0, 0, 1])];
    if let Ok(list) = local_ip_address::list_afinet_netifas() {
        for (_, ip) in list {
            let keep = match ip {
                IpAddr::V4(v) => !v.is_link_local() && !v.is_unspecified(),
                IpAddr::V6(v) => !v.is_unicast_link_local() && !v.is_unspecified(),
            };
            if keep && !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

/// Binds one socket per address on one port: the first address decides the port (the given
/// one, or a free one), the others follow it; an address that cannot take it is left out.
pub(crate) async fn bind_all(
    addrs: &[IpAddr],
    port: Option<u16>,
) -> std::io::Result<Vec<Arc<UdpSocket>>> {
    let mut sockets = Vec::new();
    let mut port = port.unwrap_or(0);
    let mut first_err = None;
    for ip in addrs {
        match UdpSocket::bind(SocketAddr::new(*ip, port)).await {
            Ok(s) => {
                if port == 0 {
                    port = s.local_addr()?.port();
                }
                sockets.push(Arc::new(s));
            }
            Err(e) => {
                tracing::warn!("webrtc: cannot bind UDP {ip}:{port}: {e}; not offered");
                first_err.get_or_insert(e);
            }
        }
    }
    match (sockets.is_empty(), first_err) {
        (true, Some(e)) => Err(e),
        (true, None) => Err(std::io::Error::other("no local address to bind")),
        _ => Ok(sockets),
    }
}

impl Whep {
    /// Binds the UDP port and starts the session task (on the current tokio runtime).
    pub async fn start(config: WhepConfig) -> std::io::Result<Arc<Whep>> {
        let addrs = config.addrs.clone().unwrap_or_else(local_addrs);
        let sockets = bind_all(&addrs, config.port).await?;
        let local: Vec<SocketAddr> = sockets.iter().filter_map(|s| s.local_addr().ok()).collect();
        let port = local.first().map_or(0, |a| a.port());
        let public = config
            .public_ips
            .iter()
            .filter_map(|ip| {
                // Forwarded to the first local socket of the same family that is not loopback.
                let base = local
                    .iter()
                    .find(|a| a.is_ipv4() == ip.is_ipv4() && !a.ip().is_loopback())
                    .or_else(|| local.iter().find(|a| a.is_ipv4() == ip.is_ipv4()))?;
                Some((SocketAddr::new(*ip, port), *base))
            })
            .collect();
        let endpoint = Endpoint {
            host: local.clone(),
            public,
        };
        let shared_endpoint = endpoint.clone();
        let (dtx, drx) = mpsc::channel(DATAGRAM_QUEUE);
        let status = Arc::new(Mutex::new(WhepStatus::default()));
        let readers = sockets
            .iter()
            .map(|s| tokio::spawn(read_socket(s.clone(), dtx.clone(), status.clone())))
            .collect();
        let (ctx, crx) = mpsc::channel(64);
        let by_addr: HashMap<SocketAddr, Arc<UdpSocket>> = sockets
            .iter()
            .filter_map(|s| Some((s.local_addr().ok()?, s.clone())))
            .collect();
        let task = tokio::spawn(
            Driver {
                table: Sessions::new(endpoint, MAX_SESSIONS),
                sockets: by_addr.clone(),
                forward: None,
                wake: Arc::new(Notify::new()),
                wakers: HashMap::new(),
                status: status.clone(),
                counters: WhepStatus::default(),
            }
            .run(crx, drx),
        );
        tracing::info!(port, addresses = ?local, "webrtc: UDP port bound");
        Ok(Arc::new(Whep {
            commands: ctx,
            status,
            port,
            local,
            task,
            readers,
            ice_links: config.ice_servers.iter().map(|s| s.link()).collect(),
            sockets: by_addr,
            endpoint: shared_endpoint,
        }))
    }

    /// Sends the datagrams no viewer's session takes to `tx` (WHIP's task), so that
    /// publishers use the same UDP port as viewers.
    pub(crate) async fn forward_unrouted(&self, tx: mpsc::Sender<Datagram>) -> bool {
        self.commands.send(Command::Forward(tx)).await.is_ok()
    }

    /// The counters for `/api/status`.
    pub fn status(&self) -> WhepStatus {
        *lock(&self.status)
    }

    /// The `webrtc` object of `/api/status`.
    pub fn status_json(&self) -> serde_json::Value {
        let s = self.status();
        serde_json::json!({
            "udp_port": self.port,
            "addresses": self.local.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>(),
            "sessions": s.sessions,
            "connected": s.connected,
            "created": s.totals.created,
            "deleted": s.totals.deleted,
            "reaped": s.totals.reaped,
            "closed": s.totals.closed,
            "keyframe_requests": s.keyframe_requests,
            "keyframes_granted": s.keyframes_granted,
            "datagrams_unrouted": s.totals.unrouted,
            "datagrams_dropped": s.datagrams_dropped,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn read_socket(
    socket: Arc<UdpSocket>,
    tx: mpsc::Sender<Datagram>,
    status: Arc<Mutex<WhepStatus>>,
) {
    let Ok(destination) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; 2048];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, source)) => {
                let d = Datagram {
                    source,
                    destination,
                    contents: buf[..n].to_vec(),
                    at: Instant::now(),
                };
                match tx.try_send(d) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        lock(&status).datagrams_dropped += 1;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
            // ICMP port unreachable from a peer that left shows up here on Linux: not fatal.
            Err(e) => tracing::debug!("webrtc: UDP receive on {destination}: {e}"),
        }
    }
}

/// What the shell keeps per session.
struct Viewer {
    stream: Arc<Stream>,
    video: Cursor,
    audio: Cursor,
    handle: ViewerHandle,
}

struct Driver {
    table: Sessions<Viewer>,
    sockets: HashMap<SocketAddr, Arc<UdpSocket>>,
    /// Woken when a stream with sessions publishes a unit.
    wake: Arc<Notify>,
    /// Per stream name: the task that wakes us for it, and how many sessions watch it.
    wakers: HashMap<String, (tokio::task::JoinHandle<()>, usize)>,
    status: Arc<Mutex<WhepStatus>>,
    counters: WhepStatus,
    /// Where datagrams no session takes go (WHIP), once it is running.
    forward: Option<mpsc::Sender<Datagram>>,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut datagrams: mpsc::Receiver<Datagram>,
    ) {
        loop {
            self.flush();
            self.reap();
            self.publish_status();
            let now = Instant::now();
            let deadline = self
                .table
                .next_timeout()
                .map_or(now + TICK, |t| t.min(now + TICK))
                .max(now);
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                d = datagrams.recv() => {
                    let Some(d) = d else { break };
                    self.route(d);
                    // Take what else has arrived before flushing (a burst of RTCP, DTLS).
                    for _ in 0..64 {
                        let Ok(d) = datagrams.try_recv() else { break };
                        self.route(d);
                    }
                }
                _ = self.wake.notified() => self.pump(),
                _ = tokio::time::sleep_until(deadline.into()) => {
                    self.table.handle_timeouts(Instant::now());
                }
            }
        }
        for (_, e) in self.table.iter_mut() {
            e.session.close(EndReason::Closed);
        }
        self.flush();
    }

    /// To the viewer's session it belongs to; else to WHIP, when it runs.
    fn route(&mut self, d: Datagram) {
        let routed = self.table.route(d.at, d.source, d.destination, &d.contents);
        if routed.is_none()
            && let Some(f) = &self.forward
            && let Err(mpsc::error::TrySendError::Full(_)) = f.try_send(d)
        {
            lock(&self.status).datagrams_dropped += 1;
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Forward(tx) => self.forward = Some(tx),
            Command::Offer {
                stream,
                offer,
                offered,
                reply,
            } => {
                let now = Instant::now();
                let viewer = Viewer {
                    video: stream.av.video.subscribe(LagPolicy::SkipToKeyframe),
                    audio: stream.av.audio.subscribe(LagPolicy::SkipToKeyframe),
                    handle: stream.add_viewer("webrtc", None),
                    stream: stream.clone(),
                };
                let res = self
                    .table
                    .create(offer, offered, now, viewer)
                    .map(|(id, answer, neg)| (id, answer.to_sdp_string(), neg));
                if let Ok((id, _, neg)) = &res {
                    tracing::info!(stream = %stream.name, session = %id, video = neg.video, audio = neg.audio, "webrtc: session created");
                    self.watch_stream(&stream);
                }
                let _ = reply.send(res);
            }
            Command::Delete { stream, id, reply } => {
                let found = self
                    .table
                    .get_mut(&id)
                    .filter(|e| e.tag.stream.name == stream)
                    .is_some()
                    && self.table.delete(&id);
                let _ = reply.send(found);
            }
        }
    }

    /// Starts the task that wakes the driver when `stream` publishes, if none runs yet.
    fn watch_stream(&mut self, stream: &Arc<Stream>) {
        let entry = self.wakers.entry(stream.name.clone()).or_insert_with(|| {
            let wake = self.wake.clone();
            let mut v = stream.av.video.subscribe(LagPolicy::SkipToNewest);
            let mut a = stream.av.audio.subscribe(LagPolicy::SkipToNewest);
            let task = tokio::spawn(async move {
                loop {
                    let r = tokio::select! {
                        r = v.next() => r.map(|_| ()),
                        r = a.next() => r.map(|_| ()),
                    };
                    if r.is_err() {
                        // A closed hub: wait for it to reopen rather than spin.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    wake.notify_one();
                }
            });
            (task, 0)
        });
        entry.1 += 1;
    }

    fn unwatch_stream(&mut self, name: &str) {
        if let Some((task, n)) = self.wakers.get_mut(name) {
            *n -= 1;
            if *n == 0 {
                task.abort();
                self.wakers.remove(name);
            }
        }
    }

    /// Sends every session's datagrams and acts on their events.
    fn flush(&mut self) {
        let now = Instant::now();
        for (id, e) in self.table.iter_mut() {
            for t in e.session.transmits() {
                match self.sockets.get(&t.source) {
                    Some(s) => {
                        // Policy for a full socket buffer: drop the datagram.
                        if let Err(err) = s.try_send_to(&t.contents, t.destination)
                            && err.kind() != std::io::ErrorKind::WouldBlock
                        {
                            tracing::debug!("webrtc: send to {}: {err}", t.destination);
                        }
                    }
                    None => tracing::debug!("webrtc: no socket for {}", t.source),
                }
            }
            while let Some(ev) = e.session.poll_event() {
                match ev {
                    SessionEvent::Connected => {
                        tracing::info!(stream = %e.tag.stream.name, session = %id, "webrtc: connected");
                        start_viewer(&mut e.tag, &mut self.counters, now);
                        e.session.wait_for_keyframe();
                    }
                    SessionEvent::KeyframeWanted => {
                        self.counters.keyframe_requests += 1;
                        if e.tag.stream.av.request_keyframe(now) {
                            self.counters.keyframes_granted += 1;
                        }
                    }
                }
            }
        }
    }

    fn reap(&mut self) {
        for (id, entry, why) in self.table.reap() {
            let s = entry.session.stats();
            tracing::info!(
                stream = %entry.tag.stream.name, session = %id, reason = why.as_str(),
                video_sent = s.video_sent, audio_sent = s.audio_sent, keyframe_requests = s.keyframe_requests,
                "webrtc: session ended"
            );
            let name = entry.tag.stream.name.clone();
            drop(entry);
            self.unwatch_stream(&name);
        }
    }

    fn publish_status(&mut self) {
        let connected = self
            .table
            .iter_mut()
            .filter(|(_, e)| e.session.is_connected())
            .count();
        let mut st = lock(&self.status);
        let dropped = st.datagrams_dropped;
        *st = WhepStatus {
            sessions: self.table.len(),
            connected,
            totals: self.table.stats(),
            datagrams_dropped: dropped,
            ..self.counters
        };
    }

    /// Hands every session what its cursors hold. A unit becomes an `Arc<[u8]>` once per
    /// pump, shared by every session that sends it.
    fn pump(&mut self) {
        let mut shared: HashMap<*const MediaUnit, (Arc<MediaUnit>, Unit)> = HashMap::new();
        let mut unit_of = |u: Arc<MediaUnit>| -> Unit {
            let key = Arc::as_ptr(&u);
            shared
                .entry(key)
                .or_insert_with(|| {
                    let unit =
                        Unit::from_bytes(&u.payload, u.pts, clock::instant_of(u.pts), u.keyframe);
                    (u, unit)
                })
                .1
                .clone()
        };
        for (_, e) in self.table.iter_mut() {
            let v = &mut e.tag;
            if !e.session.is_connected() {
                v.video.skip_to_end();
                v.audio.skip_to_end();
                continue;
            }
            while let Ok(Some(u)) = v.video.try_next() {
                if e.session.write_video(&unit_of(u)) {
                    v.handle.stats.sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            v.handle
                .stats
                .dropped
                .store(v.video.skipped(), Ordering::Relaxed);
            while let Ok(Some(u)) = v.audio.try_next() {
                e.session.write_audio(&unit_of(u));
            }
        }
    }
}

/// A viewer that just connected starts at a keyframe: the newest one if it is fresh, else the
/// next, which it asks the encoder for (rate-limited there).
fn start_viewer(v: &mut Viewer, counters: &mut WhepStatus, now: Instant) {
    let av = &v.stream.av;
    let fresh = av
        .video
        .latest_keyframe()
        .is_some_and(|k| clock::now().pts.saturating_sub(k.pts) <= FRESH_KEYFRAME);
    if fresh {
        v.video = av.video.subscribe(LagPolicy::SkipToKeyframe);
    } else {
        counters.keyframe_requests += 1;
        if av.request_keyframe(now) {
            counters.keyframes_granted += 1;
        }
        v.video.wait_for_keyframe();
    }
    v.audio.skip_to_end();
}

// ---- HTTP ----

/// CORS and caching headers of every WHEP and WHIP response (RFC 9725 §4.1: browsers on other
/// origins may publish and play).
pub(crate) fn cors(h: &mut HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("OPTIONS, POST, DELETE, PATCH"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Authorization, If-Match"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(
            "Location, Link, X-Media-Epoch-Ms, X-Server-Received-Ms, X-Server-Time-Ms",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Response header of a `201`: the wall-clock time (Unix ms) of RTP time 0.
const MEDIA_EPOCH: &str = "x-media-epoch-ms";
/// Response header of a `201`: the server's clock (Unix ms) when the offer had arrived.
const SERVER_RECEIVED: &str = "x-server-received-ms";
/// Response header of a `201`: the server's clock (Unix ms) as it answered.
const SERVER_TIME: &str = "x-server-time-ms";

fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A plain-text answer (one line, newline-terminated) with the CORS headers.
pub(crate) fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut msg = msg.into();
    if !msg.ends_with('\n') {
        msg.push('\n');
    }
    let mut r = (status, msg).into_response();
    cors(r.headers_mut());
    r
}

/// Whether the request's body is declared `application/sdp`.
pub(crate) fn is_sdp(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/sdp"))
}

async fn offer(
    whep: Arc<Whep>,
    reg: Arc<LiveRegistry>,
    name: String,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(stream) = reg.stream(&name).cloned() else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no live stream named {name:?}"),
        );
    };
    if !is_sdp(&headers) {
        return text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a WHEP offer is sent as Content-Type: application/sdp",
        );
    }
    let bytes = match axum::body::to_bytes(body, MAX_OFFER_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the SDP offer is larger than {MAX_OFFER_BYTES} bytes (or was cut off)"),
            );
        }
    };
    let (offer, offered) = match check_offer(&bytes) {
        Ok(o) => o,
        Err(e) => {
            tracing::info!(stream = %name, "webrtc: offer refused: {e}");
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return text(status, e.to_string());
        }
    };
    let received = unix_ms(std::time::SystemTime::now());
    let (reply, rx) = oneshot::channel();
    let cmd = Command::Offer {
        stream,
        offer,
        offered,
        reply,
    };
    if whep.commands.send(cmd).await.is_err() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "WebRTC is not running");
    }
    match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
        Ok(Ok(Ok((id, answer, _)))) => {
            let mut r = (StatusCode::CREATED, answer).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/sdp"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("/live/{name}/whep/{id}")) {
                h.insert(header::LOCATION, v);
            }
            // RTP timestamps count from the media clock's epoch (90 kHz video): with that
            // epoch on the wall clock and the server's time now, a page reads a frame's
            // capture time from its RTP timestamp, on the server's clock.
            h.insert(
                MEDIA_EPOCH,
                HeaderValue::from(unix_ms(clock::wall_of(Duration::ZERO))),
            );
            h.insert(SERVER_RECEIVED, HeaderValue::from(received));
            for l in &whep.ice_links {
                h.append(header::LINK, l.clone());
            }
            h.insert(
                SERVER_TIME,
                HeaderValue::from(unix_ms(std::time::SystemTime::now())),
            );
            cors(h);
            r
        }
        Ok(Ok(Err(homestream_webrtc::Error::Offer(e)))) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            text(status, e.to_string())
        }
        Ok(Ok(Err(e @ homestream_webrtc::Error::Full { .. }))) => {
            text(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        Ok(Ok(Err(e))) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        _ => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "WebRTC did not answer in time",
        ),
    }
}

async fn delete(whep: Arc<Whep>, name: String, id: String) -> Response {
    let Some(id) = SessionId::parse(&id) else {
        return text(StatusCode::NOT_FOUND, "no such WebRTC session");
    };
    let (reply, rx) = oneshot::channel();
    let cmd = Command::Delete {
        stream: name,
        id,
        reply,
    };
    if whep.commands.send(cmd).await.is_err() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "WebRTC is not running");
    }
    match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
        Ok(Ok(true)) => text(StatusCode::OK, "session ended"),
        Ok(Ok(false)) => text(StatusCode::NOT_FOUND, "no such WebRTC session"),
        _ => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "WebRTC did not answer in time",
        ),
    }
}

/// The `OPTIONS` answer of an endpoint (`accept_post`) or a session URL.
pub(crate) fn preflight(allow: &'static str, accept_post: bool) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    cors(h);
    // A page measuring latency on the server's clock probes it here too: the sample with the
    // shortest round trip gives the best offset (the POST's can be skewed by a busy page).
    h.insert(
        SERVER_TIME,
        HeaderValue::from(unix_ms(std::time::SystemTime::now())),
    );
    h.insert(header::ALLOW, HeaderValue::from_static(allow));
    if accept_post {
        h.insert("accept-post", HeaderValue::from_static("application/sdp"));
    }
    r
}

/// `PATCH` on a session URL: 405, the answer's candidates are complete (RFC 9725 §4.3.1).
pub(crate) fn no_trickle() -> Response {
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        "trickle ICE is not needed: the answer holds every candidate",
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("OPTIONS, DELETE"));
    r
}

/// The WHEP routes, for the server's route table.
pub fn routes(whep: &Arc<Whep>, reg: &Arc<LiveRegistry>) -> Vec<(&'static str, MethodRouter)> {
    let endpoint = {
        let links = whep.ice_links.clone();
        let (whep, reg) = (whep.clone(), reg.clone());
        post(
            move |Path(name): Path<String>, headers: HeaderMap, body: Body| {
                offer(whep, reg, name, headers, body)
            },
        )
        .options({
            move || async move {
                let mut r = preflight("OPTIONS, POST", true);
                for l in &links {
                    r.headers_mut().append(header::LINK, l.clone());
                }
                r
            }
        })
    };
    let session = {
        let whep = whep.clone();
        axum::routing::delete(move |Path((name, id)): Path<(String, String)>| {
            delete(whep, name, id)
        })
        .patch(|| async { no_trickle() })
        .merge(options(|| async { preflight("OPTIONS, DELETE", false) }))
    };
    vec![
        ("/live/{name}/whep", endpoint),
        ("/live/{name}/whep/{id}", session),
    ]
}
