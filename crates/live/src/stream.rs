//! One named live stream: its hub, its viewers, and the supervisor thread that runs its source.
//!
//! The source opens when the first viewer (or snapshot) arrives and is released after a grace
//! period without any. A source that fails is replaced by "no signal" frames (one a second)
//! while it is reopened with backoff, so viewers stay connected and see it come back.

use crate::av::AvOutputs;
use crate::clock;
use crate::encode::audio::{self, AudioJob};
use crate::encode::package::Packager;
use crate::encode::video::{VideoEncode, jpeg_of};
use crate::hub::{Hub, LagPolicy};
use crate::source::{Frame, FrameSource, test_pattern};
use crate::spec::StreamSpec;
use crate::unit::{MediaKind, MediaUnit};
use bytes::Bytes;
use homestream_codec::AudioEncoder;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

mod ingest;
pub use ingest::{Claim, PublishRefusal, opus_samples};

/// Units the hub of an MJPEG stream holds: only the newest matters under
/// [`LagPolicy::SkipToNewest`].
const HUB_CAPACITY: usize = 2;
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Locks a mutex whose data stays consistent even if a holder panicked (every critical section
/// here is a single assignment or map operation).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the stream's source is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// No viewers: the source is closed.
    Idle,
    /// Opening.
    Opening,
    /// Producing frames.
    Live,
    /// Failed; showing "no signal" and retrying.
    NoSignal,
}

#[derive(Debug)]
pub(crate) struct Health {
    pub state: SourceState,
    pub last_error: Option<String>,
    pub live_since: Option<Instant>,
    pub size: Option<(u16, u16)>,
    pub fps_in: f64,
    pub frames_in: u64,
    /// Encoded bitrates over the last second, bits per second.
    pub video_bps: f64,
    pub audio_bps: f64,
    pub video_bytes_at_tick: u64,
    pub audio_bytes_at_tick: u64,
}

/// Counters of one connected viewer, shared between its response body and `/api/status`.
#[derive(Debug)]
pub struct ViewerStats {
    /// Id within the stream.
    pub id: u64,
    /// Transport (`mjpeg`).
    pub transport: &'static str,
    /// Rate limit asked for with `?fps=N`.
    pub fps_cap: Option<f64>,
    /// When it connected.
    pub joined: Instant,
    /// Units sent.
    pub sent: AtomicU64,
    /// Units skipped because the viewer was slower than the source (or capped).
    pub dropped: AtomicU64,
    /// Units sent during the last second, as f64 bits.
    fps_bits: AtomicU64,
    sent_at_last_tick: AtomicU64,
}

impl ViewerStats {
    /// Frames per second delivered over the last second.
    pub fn fps(&self) -> f64 {
        f64::from_bits(self.fps_bits.load(Ordering::Relaxed))
    }
}

/// A live stream.
pub struct Stream {
    /// Name in URLs.
    pub name: String,
    /// Its source.
    pub spec: StreamSpec,
    /// Where its JPEG frames fan out (MJPEG viewers, snapshots).
    pub hub: Hub,
    /// Its encoded outputs (H.264, Opus, CMAF).
    pub av: AvOutputs,
    packager: Mutex<Packager>,
    grace: Duration,
    runtime: Option<tokio::runtime::Handle>,
    demand: AtomicUsize,
    /// Set when the server stops: the source is released as soon as nobody wants it, without
    /// waiting for the grace period (a camera or microphone is free for the next start).
    closing: std::sync::atomic::AtomicBool,
    running: Mutex<bool>,
    viewers: Mutex<BTreeMap<u64, Arc<ViewerStats>>>,
    next_viewer: AtomicU64,
    pub(crate) health: Mutex<Health>,
    /// Who publishes to a `publish` stream ([`ingest`]).
    publisher: Mutex<Option<ingest::PublisherSlot>>,
    /// A `publish` stream's decode for MJPEG viewers and snapshots, while it has any.
    published_jpeg: Mutex<Option<ingest::JpegFeed>>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("name", &self.name).finish()
    }
}

/// Keeps a stream's source open while held.
#[derive(Debug)]
pub struct Demand {
    stream: Arc<Stream>,
}

impl Drop for Demand {
    fn drop(&mut self) {
        self.stream.demand.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connected viewer: keeps the source open and appears in `/api/status` while held.
#[derive(Debug)]
pub struct ViewerHandle {
    /// Its counters.
    pub stats: Arc<ViewerStats>,
    stream: Arc<Stream>,
    _demand: Demand,
}

impl Drop for ViewerHandle {
    fn drop(&mut self) {
        lock(&self.stream.viewers).remove(&self.stats.id);
        tracing::info!(
            stream = %self.stream.name,
            viewer = self.stats.id,
            sent = self.stats.sent.load(Ordering::Relaxed),
            dropped = self.stats.dropped.load(Ordering::Relaxed),
            secs = self.stats.joined.elapsed().as_secs(),
            "viewer left"
        );
    }
}

impl Stream {
    pub(crate) fn new(
        name: String,
        spec: StreamSpec,
        grace: Duration,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Result<Arc<Self>, crate::LiveError> {
        let published = matches!(spec.video, crate::source::SourceSpec::Publish);
        let opus = match &spec.audio {
            None if published => Some(
                homestream_cmaf::OpusConfig::new(1, ingest::PUBLISHED_OPUS_PRE_SKIP)
                    .map_err(|e| crate::LiveError::Encode(format!("opus: {e}")))?,
            ),
            Some(_) => {
                let pre_skip = audio::opus_encoder(spec.audio_bitrate_bps)?.pre_skip();
                Some(
                    homestream_cmaf::OpusConfig::new(1, pre_skip)
                        .map_err(|e| crate::LiveError::Encode(format!("opus: {e}")))?,
                )
            }
            None => None,
        };
        Ok(Arc::new(Stream {
            name,
            av: AvOutputs::new(spec.audio.is_some() || published),
            packager: Mutex::new(Packager::new(opus)),
            spec,
            hub: Hub::new(HUB_CAPACITY),
            grace,
            runtime,
            demand: AtomicUsize::new(0),
            closing: std::sync::atomic::AtomicBool::new(false),
            running: Mutex::new(false),
            viewers: Mutex::new(BTreeMap::new()),
            next_viewer: AtomicU64::new(1),
            health: Mutex::new(Health {
                state: SourceState::Idle,
                last_error: None,
                live_since: None,
                size: None,
                fps_in: 0.0,
                frames_in: 0,
                video_bps: 0.0,
                audio_bps: 0.0,
                video_bytes_at_tick: 0,
                audio_bytes_at_tick: 0,
            }),
            publisher: Mutex::new(None),
            published_jpeg: Mutex::new(None),
        }))
    }

    /// Opens the source if it is not running and keeps it open while the guard lives.
    pub fn demand(self: &Arc<Self>) -> Demand {
        self.demand.fetch_add(1, Ordering::SeqCst);
        let mut running = lock(&self.running);
        if !*running {
            *running = true;
            lock(&self.health).state = SourceState::Opening;
            let me = self.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("live-{}", self.name))
                .spawn(move || me.supervise());
            if let Err(e) = spawned {
                *running = false;
                tracing::error!(stream = %self.name, error = %e, "cannot start source thread");
            }
        }
        Demand {
            stream: self.clone(),
        }
    }

    /// Registers a viewer.
    pub fn add_viewer(
        self: &Arc<Self>,
        transport: &'static str,
        fps_cap: Option<f64>,
    ) -> ViewerHandle {
        let demand = self.demand();
        let stats = Arc::new(ViewerStats {
            id: self.next_viewer.fetch_add(1, Ordering::Relaxed),
            transport,
            fps_cap,
            joined: Instant::now(),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            fps_bits: AtomicU64::new(0f64.to_bits()),
            sent_at_last_tick: AtomicU64::new(0),
        });
        lock(&self.viewers).insert(stats.id, stats.clone());
        tracing::info!(stream = %self.name, viewer = stats.id, transport, fps_cap, "viewer joined");
        ViewerHandle {
            stats,
            stream: self.clone(),
            _demand: demand,
        }
    }

    /// The connected viewers.
    pub fn viewers(&self) -> Vec<Arc<ViewerStats>> {
        lock(&self.viewers).values().cloned().collect()
    }

    /// A fresh frame: the newest if the source is live and it is recent, else the next one
    /// (opening the source for it), waiting at most `timeout`.
    pub async fn snapshot(self: &Arc<Self>, timeout: Duration) -> Option<Arc<MediaUnit>> {
        let live = lock(&self.health).state == SourceState::Live;
        if let Some(u) = self.hub.latest() {
            let age = clock::now().pts.saturating_sub(u.pts);
            if live && age < Duration::from_secs(1) {
                return Some(u);
            }
        }
        let _demand = self.demand();
        let mut cursor = self.hub.subscribe(LagPolicy::SkipToNewest);
        cursor.skip_to_end();
        tokio::time::timeout(timeout, cursor.next())
            .await
            .ok()?
            .ok()
    }

    /// Hands a frame to every output that has consumers: JPEG for MJPEG viewers and
    /// snapshots, H.264 (and its CMAF fragment) for the rest. Each at most once.
    fn emit(&self, frame: &Frame, video: &mut VideoEncode, last_error: &mut Option<String>) {
        let mut report = |e: crate::LiveError| {
            let e = e.to_string();
            if last_error.as_deref() != Some(e.as_str()) {
                tracing::warn!(stream = %self.name, error = %e, "frame not encoded");
                *last_error = Some(e);
            }
        };
        if self.hub.consumers() > 0 {
            match jpeg_of(frame) {
                Ok(jpeg) => self.publish_jpeg(frame, jpeg),
                Err(e) => report(e),
            }
        }
        if !self.av.video_wanted() {
            video.idle();
            return;
        }
        let force = self.av.take_keyframe_request();
        let encoded = match video.encode(frame, force) {
            Ok(e) => e,
            Err(e) => return report(e),
        };
        self.av.video.publish(MediaUnit {
            seq: 0,
            kind: MediaKind::H264,
            keyframe: encoded.keyframe,
            captured: frame.captured.wall,
            pts: frame.captured.pts,
            payload: encoded.annexb.clone(),
        });
        let packaged = lock(&self.packager).video(
            &self.av,
            &encoded.annexb,
            encoded.keyframe,
            frame.captured.pts,
            encoded.duration,
            frame.captured.wall,
        );
        if let Err(e) = packaged {
            report(e);
        }
    }

    fn publish_jpeg(&self, frame: &Frame, jpeg: Bytes) {
        self.hub.publish(MediaUnit {
            seq: 0,
            kind: MediaKind::Jpeg {
                width: frame.width,
                height: frame.height,
            },
            keyframe: true,
            captured: frame.captured.wall,
            pts: frame.captured.pts,
            payload: jpeg,
        });
    }

    /// Releases the source as soon as it has no demand, skipping the grace period.
    pub(crate) fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
    }

    /// Whether the source thread has ended and let go of its devices (or never started): it
    /// sets `Idle` last, after closing the source and joining the sound thread.
    pub(crate) fn is_released(&self) -> bool {
        !*lock(&self.running) && lock(&self.health).state == SourceState::Idle
    }

    /// Decides, under the `running` lock, whether to stop: only when nobody wants the source,
    /// so a viewer arriving meanwhile either is seen here or starts a new supervisor.
    fn try_release(&self) -> bool {
        let mut running = lock(&self.running);
        if self.demand.load(Ordering::SeqCst) == 0 {
            *running = false;
            true
        } else {
            false
        }
    }

    fn set_state(&self, state: SourceState, error: Option<String>) {
        let mut h = lock(&self.health);
        h.state = state;
        if error.is_some() {
            h.last_error = error;
        }
        h.live_since = match state {
            SourceState::Live => h.live_since.or(Some(Instant::now())),
            _ => None,
        };
        if state == SourceState::Idle {
            h.fps_in = 0.0;
        }
    }

    /// The supervisor: runs on its own thread while the stream has demand.
    fn supervise(self: Arc<Self>) {
        if self.is_publish() {
            return self.supervise_publish();
        }
        let what = self.spec.describe();
        tracing::info!(stream = %self.name, source = %what, "source opening");
        // The stream's time origin: the test pattern's frames and its tone count from it.
        let start = Instant::now();
        let stop_audio = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let audio_thread = self.spec.audio.clone().and_then(|spec| {
            let job = AudioJob {
                name: self.name.clone(),
                spec,
                bitrate_bps: self.spec.audio_bitrate_bps,
                start,
            };
            let (me, stop) = (self.clone(), stop_audio.clone());
            std::thread::Builder::new()
                .name(format!("sound-{}", self.name))
                .spawn(move || audio::run(job, &me.av, &me.packager, &stop))
                .map_err(|e| tracing::error!(stream = %self.name, error = %e, "cannot start sound thread"))
                .ok()
        });
        let mut video = VideoEncode::new(self.spec.video_encoding, self.spec.video.nominal_fps());
        let mut encode_error: Option<String> = None;
        let mut source: Option<Box<dyn FrameSource>> = None;
        let mut failing: Option<String> = None;
        let mut backoff = Duration::from_millis(500);
        let mut retry_at = Instant::now();
        let mut idle_since: Option<Instant> = None;
        let mut tick = Instant::now();
        let mut frames_since_tick = 0u64;
        loop {
            let now = Instant::now();
            if self.demand.load(Ordering::SeqCst) == 0 {
                let since = *idle_since.get_or_insert(now);
                let closing = self.closing.load(Ordering::SeqCst);
                if (closing || now - since >= self.grace) && self.try_release() {
                    break;
                }
            } else {
                idle_since = None;
            }
            if now - tick >= Duration::from_secs(1) {
                self.update_rates(frames_since_tick, now - tick);
                tick = now;
                frames_since_tick = 0;
            }
            if source.is_none() && now >= retry_at {
                match self.spec.video.open(self.runtime.as_ref(), start) {
                    Ok(s) => {
                        source = Some(s);
                        backoff = Duration::from_millis(500);
                        match failing.take() {
                            Some(_) => tracing::info!(stream = %self.name, "source recovered"),
                            None => tracing::info!(stream = %self.name, "source opened"),
                        }
                        self.set_state(SourceState::Live, None);
                    }
                    Err(e) => self.failed(&mut failing, e.to_string(), &mut retry_at, &mut backoff),
                }
            }
            match source.as_mut() {
                Some(s) => match s.next_frame() {
                    Ok(frame) => {
                        lock(&self.health).size = Some((frame.width, frame.height));
                        frames_since_tick += 1;
                        self.emit(&frame, &mut video, &mut encode_error);
                    }
                    Err(e) => {
                        source = None;
                        self.failed(&mut failing, e.to_string(), &mut retry_at, &mut backoff);
                    }
                },
                None => {
                    let (w, h) = lock(&self.health)
                        .size
                        .unwrap_or(self.spec.video.nominal_size());
                    let why = failing.as_deref().unwrap_or("");
                    let frame = test_pattern::no_signal(w, h, &self.name, why);
                    self.emit(&frame, &mut video, &mut encode_error);
                    let wait = retry_at
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_secs(1))
                        .max(Duration::from_millis(50));
                    std::thread::sleep(wait);
                }
            }
        }
        drop(source);
        stop_audio.store(true, Ordering::Release);
        if let Some(t) = audio_thread {
            let _ = t.join();
        }
        drop(video);
        lock(&self.packager).reset();
        self.av.clear();
        self.hub.clear();
        self.set_state(SourceState::Idle, None);
        tracing::info!(stream = %self.name, "source released (no viewers)");
    }

    fn failed(
        &self,
        failing: &mut Option<String>,
        error: String,
        retry_at: &mut Instant,
        backoff: &mut Duration,
    ) {
        if failing.as_deref() != Some(error.as_str()) {
            tracing::warn!(stream = %self.name, error = %error, retry_in_ms = backoff.as_millis() as u64, "source failed; showing no signal");
        }
        self.set_state(SourceState::NoSignal, Some(error.clone()));
        *failing = Some(error);
        *retry_at = Instant::now() + *backoff;
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
    }

    fn update_rates(&self, frames: u64, elapsed: Duration) {
        let secs = elapsed.as_secs_f64().max(1e-3);
        {
            let mut h = lock(&self.health);
            h.fps_in = frames as f64 / secs;
            h.frames_in += frames;
            let (v, a) = (
                self.av.video.bytes_published(),
                self.av.audio.bytes_published(),
            );
            h.video_bps = v.saturating_sub(h.video_bytes_at_tick) as f64 * 8.0 / secs;
            h.audio_bps = a.saturating_sub(h.audio_bytes_at_tick) as f64 * 8.0 / secs;
            h.video_bytes_at_tick = v;
            h.audio_bytes_at_tick = a;
        }
        for v in lock(&self.viewers).values() {
            let sent = v.sent.load(Ordering::Relaxed);
            let prev = v.sent_at_last_tick.swap(sent, Ordering::Relaxed);
            let fps = sent.saturating_sub(prev) as f64 / secs;
            v.fps_bits.store(fps.to_bits(), Ordering::Relaxed);
        }
    }
}
