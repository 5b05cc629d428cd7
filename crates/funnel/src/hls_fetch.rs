//! The async shell of [`crate::hls_plan`]: runs the planner's fetches (one task each, `Range`
//! requests for pieces), checks every answer, joins a segment's pieces once all are in, and hands
//! whole segments to whoever waits ([`SegFetcher::get`]). Used by the funnel (prefetch ahead of
//! the player) and by `download` (the window ahead of the segment written next).
//!
//! Never mixed bytes: every piece of a segment must agree with the segment's first answer on the
//! resource's size and validator (ETag, else Last-Modified); a disagreement is reported as
//! [`Outcome::Changed`] and the planner throws the segment's bytes away.

use crate::hls_plan::{Action, Fetch, Outcome, SegConfig, SegInfo, SegPlanner, TaskId};
use crate::m3u8::ByteRange;
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, StatusCode, header};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// Where a segment is: its URL and, for an EXT-X-BYTERANGE segment, its range of that URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub url: reqwest::Url,
    pub range: Option<ByteRange>,
}

impl Source {
    /// The planner's view: a key kept across playlist reloads and the size when known.
    fn info(&self) -> SegInfo {
        SegInfo {
            key: match self.range {
                Some(r) => format!("{}\n{}", self.url, r.header()),
                None => self.url.to_string(),
            },
            len: self.range.map(|r| r.len),
        }
    }
}

/// A whole segment.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub bytes: Bytes,
    pub content_type: Option<HeaderValue>,
    /// For an EXT-X-BYTERANGE segment: `bytes a-b/total` of the resource.
    pub content_range: Option<HeaderValue>,
}

/// What the first answer of a segment said, for checking the others.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Meta {
    /// The whole resource's size (Content-Range's total).
    total: Option<u64>,
    validator: Option<HeaderValue>,
}

#[derive(Default)]
struct Parts {
    meta: Option<Meta>,
    content_type: Option<HeaderValue>,
    pieces: BTreeMap<u64, Bytes>,
}

struct St {
    plan: SegPlanner,
    srcs: Vec<Source>,
    keys: Vec<String>,
    parts: HashMap<String, Parts>,
    done: HashMap<String, Loaded>,
    errors: HashMap<String, String>,
    tasks: HashMap<TaskId, AbortHandle>,
    /// Requests started (for tests and logs).
    started: u64,
}

struct Shared {
    st: Mutex<St>,
    /// Waiters for segments.
    data: Notify,
    /// The driver (timers).
    sched: Notify,
    client: reqwest::Client,
    stall: Duration,
}

/// Segments fetched by the planner. Dropping it cancels every fetch.
pub struct SegFetcher {
    shared: Arc<Shared>,
    driver: AbortHandle,
}

impl Drop for SegFetcher {
    fn drop(&mut self) {
        self.driver.abort();
        let mut st = self.shared.lock();
        for (_, h) in st.tasks.drain() {
            h.abort();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Polls the planner and carries out what it says. Called with the lock held.
    fn run(self: &Arc<Self>, st: &mut St) {
        for a in st.plan.poll(Instant::now()) {
            match a {
                Action::Start(f) => {
                    let Some(src) = st.srcs.get(f.seg).cloned() else {
                        continue;
                    };
                    let key = st.keys[f.seg].clone();
                    st.started += 1;
                    let me = self.clone();
                    let task = f.task;
                    let h = tokio::spawn(async move { me.piece(f, key, src).await });
                    st.tasks.insert(task, h.abort_handle());
                }
                Action::Cancel(t) => {
                    if let Some(h) = st.tasks.remove(&t) {
                        h.abort();
                    }
                }
                Action::Drop(key) => {
                    st.parts.remove(&key);
                    st.done.remove(&key);
                }
            }
        }
        self.sched.notify_one();
    }

    /// One fetch: the request, its checks, the body, then the report to the planner.
    async fn piece(self: Arc<Self>, f: Fetch, key: String, src: Source) {
        let task = f.task;
        let r = self.fetch(&f, &key, &src).await;
        let mut st = self.lock();
        st.tasks.remove(&task);
        // Cancelled while its last bytes were being handled: nothing of it is kept.
        if !st.plan.is_running(task) {
            return;
        }
        let outcome = match r {
            Ok((o, bytes, ct)) => {
                let p = st.parts.entry(key.clone()).or_default();
                if ct.is_some() {
                    p.content_type = ct;
                }
                if matches!(o, Outcome::Got { whole: true, .. }) {
                    p.pieces.clear();
                }
                p.pieces.insert(f.range.map_or(0, |r| r.0), bytes);
                o
            }
            Err(o) => {
                if let Outcome::Fatal(e) | Outcome::Retry(e) | Outcome::Changed(e) = &o {
                    tracing::warn!("segment {}: {e}", src.url);
                }
                o
            }
        };
        if let Some(seg) = st.plan.finished(task, outcome, Instant::now()) {
            Self::assemble(&mut st, seg);
        }
        if let Some(i) = st.keys.iter().position(|k| *k == key)
            && let Some(Err(e)) = st.plan.result(i)
        {
            st.errors.insert(key, e);
        }
        self.run(&mut st);
        drop(st);
        self.data.notify_waiters();
    }

    /// Joins a finished segment's pieces.
    fn assemble(st: &mut St, seg: usize) {
        let Some(key) = st.keys.get(seg).cloned() else {
            return;
        };
        let Some(parts) = st.parts.remove(&key) else {
            return;
        };
        let len: usize = parts.pieces.values().map(Bytes::len).sum();
        let bytes = if parts.pieces.len() == 1 {
            parts.pieces.into_values().next().unwrap_or_default()
        } else {
            let mut b = BytesMut::with_capacity(len);
            let mut at = 0u64;
            for (off, p) in &parts.pieces {
                if *off != at {
                    st.errors
                        .insert(key.clone(), format!("pieces do not join at byte {at}"));
                    return;
                }
                b.extend_from_slice(p);
                at += p.len() as u64;
            }
            b.freeze()
        };
        let content_range = st.srcs[seg].range.and_then(|r| {
            let total = parts
                .meta
                .as_ref()
                .and_then(|m| m.total)
                .map_or("*".to_owned(), |t| t.to_string());
            HeaderValue::from_str(&format!(
                "bytes {}-{}/{total}",
                r.offset,
                r.offset + r.len - 1
            ))
            .ok()
        });
        st.done.insert(
            key,
            Loaded {
                bytes,
                content_type: parts.content_type,
                content_range,
            },
        );
    }

    /// Sends the request and reads the body. `Ok` carries the outcome to report (always
    /// `Got`), the bytes and the content type.
    async fn fetch(
        self: &Arc<Self>,
        f: &Fetch,
        key: &str,
        src: &Source,
    ) -> Result<(Outcome, Bytes, Option<HeaderValue>), Outcome> {
        // The absolute byte range asked for, end exclusive.
        let abs = match (src.range, f.range) {
            (Some(br), Some((a, b))) => Some((br.offset + a, br.offset + b)),
            (Some(br), None) => Some((br.offset, br.offset + br.len)),
            (None, r) => r,
        };
        let mut req = self.client.get(src.url.clone());
        if let Some((a, b)) = abs {
            req = req.header(header::RANGE, format!("bytes={a}-{}", b - 1));
        }
        let resp = tokio::time::timeout(self.stall, req.send())
            .await
            .map_err(|_| Outcome::Retry("the origin stalled".into()))?
            .map_err(|e| {
                let why = crate::origin::error_chain(&e);
                // A redirect the client refused (another server) is refused again next time.
                if e.is_redirect() || e.is_builder() {
                    Outcome::Fatal(why)
                } else {
                    Outcome::Retry(why)
                }
            })?;
        let status = resp.status();
        if status.is_client_error()
            && !matches!(
                status,
                StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
            )
        {
            return Err(Outcome::Fatal(format!("origin answered {status}")));
        }
        if !status.is_success() {
            return Err(Outcome::Retry(format!("origin answered {status}")));
        }
        let h = resp.headers();
        let ct = h.get(header::CONTENT_TYPE).cloned();
        let validator = h
            .get(header::ETAG)
            .filter(|e| !e.as_bytes().starts_with(b"W/"))
            .or(h.get(header::LAST_MODIFIED))
            .cloned();
        let declared = resp.content_length();
        let (whole, seg_total, meta) = match (status, abs) {
            (StatusCode::PARTIAL_CONTENT, Some((a, b))) => {
                let (ra, rb, total) = h
                    .get(header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(crate::origin::parse_content_range)
                    .ok_or_else(|| Outcome::Fatal("a 206 without a valid Content-Range".into()))?;
                if ra != a || rb + 1 > b {
                    return Err(Outcome::Fatal(format!(
                        "asked for bytes {a}-{}, the origin sent {ra}-{rb}",
                        b - 1
                    )));
                }
                if rb + 1 < b && total.is_none_or(|t| rb + 1 != t) {
                    return Err(Outcome::Fatal(format!(
                        "asked for bytes {a}-{}, the origin sent {ra}-{rb} of {total:?}",
                        b - 1
                    )));
                }
                // The segment's own size: the resource's, unless the playlist gave a range.
                let seg_total = if src.range.is_some() { None } else { total };
                (false, seg_total, Meta { total, validator })
            }
            (StatusCode::PARTIAL_CONTENT, None) => {
                return Err(Outcome::Fatal("a 206 to a request without Range".into()));
            }
            (_, Some(_)) if src.range.is_some() => {
                return Err(Outcome::Fatal(format!(
                    "answered {status} to a byte-range request (EXT-X-BYTERANGE needs 206)"
                )));
            }
            (_, Some((a, _))) if a > 0 => {
                return Err(Outcome::Changed(format!(
                    "answered {status} to a request for bytes from {a}"
                )));
            }
            _ => (
                true,
                declared,
                Meta {
                    total: declared,
                    validator,
                },
            ),
        };
        // Every piece must agree with the segment's first answer; the first one sets it.
        {
            let mut st = self.lock();
            if !st.plan.is_running(f.task) {
                return Err(Outcome::Retry("cancelled".into()));
            }
            let p = st.parts.entry(key.to_owned()).or_default();
            match &p.meta {
                Some(m) if !whole && *m != meta => {
                    return Err(Outcome::Changed(format!(
                        "size {:?} and validator {:?} first, now {:?} and {:?}",
                        m.total, m.validator, meta.total, meta.validator
                    )));
                }
                _ => p.meta = Some(meta),
            }
            if let (false, Some(t)) = (whole, seg_total) {
                st.plan.sized(f.task, t);
                self.run(&mut st);
            }
        }
        let mut resp = resp;
        let want = declared.unwrap_or(0).min(64 << 20) as usize;
        let mut buf = BytesMut::with_capacity(want);
        loop {
            let chunk = tokio::time::timeout(self.stall, resp.chunk())
                .await
                .map_err(|_| Outcome::Retry("the origin stalled".into()))?
                .map_err(|e| Outcome::Retry(crate::origin::error_chain(&e)))?;
            let Some(c) = chunk else { break };
            buf.extend_from_slice(&c);
        }
        let len = buf.len() as u64;
        if declared.is_some_and(|d| d != len) {
            return Err(Outcome::Retry(format!(
                "the origin sent {len} of {declared:?} bytes"
            )));
        }
        let total = if whole { Some(len) } else { seg_total };
        Ok((Outcome::Got { len, total, whole }, buf.freeze(), ct))
    }
}

impl SegFetcher {
    /// Starts fetching `srcs` from segment 0 under `cfg`. Needs a Tokio runtime.
    pub fn new(
        client: reqwest::Client,
        cfg: SegConfig,
        srcs: Vec<Source>,
        stall: Duration,
    ) -> Self {
        let infos: Vec<SegInfo> = srcs.iter().map(Source::info).collect();
        let keys = infos.iter().map(|i| i.key.clone()).collect();
        let shared = Arc::new(Shared {
            st: Mutex::new(St {
                plan: SegPlanner::new(cfg, infos),
                srcs,
                keys,
                parts: HashMap::new(),
                done: HashMap::new(),
                errors: HashMap::new(),
                tasks: HashMap::new(),
                started: 0,
            }),
            data: Notify::new(),
            sched: Notify::new(),
            client,
            stall,
        });
        let me = shared.clone();
        let driver = tokio::spawn(async move {
            loop {
                let wake = {
                    let mut st = me.lock();
                    me.run(&mut st);
                    st.plan.next_wakeup(Instant::now())
                };
                // `run` above stored a permit; take it so the wait below is a real one.
                me.sched.notified().await;
                let until = wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
                tokio::select! {
                    _ = me.sched.notified() => {}
                    _ = tokio::time::sleep_until(until.into()) => {}
                }
            }
        })
        .abort_handle();
        SegFetcher { shared, driver }
    }

    /// The segment list changed (a live reload): state is kept for segments still listed.
    pub fn set_sources(&self, srcs: Vec<Source>) {
        let mut st = self.shared.lock();
        if st.srcs == srcs {
            return;
        }
        let infos: Vec<SegInfo> = srcs.iter().map(Source::info).collect();
        st.keys = infos.iter().map(|i| i.key.clone()).collect();
        st.plan.set_segments(infos);
        st.srcs = srcs;
        let keys: std::collections::HashSet<String> = st.keys.iter().cloned().collect();
        let keep = |k: &String| keys.contains(k);
        let (mut parts, mut done, mut errors) = (
            std::mem::take(&mut st.parts),
            std::mem::take(&mut st.done),
            std::mem::take(&mut st.errors),
        );
        parts.retain(|k, _| keep(k));
        done.retain(|k, _| keep(k));
        errors.retain(|k, _| keep(k));
        (st.parts, st.done, st.errors) = (parts, done, errors);
        self.shared.run(&mut st);
    }

    /// See [`SegPlanner::set_share`].
    pub fn set_share(&self, connections: usize, max_bytes: u64) {
        let mut st = self.shared.lock();
        st.plan.set_share(connections, max_bytes);
        self.shared.run(&mut st);
    }

    /// The index of the segment with this key (see [`Source`]), if listed.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.shared.lock().keys.iter().position(|k| k == key)
    }

    /// Fetches running now.
    pub fn running(&self) -> usize {
        self.shared.lock().plan.running()
    }

    /// How many requests were started so far.
    pub fn started(&self) -> u64 {
        self.shared.lock().started
    }

    /// Segment `seg`, whole. It becomes the focus: the window moves there (a seek when it was
    /// outside). Waits for it; fails when the planner gave up on it.
    pub async fn get(&self, seg: usize) -> Result<Loaded, String> {
        let key = {
            let mut st = self.shared.lock();
            let Some(key) = st.keys.get(seg).cloned() else {
                return Err(format!("no segment {seg}"));
            };
            // A prefetch that failed is the answer to the first request for it; a later request
            // tries again.
            if let Some(e) = st.errors.remove(&key) {
                return Err(e);
            }
            st.plan.request(seg);
            self.shared.run(&mut st);
            key
        };
        loop {
            let notified = self.shared.data.notified();
            {
                let mut st = self.shared.lock();
                if let Some(l) = st.done.get(&key) {
                    return Ok(l.clone());
                }
                if let Some(e) = st.errors.remove(&key) {
                    return Err(e);
                }
                let Some(i) = st.keys.iter().position(|k| *k == key) else {
                    return Err("the segment is no longer listed".into());
                };
                if let Some(Err(e)) = st.plan.result(i) {
                    return Err(e);
                }
                // Dropped by a request elsewhere: ask for it again.
                if st.plan.is_idle(i) {
                    st.plan.request(i);
                    self.shared.run(&mut st);
                }
            }
            notified.await;
        }
    }

    /// Lets segment `seg` go: the next segment becomes the focus (for `download`, which writes
    /// in order and never goes back).
    pub fn advance(&self, seg: usize) {
        let mut st = self.shared.lock();
        st.plan.request(seg + 1);
        self.shared.run(&mut st);
    }
}
