//! `/live/NAME/whip`: publishers over WHIP (RFC 9725), the UDP and HTTP shell around the
//! sans-IO [`homestream_webrtc::ingest::Publisher`].
//!
//! - `POST /live/NAME/whip` with an `application/sdp` offer: `201 Created`, the answer (every
//!   candidate in it) and `Location: /live/NAME/whip/ID` (RFC 9725 §4.2). `?takeover=1`
//!   replaces a publisher that has stopped sending.
//! - `DELETE` on that URL ends publishing (§4.2); `PATCH` is `405` (no trickle ICE: the
//!   answer's candidates are complete, §4.3.1 allows that); `OPTIONS` answers CORS preflight.
//!
//! Who may publish: a logged-in user (session cookie), HTTP Basic credentials, or an API token
//! created with the publish scope (`homestream token create NAME --publish`). Other tokens are
//! what players and viewers are given, so they cannot publish (403). On a server without
//! accounts anyone on the network may publish.
//!
//! Each unit is stamped with its capture time: its RTP time mapped to this machine's clock
//! ([`RtpClock`], per track), not the moment the task got to it.
//!
//! One task owns the publishers; they use WHEP's UDP port (`--webrtc-port`, one socket per
//! local address): WHEP's task hands over, over a bounded channel (policy: drop newest when
//! full), every datagram none of its viewers' sessions takes. Each received
//! unit goes straight into the stream's hubs ([`Stream::publish_video`]); viewers' keyframe
//! requests (already rate-limited by the stream) are polled every [`TICK`] and sent as PLI.

use crate::whep::{Datagram, Whep, cors, is_sdp, no_trickle, preflight, text};
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, options, post};
use bytes::Bytes;
use homestream_auth::Via;
use homestream_auth::http::AuthUser;
use homestream_live::LiveRegistry;
use homestream_live::stream::{PublishRefusal, Stream};
use homestream_webrtc::ingest::{
    Publisher, PublisherEnd, PublisherEvent, RtpClock, check_publish_offer,
};
use homestream_webrtc::sdp::MAX_OFFER_BYTES;
use homestream_webrtc::{Endpoint, SessionId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// Datagrams waiting for the task; past this they are dropped.
const DATAGRAM_QUEUE: usize = 1024;
/// Publishers at most, connected or not (one per stream is live; the rest are being refused
/// or replaced).
pub const MAX_PUBLISHERS: usize = 32;
/// The task wakes at least this often: keyframe requests, timeouts, status.
const TICK: Duration = Duration::from_millis(20);
/// While the stream has viewers, the publisher is asked for a keyframe at least this often
/// (a PLI), as the server's own encoder makes one a second: a viewer's request that the
/// stream's rate limit dropped, or a PLI lost on the way, is never waited on for longer.
const KEYFRAME_EVERY: Duration = Duration::from_secs(1);
/// How long a `POST` waits for the task.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Counters for `/api/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WhipStatus {
    /// Publisher sessions now.
    pub sessions: usize,
    /// Of those, connected.
    pub connected: usize,
    /// Publishes accepted over the server's life.
    pub accepted: u64,
    /// Refused (busy stream, bad offer, no right).
    pub refused: u64,
    /// PLIs sent to publishers for viewers.
    pub plis: u64,
    /// Datagrams no publisher accepted.
    pub unrouted: u64,
}

type OfferReply = oneshot::Sender<Result<(SessionId, String), (StatusCode, String)>>;

enum Command {
    Offer {
        stream: Arc<Stream>,
        offer: homestream_webrtc::SdpOffer,
        offered: homestream_webrtc::ingest::PublishOffered,
        who: String,
        takeover: bool,
        reply: OfferReply,
    },
    Delete {
        stream: String,
        id: SessionId,
        reply: oneshot::Sender<bool>,
    },
}

/// The WHIP service.
pub struct Whip {
    commands: mpsc::Sender<Command>,
    status: Arc<Mutex<WhipStatus>>,
    /// The UDP port publishers send to (WHEP's).
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Whip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Whip").field("port", &self.port).finish()
    }
}

impl Drop for Whip {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Whip {
    /// Starts the task on WHEP's UDP port (`--webrtc-port`): viewers and publishers share
    /// it; WHEP hands over every datagram none of its sessions takes, and publishers' answers
    /// offer the same candidates.
    pub async fn start(whep: &Whep) -> std::io::Result<Arc<Whip>> {
        let (dtx, drx) = mpsc::channel(DATAGRAM_QUEUE);
        if !whep.forward_unrouted(dtx).await {
            return Err(std::io::Error::other("the WebRTC task is not running"));
        }
        let (ctx, crx) = mpsc::channel(16);
        let status = Arc::new(Mutex::new(WhipStatus::default()));
        let task = tokio::spawn(
            Driver {
                endpoint: whep.endpoint.clone(),
                cert: homestream_webrtc::session::server_cert(),
                sockets: whep.sockets.clone(),
                publishers: HashMap::new(),
                status: status.clone(),
                counters: WhipStatus::default(),
            }
            .run(crx, drx),
        );
        tracing::info!(port = whep.port, "whip: on the WebRTC UDP port");
        Ok(Arc::new(Whip {
            commands: ctx,
            status,
            port: whep.port,
            task,
        }))
    }

    /// The counters.
    pub fn status(&self) -> WhipStatus {
        *lock(&self.status)
    }

    /// The `whip` object of `/api/status`.
    pub fn status_json(&self) -> serde_json::Value {
        let s = self.status();
        serde_json::json!({
            "udp_port": self.port,
            "sessions": s.sessions,
            "connected": s.connected,
            "accepted": s.accepted,
            "refused": s.refused,
            "plis": s.plis,
            "datagrams_unrouted": s.unrouted,
        })
    }
}

struct Entry {
    session: Publisher,
    stream: Arc<Stream>,
    claim: u64,
    who: String,
    last_pli: Option<Instant>,
    /// The publisher's RTP times on this machine's clock, per track.
    video_clock: RtpClock,
    audio_clock: RtpClock,
}

struct Driver {
    endpoint: Endpoint,
    cert: Option<homestream_webrtc::ingest::DtlsCert>,
    sockets: HashMap<SocketAddr, Arc<UdpSocket>>,
    publishers: HashMap<SessionId, Entry>,
    status: Arc<Mutex<WhipStatus>>,
    counters: WhipStatus,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut datagrams: mpsc::Receiver<Datagram>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            self.flush();
            self.reap();
            self.publish_status();
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                d = datagrams.recv() => {
                    let Some(d) = d else { break };
                    self.route(d);
                    for _ in 0..64 {
                        let Ok(d) = datagrams.try_recv() else { break };
                        self.route(d);
                    }
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    for e in self.publishers.values_mut() {
                        if e.session.next_timeout() <= now {
                            e.session.handle_timeout(now);
                        }
                        let due = e.stream.av.video_wanted()
                            && e.last_pli.is_none_or(|t| now - t >= KEYFRAME_EVERY);
                        if e.session.is_connected()
                            && (e.stream.take_keyframe_request() || due)
                            && e.session.request_keyframe()
                        {
                            e.last_pli = Some(now);
                            self.counters.plis += 1;
                        }
                    }
                }
            }
        }
        for e in self.publishers.values_mut() {
            e.session.close(PublisherEnd::Closed);
        }
        self.flush();
        self.reap();
    }

    fn route(&mut self, d: Datagram) {
        let found = self.publishers.values_mut().find(|e| {
            e.session.ended().is_none() && e.session.accepts(d.source, d.destination, &d.contents)
        });
        match found {
            Some(e) => e
                .session
                .handle_datagram(d.at, d.source, d.destination, &d.contents),
            None => self.counters.unrouted += 1,
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Offer {
                stream,
                offer,
                offered,
                who,
                takeover,
                reply,
            } => {
                let _ = reply.send(self.offer(stream, offer, offered, who, takeover));
            }
            Command::Delete { stream, id, reply } => {
                let found = match self.publishers.get_mut(&id) {
                    Some(e) if e.stream.name == stream => {
                        e.session.close(PublisherEnd::Deleted);
                        true
                    }
                    _ => false,
                };
                let _ = reply.send(found);
            }
        }
    }

    fn offer(
        &mut self,
        stream: Arc<Stream>,
        offer: homestream_webrtc::SdpOffer,
        offered: homestream_webrtc::ingest::PublishOffered,
        who: String,
        takeover: bool,
    ) -> Result<(SessionId, String), (StatusCode, String)> {
        let now = Instant::now();
        if self.publishers.len() >= MAX_PUBLISHERS {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                format!("too many publishers ({MAX_PUBLISHERS}); try again later"),
            ));
        }
        // The session first: a bad offer must not displace the current publisher.
        let (session, answer) =
            Publisher::accept(offer, &offered, &self.endpoint, self.cert.as_ref(), now).map_err(
                |e| match e {
                    homestream_webrtc::Error::Offer(o) => (
                        StatusCode::from_u16(o.status()).unwrap_or(StatusCode::BAD_REQUEST),
                        o.to_string(),
                    ),
                    e => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                },
            )?;
        let claim = stream
            .claim_publisher(&who, takeover, now)
            .map_err(|e| match e {
                PublishRefusal::NotPublishable(_) => (StatusCode::FORBIDDEN, e.to_string()),
                PublishRefusal::Busy { .. } => (StatusCode::CONFLICT, e.to_string()),
            })?;
        if let Some(old) = claim.replaced {
            for e in self.publishers.values_mut() {
                if e.claim == old {
                    e.session.close(PublisherEnd::Replaced);
                }
            }
        }
        let id = SessionId::random();
        tracing::info!(stream = %stream.name, session = %id, who = %who, audio = session.has_audio(), "whip: publisher accepted");
        self.publishers.insert(
            id.clone(),
            Entry {
                session,
                stream,
                claim: claim.id,
                who,
                last_pli: None,
                video_clock: RtpClock::default(),
                audio_clock: RtpClock::default(),
            },
        );
        self.counters.accepted += 1;
        Ok((id, answer.to_sdp_string()))
    }

    /// Sends every publisher's datagrams and puts what they received into their streams.
    fn flush(&mut self) {
        for e in self.publishers.values_mut() {
            for t in e.session.transmits() {
                if let Some(s) = self.sockets.get(&t.source)
                    && let Err(err) = s.try_send_to(&t.contents, t.destination)
                    && err.kind() != std::io::ErrorKind::WouldBlock
                {
                    tracing::debug!("whip: send to {}: {err}", t.destination);
                }
            }
            let mut want_keyframe = false;
            while let Some(ev) = e.session.poll_event() {
                let now = Instant::now();
                match ev {
                    PublisherEvent::Connected => {
                        tracing::info!(stream = %e.stream.name, who = %e.who, "whip: publisher connected");
                    }
                    PublisherEvent::Video {
                        data,
                        contiguous,
                        keyframe: _,
                        rtp_time,
                        arrived,
                    } => {
                        let au = Bytes::from(data.to_vec());
                        let at = e.video_clock.map(rtp_time, arrived.min(now));
                        if !e.stream.publish_video_at(e.claim, au, contiguous, now, at) {
                            want_keyframe = true;
                        }
                    }
                    PublisherEvent::Audio {
                        data,
                        rtp_time,
                        arrived,
                    } => {
                        let at = e.audio_clock.map(rtp_time, arrived.min(now));
                        e.stream
                            .publish_audio_at(e.claim, Bytes::from(data.to_vec()), at);
                    }
                }
            }
            // A unit dropped while waiting for a keyframe: ask for one, at the stream's rate.
            if want_keyframe
                && e.stream.av.request_keyframe(Instant::now())
                && e.session.request_keyframe()
            {
                e.last_pli = Some(Instant::now());
                self.counters.plis += 1;
                // The request was for this publisher; do not pass it on a second time.
                e.stream.take_keyframe_request();
            }
        }
    }

    fn reap(&mut self) {
        let ended: Vec<SessionId> = self
            .publishers
            .iter()
            .filter(|(_, e)| e.session.ended().is_some())
            .map(|(id, _)| id.clone())
            .collect();
        for id in ended {
            if let Some(e) = self.publishers.remove(&id) {
                let why = e.session.ended().unwrap_or(PublisherEnd::Closed);
                let s = e.session.stats();
                tracing::info!(
                    stream = %e.stream.name, session = %id, reason = why.as_str(),
                    video_units = s.video_units, keyframes = s.keyframes, audio_packets = s.audio_packets,
                    plis = s.plis, gaps = s.gaps, malformed = s.malformed, foreign_ssrc = s.foreign_ssrc,
                    "whip: publisher ended"
                );
                e.stream.release_publisher(e.claim);
            }
        }
    }

    fn publish_status(&mut self) {
        let connected = self
            .publishers
            .values()
            .filter(|e| e.session.is_connected())
            .count();
        let mut st = lock(&self.status);
        // `refused` is counted by the HTTP handlers.
        let refused = st.refused;
        *st = WhipStatus {
            sessions: self.publishers.len(),
            connected,
            refused,
            ..self.counters
        };
    }
}

// ---- HTTP ----

const PUBLISH_PAGE: &str = include_str!("../../../web/live/publish.html");
const PUBLISH_SCRIPT: &str = include_str!("../../../web/live/publish.js");

/// `/live/NAME/publish`: the camera page (web/live/publish.html, embedded at build time).
fn publish_page(name: &str) -> Response {
    let escaped = name
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    // The script first: it holds no placeholder, and the name must not be able to inject one.
    let html = PUBLISH_PAGE
        .replace("{{SCRIPT}}", PUBLISH_SCRIPT)
        .replace("{{NAME}}", &escaped);
    let mut r = html.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// Why a viewer's token may not publish (the body of the 403).
const NO_TOKENS: &str = "this API token is a viewer's and cannot publish; create one that may with \
             `homestream token create NAME --publish`, publish from the /live/NAME/publish page \
             while logged in, or use the account's name and password (HTTP Basic)";

/// Who publishes, or `None` when they may not: a session or Basic login may, and a token with
/// the publish scope; a viewer's token may not.
fn publisher_name(req: &Request) -> Option<String> {
    match req.extensions().get::<AuthUser>() {
        Some(AuthUser {
            via: Via::Token, ..
        }) => None,
        Some(u) => Some(u.name.clone()),
        // A server without accounts: whoever reaches it.
        None => Some("anonymous".to_string()),
    }
}

async fn offer(whip: Arc<Whip>, reg: Arc<LiveRegistry>, name: String, req: Request) -> Response {
    let refused = |r: Response| {
        lock(&whip.status).refused += 1;
        r
    };
    let Some(who) = publisher_name(&req) else {
        tracing::info!(stream = %name, "whip: publish refused: a token");
        return refused(text(StatusCode::FORBIDDEN, NO_TOKENS));
    };
    let Some(stream) = reg.stream(&name).cloned() else {
        return refused(text(
            StatusCode::NOT_FOUND,
            format!("no live stream named {name:?}"),
        ));
    };
    if !stream.is_publish() {
        return refused(text(
            StatusCode::FORBIDDEN,
            PublishRefusal::NotPublishable(name).to_string(),
        ));
    }
    let takeover = req.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "takeover=1" || p == "takeover=true")
    });
    if !is_sdp(req.headers()) {
        return refused(text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a WHIP offer is sent as Content-Type: application/sdp",
        ));
    }
    let bytes = match axum::body::to_bytes(req.into_body(), MAX_OFFER_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return refused(text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the SDP offer is larger than {MAX_OFFER_BYTES} bytes (or was cut off)"),
            ));
        }
    };
    let (offer, offered) = match check_publish_offer(&bytes) {
        Ok(o) => o,
        Err(e) => {
            tracing::info!(stream = %name, "whip: offer refused: {e}");
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return refused(text(status, e.to_string()));
        }
    };
    let (reply, rx) = oneshot::channel();
    let cmd = Command::Offer {
        stream,
        offer,
        offered,
        who,
        takeover,
        reply,
    };
    if whip.commands.send(cmd).await.is_err() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "WHIP is not running");
    }
    match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
        Ok(Ok(Ok((id, answer)))) => {
            let mut r = (StatusCode::CREATED, answer).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/sdp"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("/live/{name}/whip/{id}")) {
                h.insert(header::LOCATION, v);
            }
            cors(h);
            r
        }
        Ok(Ok(Err((status, msg)))) => {
            tracing::info!(stream = %name, %status, "whip: publish refused: {msg}");
            refused(text(status, msg))
        }
        _ => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "WHIP did not answer in time",
        ),
    }
}

async fn delete(whip: Arc<Whip>, name: String, id: String, req: Request) -> Response {
    if publisher_name(&req).is_none() {
        return text(StatusCode::FORBIDDEN, NO_TOKENS);
    }
    let Some(id) = SessionId::parse(&id) else {
        return text(StatusCode::NOT_FOUND, "no such WHIP session");
    };
    let (reply, rx) = oneshot::channel();
    let cmd = Command::Delete {
        stream: name,
        id,
        reply,
    };
    if whip.commands.send(cmd).await.is_err() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "WHIP is not running");
    }
    match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
        Ok(Ok(true)) => text(StatusCode::OK, "publishing ended"),
        Ok(Ok(false)) => text(StatusCode::NOT_FOUND, "no such WHIP session"),
        _ => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "WHIP did not answer in time",
        ),
    }
}

/// The WHIP routes, for the server's route table.
pub fn routes(whip: &Arc<Whip>, reg: &Arc<LiveRegistry>) -> Vec<(&'static str, MethodRouter)> {
    let endpoint = {
        let (whip, reg) = (whip.clone(), reg.clone());
        post(move |Path(name): Path<String>, req: Request<Body>| offer(whip, reg, name, req))
            .options(|| async { preflight("OPTIONS, POST", true) })
    };
    let session = {
        let whip = whip.clone();
        axum::routing::delete(
            move |Path((name, id)): Path<(String, String)>, req: Request<Body>| {
                delete(whip, name, id, req)
            },
        )
        .patch(|| async { no_trickle() })
        .merge(options(|| async { preflight("OPTIONS, DELETE", false) }))
    };
    let page = {
        let reg = reg.clone();
        axum::routing::get(move |Path(name): Path<String>| async move {
            match reg.stream(&name) {
                Some(s) if s.is_publish() => publish_page(&name),
                Some(_) => text(
                    StatusCode::NOT_FOUND,
                    PublishRefusal::NotPublishable(name).to_string(),
                ),
                None => text(
                    StatusCode::NOT_FOUND,
                    format!("no live stream named {name:?}"),
                ),
            }
        })
    };
    vec![
        ("/live/{name}/publish", page),
        ("/live/{name}/whip", endpoint),
        ("/live/{name}/whip/{id}", session),
    ]
}
