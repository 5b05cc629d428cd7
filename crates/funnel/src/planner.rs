//! The sans-IO planner: which byte ranges to fetch, on how many connections, in what order, and
//! what to hand to readers. It takes events (reader opened/closed, bytes arrived, a fetch failed,
//! the time) and returns assignments, cancellations and bytes; the async shell (`engine`) does the
//! sockets. Unit tests drive it without sockets or clocks.
//!
//! Model (after video-funnel, seed 003, with its flaws fixed):
//! - A *reader* wants a list of byte ranges: one range per player request (ordered: bytes are
//!   handed out in order, as they arrive, never waiting for a piece or block to complete), or the
//!   missing ranges of a download (unordered: any received bytes may be written at their offset).
//! - Wanted ranges are cut lazily into *pieces* of `piece_size`, fetched on up to `connections`
//!   connections. A new reader (a seek) gets priority; if all connections are busy, the least
//!   urgent fetch of an older reader is cancelled so the new offset starts at once.
//! - Memory bound (policy: backpressure): a piece may only start while the bytes reserved by
//!   started-but-unread pieces stay within `max_blocks x block_size`. The piece at a reader's read
//!   position is always allowed, so progress never deadlocks.
//! - Failures keep the bytes already received: the retry resumes at the first missing byte, after
//!   an exponential backoff; 429/503 pause all new requests (Retry-After when given).
//! - An idle connection with nothing left to plan re-splits the running piece that will finish
//!   last (a slow connection's remaining work goes to a fresh one).

use crate::error::Error;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Range;
use std::time::{Duration, Instant};

/// Tuning of the planner. Sizes are bytes.
#[derive(Debug, Clone)]
pub struct PlanConfig {
    pub connections: usize,
    pub piece_size: u64,
    pub block_size: u64,
    pub max_blocks: u64,
    /// Running pieces with less than twice this left are never split.
    pub min_split: u64,
    /// A piece must have run this long (so its rate is known) before it may be split.
    pub split_after: Duration,
    /// Consecutive failed attempts without progress before a range is given up.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Consecutive 429/503 answers without any progress before giving up.
    pub max_busy: u32,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            connections: 8,
            piece_size: 1 << 20,
            block_size: 8 << 20,
            max_blocks: 2,
            min_split: 64 << 10,
            split_after: Duration::from_millis(500),
            max_attempts: 6,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            max_busy: 20,
        }
    }
}

impl PlanConfig {
    /// Bytes that started-but-unread pieces may reserve (`max_blocks x block_size`).
    pub fn budget(&self) -> u64 {
        self.max_blocks
            .saturating_mul(self.block_size)
            .max(self.piece_size)
    }
}

pub type ReaderId = u64;
pub type TaskId = u64;

/// Fetch `start..end` of the origin for task `task`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub task: TaskId,
    pub start: u64,
    pub end: u64,
}

/// Why a fetch stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Connection reset, 5xx, truncated body, stall: retry from the bytes we have.
    Retry(String),
    /// 429/503: pause all new requests.
    Busy {
        retry_after: Option<Duration>,
        msg: String,
    },
    /// Retrying cannot help (origin changed, 404...): fail every reader.
    Fatal(Error),
}

/// What the fetcher should do after delivering bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The piece is complete (or was cancelled/split): drop the response.
    Stop,
}

/// What a reader gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// Bytes at `offset` (ordered readers always get the next offset).
    Data {
        offset: u64,
        bytes: Bytes,
    },
    /// Nothing yet: wait for an event.
    Pending,
    /// Every wanted byte was handed out.
    Eof,
    Failed(Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Queued,
    Running {
        task: TaskId,
        since: Instant,
        got_at_start: u64,
    },
    Done,
}

#[derive(Debug)]
struct Piece {
    start: u64,
    end: u64,
    /// Bytes received, contiguous from `start`.
    got: u64,
    /// Bytes handed to the reader (`<= got`).
    taken: u64,
    chunks: VecDeque<Bytes>,
    state: State,
    attempts: u32,
    not_before: Option<Instant>,
    last_error: String,
}

impl Piece {
    fn new(start: u64, end: u64) -> Self {
        Piece {
            start,
            end,
            got: 0,
            taken: 0,
            chunks: VecDeque::new(),
            state: State::Queued,
            attempts: 0,
            not_before: None,
            last_error: String::new(),
        }
    }
    fn len(&self) -> u64 {
        self.end - self.start
    }
    fn remaining(&self) -> u64 {
        self.len() - self.got
    }
}

#[derive(Debug)]
struct Reader {
    /// Ranges not yet cut into pieces, in order.
    want: VecDeque<Range<u64>>,
    pieces: BTreeMap<u64, Piece>,
    ordered: bool,
}

/// The planner state. See the module docs.
#[derive(Debug)]
pub struct Planner {
    cfg: PlanConfig,
    readers: BTreeMap<ReaderId, Reader>,
    tasks: HashMap<TaskId, (ReaderId, u64)>,
    next_id: u64,
    fatal: Option<Error>,
    pause_until: Option<Instant>,
    busy_count: u32,
    held: u64,
    peak_held: u64,
}

fn backoff(cfg: &PlanConfig, attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(16);
    cfg.backoff_base
        .saturating_mul(1u32 << exp)
        .min(cfg.backoff_max)
}

impl Planner {
    pub fn new(cfg: PlanConfig) -> Self {
        Planner {
            cfg,
            readers: BTreeMap::new(),
            tasks: HashMap::new(),
            next_id: 1,
            fatal: None,
            pause_until: None,
            busy_count: 0,
            held: 0,
            peak_held: 0,
        }
    }

    pub fn config(&self) -> &PlanConfig {
        &self.cfg
    }

    /// Bytes received but not yet handed to a reader.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// The most bytes ever held at once (for memory-bound tests).
    pub fn peak_held(&self) -> u64 {
        self.peak_held
    }

    /// Fetches in flight.
    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    pub fn fatal(&self) -> Option<&Error> {
        self.fatal.as_ref()
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Opens a reader for `want` (sorted, non-overlapping). `prefill` are bytes already known to
    /// be at `want[0].start` (e.g. the prefetched MP4 index). Returns the reader and the fetches
    /// to cancel so the new reader can start at once (all connections were busy).
    pub fn open(
        &mut self,
        want: Vec<Range<u64>>,
        ordered: bool,
        prefill: Option<Bytes>,
    ) -> (ReaderId, Vec<TaskId>) {
        let id = self.id();
        let mut want: VecDeque<Range<u64>> = want.into_iter().filter(|r| r.end > r.start).collect();
        let mut pieces = BTreeMap::new();
        if let (Some(bytes), Some(first)) = (prefill, want.front_mut()) {
            let n = (bytes.len() as u64).min(first.end - first.start);
            if n > 0 {
                let mut p = Piece::new(first.start, first.start + n);
                p.got = n;
                p.state = State::Done;
                p.chunks.push_back(bytes.slice(..n as usize));
                self.held += n;
                self.peak_held = self.peak_held.max(self.held);
                pieces.insert(p.start, p);
                first.start += n;
                if first.start == first.end {
                    want.pop_front();
                }
            }
        }
        self.readers.insert(
            id,
            Reader {
                want,
                pieces,
                ordered,
            },
        );
        let mut cancel = Vec::new();
        if ordered {
            // A seek: older players' look-ahead is stale. Keep only each one's head piece (it
            // may still be read) and give the rest back to its wanted ranges.
            let others: Vec<ReaderId> = self.readers.keys().copied().filter(|r| *r != id).collect();
            for rid in others {
                cancel.extend(self.trim(rid));
            }
        }
        if self.tasks.len() >= self.cfg.connections {
            // Still no free connection: pre-empt the least urgent fetch of an older reader.
            let victim = self
                .tasks
                .iter()
                .filter(|(_, (r, _))| *r != id)
                .max_by_key(|(_, (r, s))| (std::cmp::Reverse(*r), *s))
                .map(|(t, _)| *t);
            if let Some(t) = victim {
                self.requeue(t, None);
                cancel.push(t);
            }
        }
        (id, cancel)
    }

    /// Drops every piece of an ordered reader but its head, returning their ranges to `want`
    /// and their fetches for cancellation.
    fn trim(&mut self, rid: ReaderId) -> Vec<TaskId> {
        let mut cancel = Vec::new();
        let Some(r) = self.readers.get_mut(&rid) else {
            return cancel;
        };
        if !r.ordered || r.pieces.len() < 2 {
            return cancel;
        }
        let Some(head_end) = r.pieces.values().next().map(|p| p.end) else {
            return cancel;
        };
        let tail = r.pieces.split_off(&head_end);
        let mut last_end = head_end;
        for p in tail.into_values() {
            self.held -= p.chunks.iter().map(|c| c.len() as u64).sum::<u64>();
            if let State::Running { task, .. } = p.state {
                self.tasks.remove(&task);
                cancel.push(task);
            }
            last_end = last_end.max(p.end);
        }
        match r.want.front_mut() {
            Some(f) if f.start == last_end => f.start = head_end,
            _ => r.want.push_front(head_end..last_end),
        }
        cancel
    }

    /// Closes a reader (player went away, or it finished): frees its bytes and returns the fetches
    /// to cancel.
    pub fn close(&mut self, reader: ReaderId) -> Vec<TaskId> {
        let Some(r) = self.readers.remove(&reader) else {
            return Vec::new();
        };
        let mut cancel = Vec::new();
        for p in r.pieces.values() {
            self.held -= p.chunks.iter().map(|c| c.len() as u64).sum::<u64>();
            if let State::Running { task, .. } = p.state {
                self.tasks.remove(&task);
                cancel.push(task);
            }
        }
        cancel
    }

    /// Puts a running piece back in the queue (keeps its bytes).
    fn requeue(&mut self, task: TaskId, not_before: Option<Instant>) {
        if let Some((r, s)) = self.tasks.remove(&task)
            && let Some(p) = self.readers.get_mut(&r).and_then(|r| r.pieces.get_mut(&s))
        {
            p.state = State::Queued;
            p.not_before = not_before;
        }
    }

    fn reserved(&self) -> u64 {
        self.readers
            .values()
            .flat_map(|r| r.pieces.values())
            .map(|p| p.len() - p.taken)
            .sum()
    }

    /// New fetches to start now (at most the free connections).
    pub fn poll(&mut self, now: Instant) -> Vec<Assignment> {
        let mut out = Vec::new();
        if self.fatal.is_some() || self.pause_until.is_some_and(|t| t > now) {
            return out;
        }
        self.pause_until = None;
        while self.tasks.len() < self.cfg.connections {
            match self.pick(now) {
                Some(a) => out.push(a),
                None => break,
            }
        }
        out
    }

    fn start(&mut self, reader: ReaderId, key: u64, now: Instant) -> Option<Assignment> {
        let task = self.id();
        let p = self.readers.get_mut(&reader)?.pieces.get_mut(&key)?;
        p.state = State::Running {
            task,
            since: now,
            got_at_start: p.got,
        };
        p.not_before = None;
        let a = Assignment {
            task,
            start: p.start + p.got,
            end: p.end,
        };
        self.tasks.insert(task, (reader, key));
        Some(a)
    }

    fn pick(&mut self, now: Instant) -> Option<Assignment> {
        let reserved = self.reserved();
        let budget = self.cfg.budget();
        let ids: Vec<ReaderId> = self.readers.keys().rev().copied().collect();
        // 1. Queued pieces (retries, pre-empted, split halves), newest reader first, lowest offset.
        for &rid in &ids {
            let r = &self.readers[&rid];
            let key = r
                .pieces
                .values()
                .find(|p| p.state == State::Queued && p.not_before.is_none_or(|t| t <= now))
                .map(|p| p.start);
            if let Some(k) = key {
                return self.start(rid, k, now);
            }
        }
        // 2. A new piece from the wanted ranges, within the memory budget.
        for &rid in &ids {
            let piece_size = self.cfg.piece_size;
            let r = self.readers.get_mut(&rid)?;
            let Some(front) = r.want.front_mut() else {
                continue;
            };
            let len = piece_size.min(front.end - front.start);
            if !r.pieces.is_empty() && reserved + len > budget {
                continue;
            }
            let start = front.start;
            front.start += len;
            if front.start == front.end {
                r.want.pop_front();
            }
            r.pieces.insert(start, Piece::new(start, start + len));
            return self.start(rid, start, now);
        }
        // 3. Nothing left to plan: re-split the running piece that will finish last.
        let min_split = self.cfg.min_split;
        let split_after = self.cfg.split_after;
        let mut best: Option<(f64, ReaderId, u64)> = None;
        for &rid in &ids {
            for p in self.readers[&rid].pieces.values() {
                let State::Running {
                    since,
                    got_at_start,
                    ..
                } = p.state
                else {
                    continue;
                };
                let elapsed = now.saturating_duration_since(since);
                if p.remaining() < 2 * min_split || elapsed < split_after {
                    continue;
                }
                let rate = (p.got - got_at_start) as f64 / elapsed.as_secs_f64().max(1e-6);
                let eta = if rate > 0.0 {
                    p.remaining() as f64 / rate
                } else {
                    f64::INFINITY
                };
                if best.is_none_or(|(b, _, _)| eta > b) {
                    best = Some((eta, rid, p.start));
                }
            }
            if best.is_some() {
                break; // newest reader's slow work first
            }
        }
        let (_, rid, key) = best?;
        let r = self.readers.get_mut(&rid)?;
        let p = r.pieces.get_mut(&key)?;
        let mid = p.start + p.got + p.remaining() / 2;
        let new = Piece::new(mid, p.end);
        p.end = mid;
        // Restart its rate clock: judged again only after another `split_after`.
        if let State::Running { task, .. } = p.state {
            p.state = State::Running {
                task,
                since: now,
                got_at_start: p.got,
            };
        }
        r.pieces.insert(mid, new);
        self.start(rid, mid, now)
    }

    /// Bytes arrived for `task` (in order, continuing where the task's range started).
    pub fn on_data(&mut self, task: TaskId, mut bytes: Bytes) -> Flow {
        let Some(&(rid, key)) = self.tasks.get(&task) else {
            return Flow::Stop; // cancelled or stale
        };
        let Some(p) = self
            .readers
            .get_mut(&rid)
            .and_then(|r| r.pieces.get_mut(&key))
        else {
            self.tasks.remove(&task);
            return Flow::Stop;
        };
        let room = p.remaining();
        if bytes.len() as u64 > room {
            bytes.truncate(room as usize);
        }
        let n = bytes.len() as u64;
        if n > 0 {
            p.got += n;
            p.chunks.push_back(bytes);
            self.held += n;
            self.peak_held = self.peak_held.max(self.held);
            self.busy_count = 0;
        }
        if p.remaining() == 0 {
            p.state = State::Done;
            self.tasks.remove(&task);
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    /// The response body ended. Complete pieces were already finished by `on_data`; a short body
    /// is a truncation and is retried from the bytes received.
    pub fn on_eof(&mut self, task: TaskId, now: Instant) {
        if self.tasks.contains_key(&task) {
            self.on_fail(task, Failure::Retry("body ended early".into()), now);
        }
    }

    /// A fetch failed.
    pub fn on_fail(&mut self, task: TaskId, failure: Failure, now: Instant) {
        let Some(&(rid, key)) = self.tasks.get(&task) else {
            return;
        };
        let cfg = self.cfg.clone();
        match failure {
            Failure::Fatal(e) => {
                self.tasks.remove(&task);
                self.fatal.get_or_insert(e);
            }
            Failure::Busy { retry_after, msg } => {
                self.busy_count += 1;
                if self.busy_count > cfg.max_busy {
                    let (s, e) = self.range_of(rid, key);
                    self.tasks.remove(&task);
                    self.fatal.get_or_insert(Error::GaveUp {
                        start: s,
                        end: e,
                        attempts: self.busy_count,
                        last: msg,
                    });
                    return;
                }
                let wait = retry_after.unwrap_or_else(|| backoff(&cfg, self.busy_count));
                let until = now + wait.min(Duration::from_secs(60));
                self.pause_until = Some(self.pause_until.map_or(until, |t| t.max(until)));
                self.requeue(task, Some(until));
            }
            Failure::Retry(msg) => {
                let Some(p) = self
                    .readers
                    .get_mut(&rid)
                    .and_then(|r| r.pieces.get_mut(&key))
                else {
                    self.tasks.remove(&task);
                    return;
                };
                let progressed =
                    matches!(p.state, State::Running { got_at_start, .. } if p.got > got_at_start);
                p.attempts = if progressed { 1 } else { p.attempts + 1 };
                p.last_error = msg;
                if p.attempts >= cfg.max_attempts {
                    let e = Error::GaveUp {
                        start: p.start + p.got,
                        end: p.end,
                        attempts: p.attempts,
                        last: p.last_error.clone(),
                    };
                    self.tasks.remove(&task);
                    self.fatal.get_or_insert(e);
                    return;
                }
                let at = now + backoff(&cfg, p.attempts);
                self.requeue(task, Some(at));
            }
        }
    }

    fn range_of(&self, rid: ReaderId, key: u64) -> (u64, u64) {
        self.readers
            .get(&rid)
            .and_then(|r| r.pieces.get(&key))
            .map_or((key, key), |p| (p.start + p.got, p.end))
    }

    /// Tasks to cancel because a fatal error stopped everything.
    pub fn drain_tasks_on_fatal(&mut self) -> Vec<TaskId> {
        if self.fatal.is_none() {
            return Vec::new();
        }
        let ids: Vec<TaskId> = self.tasks.keys().copied().collect();
        for t in &ids {
            self.requeue(*t, None);
        }
        ids
    }

    /// Next bytes for `reader`.
    pub fn read(&mut self, reader: ReaderId) -> Read {
        if let Some(e) = &self.fatal {
            return Read::Failed(e.clone());
        }
        let Some(r) = self.readers.get_mut(&reader) else {
            return Read::Failed(Error::Cancelled);
        };
        let key = if r.ordered {
            r.pieces.keys().next().copied()
        } else {
            r.pieces
                .values()
                .find(|p| !p.chunks.is_empty())
                .map(|p| p.start)
        };
        let Some(key) = key else {
            return if r.want.is_empty() && r.pieces.is_empty() {
                Read::Eof
            } else {
                Read::Pending
            };
        };
        let Some(p) = r.pieces.get_mut(&key) else {
            return Read::Pending;
        };
        let Some(bytes) = p.chunks.pop_front() else {
            return Read::Pending;
        };
        let offset = p.start + p.taken;
        p.taken += bytes.len() as u64;
        self.held -= bytes.len() as u64;
        if p.taken == p.len() && p.state == State::Done {
            r.pieces.remove(&key);
        }
        Read::Data { offset, bytes }
    }

    /// When the shell should wake up even without events (backoff expiry, split checks), if later
    /// than `now`.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        if let Some(p) = self.pause_until.filter(|&x| x > now) {
            return Some(p); // nothing starts before the origin's pause ends
        }
        let idle = self.tasks.len() < self.cfg.connections;
        let mut t: Option<Instant> = None;
        let mut min = |x: Instant| {
            if x > now {
                t = Some(t.map_or(x, |y| y.min(x)))
            }
        };
        for p in self.readers.values().flat_map(|r| r.pieces.values()) {
            match p.state {
                State::Queued => {
                    if let Some(nb) = p.not_before {
                        min(nb)
                    }
                }
                State::Running { since, .. } if idle && p.remaining() >= 2 * self.cfg.min_split => {
                    min(since + self.cfg.split_after)
                }
                _ => {}
            }
        }
        t
    }
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
