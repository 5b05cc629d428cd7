//! `/live/NAME/index.m3u8` and `/live/NAME/hls/FILE`: Low-Latency HLS (RFC 8216bis) over the
//! stream's CMAF fragments. The protocol lives in `homestream-hls` (sans-IO); this file feeds
//! it and does the waiting.
//!
//! A stream's muxer (a *feed*) starts at the first playlist request, as any viewer wakes the
//! source, and reads the fMP4 hub with one cursor ([`LagPolicy::SkipToKeyframe`]) however many
//! players there are: a part is cut once and every player (or cache) gets the same `Bytes`.
//! It stops [`IDLE_AFTER`] after the last request. Requests that must wait (blocking reload,
//! §6.2.5.2; a preload-hinted part, §4.4.5.3) wait for the feed's part counter to move, at
//! most [`homestream_hls::Config::block_limit`] (then 503).
//!
//! Caching (README, "Scale-out"): parts, segments and init segments are immutable under a
//! name unique to the muxer run, so they are `max-age=31536000, immutable`; a blocking
//! playlist response names what it waited for in its query, so caches may keep it a while;
//! a plain playlist changes with every part and lives one second.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use homestream_hls::{Chunk, Config, Decision, Directive, Lookup, Muxer, Name, Track};
use homestream_live::LiveRegistry;
use homestream_live::encode::package::VIDEO_TRACK;
use homestream_live::hub::LagPolicy;
use homestream_live::stream::Stream;
use homestream_live::{MediaKind, MediaUnit};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// A feed with no request for this long stops (and lets the source go idle).
pub const IDLE_AFTER: Duration = Duration::from_secs(20);
/// A waiting request looks again at least this often (its deadline passes without a part).
const RECHECK: Duration = Duration::from_millis(250);

/// `Content-Type` of playlists (RFC 8216bis §4: not `audio/x-mpegurl`, which `mime_guess`
/// gives).
pub const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
/// Parts and segments stay valid forever under their name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One running muxer.
struct Feed {
    muxer: Mutex<Muxer>,
    /// Completed parts so far; waiting requests watch it.
    parts: watch::Sender<u64>,
    last_request: Mutex<Instant>,
}

impl Feed {
    fn touch(&self) {
        *lock(&self.last_request) = Instant::now();
    }
}

/// The LL-HLS output of every stream of a registry.
pub struct Hls {
    reg: Arc<LiveRegistry>,
    feeds: Mutex<HashMap<String, Arc<Feed>>>,
    /// The msn the next feed of a stream starts at, so that numbers never go back.
    next_msn: Mutex<HashMap<String, u64>>,
}

impl Hls {
    /// The output for the streams of `reg`.
    pub fn new(reg: Arc<LiveRegistry>) -> Arc<Hls> {
        Arc::new(Hls {
            reg,
            feeds: Mutex::new(HashMap::new()),
            next_msn: Mutex::new(HashMap::new()),
        })
    }

    /// The stream's feed, started if none runs (the request wakes the source).
    fn feed(self: &Arc<Self>, stream: &Arc<Stream>) -> Result<Arc<Feed>, String> {
        let mut feeds = lock(&self.feeds);
        if let Some(f) = feeds.get(&stream.name) {
            f.touch();
            return Ok(f.clone());
        }
        let cfg = Config::for_fps(stream.spec.video.nominal_fps());
        // Numbers start from the wall clock's seconds (segments last at least a second), so
        // that a restarted server does not reuse the numbers of cached blocking responses.
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let first = lock(&self.next_msn)
            .get(&stream.name)
            .copied()
            .unwrap_or(0)
            .max(unix);
        let muxer = Muxer::new(cfg, rand::random(), first).map_err(|e| e.to_string())?;
        tracing::info!(stream = %stream.name, run = format!("{:08x}", muxer.run()), first_msn = first, "hls muxer started");
        let feed = Arc::new(Feed {
            muxer: Mutex::new(muxer),
            parts: watch::channel(0).0,
            last_request: Mutex::new(Instant::now()),
        });
        feeds.insert(stream.name.clone(), feed.clone());
        tokio::spawn(self.clone().run(stream.clone(), feed.clone()));
        Ok(feed)
    }

    async fn run(self: Arc<Self>, stream: Arc<Stream>, feed: Arc<Feed>) {
        let handle = stream.add_viewer("hls", None);
        let mut cursor = stream.av.fmp4.subscribe(LagPolicy::SkipToKeyframe);
        // Start at a fresh keyframe rather than one up to a second old.
        stream.av.request_keyframe(Instant::now());
        cursor.wait_for_keyframe();
        let init_rx = stream.av.init();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                unit = cursor.next() => {
                    let Ok(unit) = unit else { break };
                    self.take(&stream, &feed, &init_rx, &unit);
                    handle.stats.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                _ = tick.tick() => {
                    if lock(&feed.last_request).elapsed() >= IDLE_AFTER {
                        break;
                    }
                }
            }
            handle
                .stats
                .dropped
                .store(cursor.skipped(), std::sync::atomic::Ordering::Relaxed);
        }
        let next = lock(&feed.muxer).store().next_msn();
        lock(&self.next_msn).insert(stream.name.clone(), next);
        {
            let mut feeds = lock(&self.feeds);
            if feeds
                .get(&stream.name)
                .is_some_and(|f| Arc::ptr_eq(f, &feed))
            {
                feeds.remove(&stream.name);
            }
        }
        // Wakes the waiting requests, which then see the feed gone.
        feed.parts.send_modify(|n| *n += 1);
        tracing::info!(stream = %stream.name, "hls muxer stopped (no requests)");
    }

    fn take(
        &self,
        stream: &Stream,
        feed: &Feed,
        init_rx: &watch::Receiver<Option<homestream_live::av::InitSegment>>,
        unit: &MediaUnit,
    ) {
        let MediaKind::Fragment { generation } = unit.kind else {
            return;
        };
        let track = match fragment_track(&unit.payload) {
            Some(VIDEO_TRACK) => Track::Video,
            Some(_) => Track::Audio,
            None => return,
        };
        let mut m = lock(&feed.muxer);
        if let Some(init) = init_rx.borrow().as_ref()
            && init.generation == generation
        {
            m.set_init(generation, init.bytes.clone());
        }
        let pushed = m.push(Chunk {
            track,
            keyframe: unit.keyframe,
            pts: unit.pts,
            captured: unit.captured,
            generation,
            bytes: unit.payload.clone(),
        });
        drop(m);
        if pushed.want_keyframe {
            stream.av.request_keyframe(Instant::now());
        }
        if pushed.completed_part {
            feed.parts.send_modify(|n| *n += 1);
        }
    }

    fn running(&self, name: &str) -> Option<Arc<Feed>> {
        let f = lock(&self.feeds).get(name).cloned()?;
        f.touch();
        Some(f)
    }

    /// `GET /live/NAME/index.m3u8[?_HLS_msn=M[&_HLS_part=P]]`.
    pub async fn playlist(
        self: &Arc<Self>,
        name: &str,
        query: &HashMap<String, String>,
    ) -> Response {
        let Some(stream) = self.reg.stream(name).cloned() else {
            return crate::routes::not_found(name);
        };
        let directive = match Directive::from_query(
            query.get("_HLS_msn").map(String::as_str),
            query.get("_HLS_part").map(String::as_str),
        ) {
            Ok(d) => d,
            Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("{e}\n")),
        };
        let feed = match self.feed(&stream) {
            Ok(f) => f,
            Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
        };
        let started = Instant::now();
        let mut parts = feed.parts.subscribe();
        loop {
            parts.borrow_and_update();
            let (decision, text, cache) = {
                let m = lock(&feed.muxer);
                let d = m.decide(directive, started.elapsed());
                let text = (d == Decision::Ready)
                    .then(|| m.playlist().map(|p| p.write()))
                    .flatten();
                let cache = match directive {
                    Directive::Now => "public, max-age=1".to_string(),
                    _ => format!("public, max-age={}", m.config().block_limit().as_secs()),
                };
                (d, text, cache)
            };
            match decision {
                Decision::Ready => {
                    let Some(text) = text else {
                        return unavailable("no playlist yet\n");
                    };
                    return respond(Bytes::from(text), PLAYLIST_TYPE, &cache);
                }
                Decision::BadRequest(why) => {
                    return refuse(StatusCode::BAD_REQUEST, &format!("{why}\n"));
                }
                Decision::TimedOut => return unavailable("the stream has not got that far yet\n"),
                Decision::Wait => {
                    if self.running(name).is_none_or(|f| !Arc::ptr_eq(&f, &feed)) {
                        return unavailable("the stream stopped\n");
                    }
                    let _ = tokio::time::timeout(RECHECK, parts.changed()).await;
                }
            }
        }
    }

    /// `GET /live/NAME/hls/FILE`: an init segment, a segment or a part.
    pub async fn resource(self: &Arc<Self>, name: &str, file: &str) -> Response {
        if self.reg.stream(name).is_none() {
            return crate::routes::not_found(name);
        }
        let (Some(res), Some(feed)) = (Name::parse(file), self.running(name)) else {
            return refuse(
                StatusCode::NOT_FOUND,
                "no such part or segment (any more)\n",
            );
        };
        let started = Instant::now();
        let mut parts = feed.parts.subscribe();
        loop {
            parts.borrow_and_update();
            let (found, limit) = {
                let m = lock(&feed.muxer);
                (m.lookup(res), m.config().block_limit())
            };
            match found {
                Lookup::Init(b) => return respond(b, "video/mp4", IMMUTABLE),
                Lookup::Part(b) => return respond(b, "video/mp4", IMMUTABLE),
                Lookup::Segment(parts) => {
                    let len: usize = parts.iter().map(Bytes::len).sum();
                    let body = futures_util::stream::iter(
                        parts.into_iter().map(Ok::<_, std::convert::Infallible>),
                    );
                    let mut res = respond_body(Body::from_stream(body), "video/mp4", IMMUTABLE);
                    res.headers_mut()
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
                    return res;
                }
                Lookup::Gone => {
                    return refuse(
                        StatusCode::NOT_FOUND,
                        "no such part or segment (any more)\n",
                    );
                }
                Lookup::Pending => {
                    if started.elapsed() >= limit
                        || self.running(name).is_none_or(|f| !Arc::ptr_eq(&f, &feed))
                    {
                        return unavailable("that part is late\n");
                    }
                    let _ = tokio::time::timeout(RECHECK, parts.changed()).await;
                }
            }
        }
    }
}

pub use homestream_hls::HLS_JS;

/// `GET /live/NAME/hls.light.min.js`: hls.js for the viewer page. The page asks for it with its
/// version in the query, so it may be cached for good.
pub fn library() -> Response {
    respond(
        Bytes::from_static(HLS_JS),
        "text/javascript; charset=utf-8",
        IMMUTABLE,
    )
}

/// The track of a CMAF fragment, from its leading `prft` box.
fn fragment_track(fragment: &[u8]) -> Option<u32> {
    let first = homestream_cmaf::read::boxes(fragment).next()?.ok()?;
    if &first.fourcc != b"prft" {
        return None;
    }
    homestream_cmaf::read::read_prft(first.body)
        .ok()
        .map(|p| p.reference_track_id)
}

fn respond(body: Bytes, content_type: &'static str, cache: &str) -> Response {
    respond_body(Body::from(body), content_type, cache)
}

fn respond_body(body: Body, content_type: &'static str, cache: &str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(cache) {
        h.insert(header::CACHE_CONTROL, v);
    }
    res
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        why.to_string(),
    )
        .into_response()
}

fn unavailable(why: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::RETRY_AFTER, "1"),
        ],
        why.to_string(),
    )
        .into_response()
}
