//! The sans-IO segment planner of HLS: which segments (and which byte ranges of them) to fetch,
//! on how many connections, for the funnel's prefetch and for `download`. Events in (the player
//! asked for segment `i`, a fetch finished or failed, the time), actions out (start a fetch,
//! cancel one, drop a segment's bytes); [`crate::hls_fetch`] does the sockets. Unit tests drive it
//! with forced time and no sockets.
//!
//! Policy:
//! - **Window.** Segments are fetched in playback order from the *focus* (the segment the player
//!   last asked for, or the one `download` writes next), at most `max_ahead` segments and
//!   `max_bytes` bytes ahead of it (sizes not yet known are estimated as the mean of those known).
//!   The focus segment is always allowed, so progress never deadlocks.
//! - **Seek.** A request for a segment outside the window moves the window there at once: fetches
//!   of segments outside the new window are cancelled, and their bytes (and those of finished
//!   segments outside it, but `keep_behind` segments behind the focus, whose fetches go on) are
//!   dropped. Memory stays
//!   within the window's bound plus the focus segment.
//! - **Ranges.** When the origin honours `Range`, a segment is fetched as pieces: first
//!   `first_piece` bytes (whose `Content-Range` tells the size), then the rest cut into
//!   `connections` pieces (at least `min_piece`), so the focus segment and the last segments of a
//!   download are spread over every connection. An origin that answers the first piece with a
//!   whole 200 stops the splitting (every later segment is one whole request).
//!   EXT-X-BYTERANGE segments have a known size from the start.
//! - **Faults.** A piece that fails for a reason a retry can fix (network, 5xx, a short body) is
//!   retried after a backoff, `max_attempts` times; a segment whose pieces disagree (the size or
//!   validator changed between fetches) is fetched again from scratch once, then fails. A failed
//!   segment stays failed until the player asks for it again. Bytes of two versions are never
//!   joined: the shell checks every piece against the segment's first answer.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Tuning of the segment planner. Sizes are bytes.
#[derive(Debug, Clone)]
pub struct SegConfig {
    /// Fetches in flight at most.
    pub connections: usize,
    /// Segments ahead of the focus (the focus included) that may be fetched or held.
    pub max_ahead: usize,
    /// Bytes the window may hold (the focus segment is allowed beyond it).
    pub max_bytes: u64,
    /// Finished segments kept behind the focus (a player may ask for the last one again).
    pub keep_behind: usize,
    /// Split segments into ranges (the origin honours `Range`).
    pub split: bool,
    /// The first request of a segment of unknown size asks for this many bytes.
    pub first_piece: u64,
    /// The rest of a segment is cut into pieces no smaller than this.
    pub min_piece: u64,
    /// Attempts per piece for faults a retry can fix.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one.
    pub backoff: Duration,
}

impl Default for SegConfig {
    fn default() -> Self {
        SegConfig {
            connections: 8,
            max_ahead: 24,
            max_bytes: 32 << 20,
            keep_behind: 1,
            split: true,
            first_piece: 64 << 10,
            min_piece: 64 << 10,
            max_attempts: 4,
            backoff: Duration::from_millis(200),
        }
    }
}

/// Identifies one fetch.
pub type TaskId = u64;

/// A fetch to start: `range` of segment `seg` (segment-relative, end exclusive; `None` means the
/// whole segment in one request, no `Range`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub task: TaskId,
    pub seg: usize,
    pub range: Option<(u64, u64)>,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Start(Fetch),
    /// Abort this fetch (its bytes are not wanted).
    Cancel(TaskId),
    /// Drop every byte held for the segment of this key (and what is known of its answer).
    Drop(String),
}

/// How a fetch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `len` bytes arrived; `total` is the segment's size when the answer told it (a 206's
    /// Content-Range, or the length of a whole 200).
    Got {
        len: u64,
        total: Option<u64>,
        whole: bool,
    },
    /// A fault a retry can fix.
    Retry(String),
    /// The answer disagrees with an earlier piece of the same segment (size or validator).
    Changed(String),
    /// Retrying cannot help (404, 403, a protocol error).
    Fatal(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PieceSt {
    Todo {
        attempts: u32,
        not_before: Option<Instant>,
    },
    Running {
        task: TaskId,
        attempts: u32,
    },
    Done,
}

#[derive(Debug, Clone)]
struct Piece {
    start: u64,
    /// `None`: the whole segment (no splitting).
    end: Option<u64>,
    st: PieceSt,
}

#[derive(Debug, Clone)]
enum Seg {
    Idle,
    Fetching {
        total: Option<u64>,
        pieces: Vec<Piece>,
        restarts: u32,
    },
    Done {
        len: u64,
    },
    Failed(String),
}

/// What the planner is told about each segment: its key (to keep state across playlist
/// reloads) and its size when the playlist gives it (EXT-X-BYTERANGE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegInfo {
    pub key: String,
    pub len: Option<u64>,
}

/// The planner. See the module docs.
#[derive(Debug)]
pub struct SegPlanner {
    cfg: SegConfig,
    info: Vec<SegInfo>,
    segs: Vec<Seg>,
    focus: usize,
    tasks: HashMap<TaskId, (usize, u64)>,
    next_task: TaskId,
    out: Vec<Action>,
    /// The origin answered a range request with a whole 200: no more splitting.
    no_ranges: bool,
    /// The focus was asked for before it was all here (a seek, or a player ahead of the
    /// prefetch): its pieces take connections from fetches further ahead.
    urgent: bool,
    /// Sum and count of the segment sizes learnt (for the estimate of those not yet known).
    sizes: (u64, u64),
    /// Bytes of finished pieces held, and the most ever held.
    held: u64,
    peak_held: u64,
}

impl SegPlanner {
    pub fn new(cfg: SegConfig, info: Vec<SegInfo>) -> Self {
        let n = info.len();
        SegPlanner {
            cfg,
            info,
            segs: vec![Seg::Idle; n],
            focus: 0,
            tasks: HashMap::new(),
            next_task: 1,
            out: Vec::new(),
            no_ranges: false,
            urgent: false,
            sizes: (0, 0),
            held: 0,
            peak_held: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.info.len()
    }

    /// A new share of the connections and bytes (another playlist is prefetched beside this
    /// one, or no longer is): the fetches furthest ahead beyond it are taken back (so that the
    /// playlists together never hold more connections than the user gave), and the window
    /// keeps three segments per connection.
    pub fn set_share(&mut self, connections: usize, max_bytes: u64) {
        self.cfg.connections = connections.max(1);
        self.cfg.max_ahead = 3 * self.cfg.connections;
        self.cfg.max_bytes = max_bytes;
        let mut running: Vec<(TaskId, usize, u64)> = self
            .tasks
            .iter()
            .map(|(t, (s, st))| (*t, *s, *st))
            .collect();
        running.sort_by_key(|v| std::cmp::Reverse((v.1, v.2)));
        let over = running.len().saturating_sub(self.cfg.connections);
        for (task, _, _) in running.into_iter().take(over) {
            self.take_back(task);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.info.is_empty()
    }

    /// The segment asked for last.
    pub fn focus(&self) -> usize {
        self.focus
    }

    /// Fetches in flight.
    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    /// This fetch is still wanted.
    pub fn is_running(&self, task: TaskId) -> bool {
        self.tasks.contains_key(&task)
    }

    /// Bytes of finished pieces held now, and at most so far.
    pub fn held(&self) -> (u64, u64) {
        (self.held, self.peak_held)
    }

    /// Where segment `seg` stands: `Some(Ok(len))` done, `Some(Err(why))` failed, `None` not yet.
    pub fn result(&self, seg: usize) -> Option<Result<u64, String>> {
        match self.segs.get(seg)? {
            Seg::Done { len } => Some(Ok(*len)),
            Seg::Failed(e) => Some(Err(e.clone())),
            _ => None,
        }
    }

    /// Segment `seg` is neither done, failed nor being fetched (it was dropped by a seek
    /// elsewhere): whoever waits for it must ask for it again.
    pub fn is_idle(&self, seg: usize) -> bool {
        matches!(self.segs.get(seg), Some(Seg::Idle))
    }

    /// The player asks for segment `seg` (or `download` goes on to it): it becomes the focus.
    /// A failed segment asked for again is tried again. Segments outside the new window are
    /// cancelled and dropped.
    pub fn request(&mut self, seg: usize) {
        if seg >= self.segs.len() {
            return;
        }
        if matches!(self.segs[seg], Seg::Failed(_)) {
            self.segs[seg] = Seg::Idle;
        }
        // Someone waits for it: its pieces go first, on connections taken from further ahead.
        self.urgent = !matches!(self.segs[seg], Seg::Done { .. });
        if seg == self.focus {
            return;
        }
        self.focus = seg;
        let lo = seg.saturating_sub(self.cfg.keep_behind);
        let hi = seg + self.cfg.max_ahead.max(1);
        for i in (0..self.segs.len()).filter(|i| !(lo..hi).contains(i)) {
            self.drop_seg(i);
        }
    }

    /// A new version of the playlist (a live reload, another variant): state is kept for the
    /// segments whose key is still listed; the focus follows its segment (or goes to 0).
    pub fn set_segments(&mut self, info: Vec<SegInfo>) {
        if info == self.info {
            return;
        }
        let old: HashMap<&str, usize> = self
            .info
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key.as_str(), i))
            .collect();
        let mut segs = vec![Seg::Idle; info.len()];
        let mut moved = HashMap::new();
        for (j, s) in info.iter().enumerate() {
            if let Some(&i) = old.get(s.key.as_str()) {
                segs[j] = std::mem::replace(&mut self.segs[i], Seg::Idle);
                moved.insert(i, j);
            }
        }
        let focus_key = self.info.get(self.focus).map(|s| s.key.clone());
        for i in 0..self.segs.len() {
            if !moved.contains_key(&i) {
                self.drop_seg(i);
            }
        }
        self.tasks.retain(|_, (s, _)| match moved.get(s) {
            Some(j) => {
                *s = *j;
                true
            }
            None => false,
        });
        self.focus = focus_key
            .and_then(|k| info.iter().position(|s| s.key == k))
            .unwrap_or(0);
        self.info = info;
        self.segs = segs;
    }

    fn drop_seg(&mut self, i: usize) {
        match std::mem::replace(&mut self.segs[i], Seg::Idle) {
            Seg::Idle | Seg::Failed(_) => {}
            Seg::Done { len } => {
                self.held -= len.min(self.held);
                self.out.push(Action::Drop(self.info[i].key.clone()));
            }
            Seg::Fetching { pieces, total, .. } => {
                for p in &pieces {
                    match p.st {
                        PieceSt::Running { task, .. } => {
                            if self.tasks.remove(&task).is_some() {
                                self.out.push(Action::Cancel(task));
                            }
                        }
                        PieceSt::Done => {
                            let n = piece_len(p, total);
                            self.held -= n.min(self.held);
                        }
                        PieceSt::Todo { .. } => {}
                    }
                }
                self.out.push(Action::Drop(self.info[i].key.clone()));
            }
        }
    }

    /// The size of segment `i`, or `mean` (of the sizes known) when it is not known yet.
    fn size_estimate(&self, i: usize, mean: u64) -> u64 {
        match &self.segs[i] {
            Seg::Done { len } => *len,
            Seg::Fetching { total: Some(t), .. } => *t,
            _ => self.info[i].len.unwrap_or(mean),
        }
    }

    /// The mean size of the segments whose size was learnt so far, or `first_piece` before any.
    fn mean_size(&self) -> u64 {
        self.sizes
            .0
            .checked_div(self.sizes.1)
            .unwrap_or(self.cfg.first_piece)
    }

    fn learnt(&mut self, size: u64) {
        self.sizes.0 = self.sizes.0.saturating_add(size);
        self.sizes.1 += 1;
    }

    /// The pieces of `total` bytes from `from`: `connections` of them, each at least `min_piece`.
    fn cut(&self, from: u64, total: u64) -> Vec<Piece> {
        let rest = total.saturating_sub(from);
        let size = rest
            .div_ceil(self.cfg.connections.max(1) as u64)
            .max(self.cfg.min_piece.max(1));
        let mut v = Vec::new();
        let mut a = from;
        while a < total {
            let b = (a + size).min(total);
            v.push(Piece {
                start: a,
                end: Some(b),
                st: PieceSt::Todo {
                    attempts: 0,
                    not_before: None,
                },
            });
            a = b;
        }
        v
    }

    /// Starts what the window allows and returns every action due.
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        // A segment just behind the focus still being fetched (the player asked for the next
        // one before this one came) goes on first.
        for i in self.focus.saturating_sub(self.cfg.keep_behind)..self.focus {
            if matches!(self.segs[i], Seg::Fetching { .. }) {
                self.start_pieces(i, now);
            }
        }
        if self.urgent {
            self.preempt_for_focus(now);
        }
        let n = self.segs.len();
        let end = n.min(self.focus + self.cfg.max_ahead.max(1));
        let mut used = 0u64;
        let mean = self.mean_size();
        for i in self.focus..end {
            let est = self.size_estimate(i, mean);
            if i > self.focus && used + est > self.cfg.max_bytes {
                break;
            }
            used += est;
            if self.tasks.len() >= self.cfg.connections && !self.preempt_for(i) {
                break;
            }
            self.start_pieces(i, now);
            if self.tasks.len() >= self.cfg.connections && i > self.focus {
                break;
            }
        }
        std::mem::take(&mut self.out)
    }

    /// An urgent focus: as many of its ready pieces as there are connections take them from the
    /// fetches furthest ahead.
    fn preempt_for_focus(&mut self, now: Instant) {
        let f = self.focus;
        let ready = match self.segs.get(f) {
            Some(Seg::Fetching { pieces, .. }) => pieces
                .iter()
                .filter(|p| {
                    matches!(p.st, PieceSt::Todo { not_before, .. } if not_before.is_none_or(|t| t <= now))
                })
                .count(),
            Some(Seg::Idle) => 1,
            _ => {
                self.urgent = false;
                return;
            }
        };
        let free = self.cfg.connections.saturating_sub(self.tasks.len());
        let mut victims: Vec<(TaskId, usize, u64)> = self
            .tasks
            .iter()
            .filter(|(_, (s, _))| *s > f)
            .map(|(t, (s, st))| (*t, *s, *st))
            .collect();
        victims.sort_by_key(|v| std::cmp::Reverse((v.1, v.2)));
        for (task, _, _) in victims.into_iter().take(ready.saturating_sub(free)) {
            self.take_back(task);
        }
    }

    /// Cancels a running fetch and puts its piece back to be fetched again (no backoff).
    fn take_back(&mut self, task: TaskId) {
        let Some((seg, start)) = self.tasks.remove(&task) else {
            return;
        };
        self.out.push(Action::Cancel(task));
        if let Seg::Fetching { pieces, .. } = &mut self.segs[seg]
            && let Some(p) = pieces.iter_mut().find(|p| p.start == start)
            && let PieceSt::Running { attempts, .. } = p.st
        {
            p.st = PieceSt::Todo {
                attempts,
                not_before: None,
            };
        }
    }

    /// The focus segment has nothing in flight and every connection is busy: cancel the fetch
    /// furthest ahead so the focus starts at once. Returns whether a connection is free.
    fn preempt_for(&mut self, i: usize) -> bool {
        if i != self.focus {
            return false;
        }
        let needs = match &self.segs[i] {
            Seg::Idle => true,
            Seg::Fetching { pieces, .. } => {
                !pieces
                    .iter()
                    .any(|p| matches!(p.st, PieceSt::Running { .. }))
                    && pieces.iter().any(|p| matches!(p.st, PieceSt::Todo { .. }))
            }
            _ => false,
        };
        if !needs {
            return false;
        }
        let Some(task) = self
            .tasks
            .iter()
            .filter(|(_, (s, _))| *s > i)
            .max_by_key(|(_, (s, st))| (*s, *st))
            .map(|(t, _)| *t)
        else {
            return false;
        };
        self.take_back(task);
        true
    }

    fn start_pieces(&mut self, i: usize, now: Instant) {
        if matches!(self.segs[i], Seg::Idle) {
            let split = self.cfg.split && !self.no_ranges;
            let (total, pieces) = match (self.info[i].len, split) {
                (Some(len), _) => (Some(len), self.cut(0, len)),
                (None, true) => (
                    None,
                    vec![Piece {
                        start: 0,
                        end: Some(self.cfg.first_piece.max(1)),
                        st: PieceSt::Todo {
                            attempts: 0,
                            not_before: None,
                        },
                    }],
                ),
                (None, false) => (
                    None,
                    vec![Piece {
                        start: 0,
                        end: None,
                        st: PieceSt::Todo {
                            attempts: 0,
                            not_before: None,
                        },
                    }],
                ),
            };
            if pieces.is_empty() {
                self.segs[i] = Seg::Done { len: 0 };
                return;
            }
            self.segs[i] = Seg::Fetching {
                total,
                pieces,
                restarts: 0,
            };
        }
        let free = self.cfg.connections.saturating_sub(self.tasks.len());
        let mut started = Vec::new();
        if let Seg::Fetching { pieces, .. } = &mut self.segs[i] {
            for p in pieces.iter_mut() {
                if started.len() >= free {
                    break;
                }
                if let PieceSt::Todo {
                    attempts,
                    not_before,
                } = p.st
                    && not_before.is_none_or(|t| t <= now)
                {
                    let task = self.next_task + started.len() as u64;
                    p.st = PieceSt::Running { task, attempts };
                    started.push((task, p.start, p.end));
                }
            }
        }
        self.next_task += started.len() as u64;
        for (task, start, end) in started {
            self.tasks.insert(task, (i, start));
            self.out.push(Action::Start(Fetch {
                task,
                seg: i,
                range: end.map(|e| (start, e)),
            }));
        }
    }

    /// The answer to a fetch's first request told the segment's size (a 206's Content-Range),
    /// before its body arrived: the rest of the segment is cut into pieces at once, so the other
    /// connections start on it while the first piece is still coming.
    pub fn sized(&mut self, task: TaskId, seg_total: u64) {
        let Some(&(i, start)) = self.tasks.get(&task) else {
            return;
        };
        let more = match &mut self.segs[i] {
            Seg::Fetching { total, pieces, .. } if total.is_none() => {
                *total = Some(seg_total);
                self.sizes.0 = self.sizes.0.saturating_add(seg_total);
                self.sizes.1 += 1;
                if let Some(p) = pieces.iter_mut().find(|p| p.start == start)
                    && p.end.is_some_and(|e| e > seg_total)
                {
                    p.end = Some(seg_total);
                }
                pieces.iter().filter_map(|p| p.end).max().unwrap_or(0)
            }
            _ => return,
        };
        if more < seg_total {
            let cut = self.cut(more, seg_total);
            if let Seg::Fetching { pieces, .. } = &mut self.segs[i] {
                pieces.extend(cut);
            }
        }
    }

    /// A fetch ended. Returns `Some(seg)` when that segment is now complete (every piece in).
    pub fn finished(&mut self, task: TaskId, outcome: Outcome, now: Instant) -> Option<usize> {
        let (i, start) = self.tasks.remove(&task)?;
        let cfg = self.cfg.clone();
        let Seg::Fetching {
            total,
            pieces,
            restarts,
        } = &mut self.segs[i]
        else {
            return None;
        };
        let pi = pieces.iter().position(|p| p.start == start)?;
        let attempts = match pieces[pi].st {
            PieceSt::Running { attempts, .. } => attempts,
            _ => 0,
        };
        match outcome {
            Outcome::Got {
                len,
                total: t,
                whole,
            } => {
                if whole {
                    // A 200 with the whole segment: it is all there is.
                    if pieces[pi].end.is_some() {
                        self.no_ranges = true;
                    }
                    for p in pieces.iter() {
                        if let PieceSt::Running { task: t, .. } = p.st
                            && t != task
                        {
                            self.tasks.remove(&t);
                            self.out.push(Action::Cancel(t));
                        }
                    }
                    let held: u64 = pieces
                        .iter()
                        .filter(|p| p.st == PieceSt::Done)
                        .map(|p| piece_len(p, *total))
                        .sum();
                    self.held -= held.min(self.held);
                    self.held += len;
                    self.peak_held = self.peak_held.max(self.held);
                    if total.is_none() {
                        self.learnt(len);
                    }
                    self.segs[i] = Seg::Done { len };
                    return Some(i);
                }
                let p = &mut pieces[pi];
                if p.end.is_none() {
                    p.end = Some(start + len);
                }
                p.st = PieceSt::Done;
                self.held += len;
                self.peak_held = self.peak_held.max(self.held);
                if let Some(t) = t {
                    // Re-inserted as running for `sized`, which cuts the rest if not done yet.
                    self.tasks.insert(task, (i, start));
                    self.sized(task, t);
                    self.tasks.remove(&task);
                }
                let Seg::Fetching { pieces, total, .. } = &mut self.segs[i] else {
                    return None;
                };
                if let Some(p) = pieces.iter_mut().find(|p| p.start == start) {
                    // A first piece past the end of a short segment comes back shorter.
                    p.end = Some(start + len);
                }
                if pieces.iter().all(|p| p.st == PieceSt::Done) {
                    let len =
                        total.unwrap_or_else(|| pieces.iter().map(|p| piece_len(p, None)).sum());
                    self.segs[i] = Seg::Done { len };
                    return Some(i);
                }
                None
            }
            Outcome::Retry(why) => {
                if attempts + 1 >= cfg.max_attempts {
                    self.fail(i, format!("failed {} times: {why}", attempts + 1));
                } else {
                    let wait = cfg.backoff.saturating_mul(1 << attempts.min(16));
                    pieces[pi].st = PieceSt::Todo {
                        attempts: attempts + 1,
                        not_before: Some(now + wait),
                    };
                }
                None
            }
            Outcome::Changed(why) => {
                let r = *restarts;
                if r >= 1 {
                    self.fail(i, format!("the segment changed between fetches: {why}"));
                } else {
                    self.drop_seg(i);
                    // Started again from scratch at the next poll, its size unknown.
                    self.segs[i] = Seg::Idle;
                    self.start_pieces(i, now);
                    if let Seg::Fetching { restarts, .. } = &mut self.segs[i] {
                        *restarts = r + 1;
                    }
                }
                None
            }
            Outcome::Fatal(why) => {
                self.fail(i, why);
                None
            }
        }
    }

    fn fail(&mut self, i: usize, why: String) {
        self.drop_seg(i);
        self.segs[i] = Seg::Failed(why);
    }

    /// When to poll again without an event (a retry's backoff ends).
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        self.segs
            .iter()
            .filter_map(|s| match s {
                Seg::Fetching { pieces, .. } => Some(pieces),
                _ => None,
            })
            .flatten()
            .filter_map(|p| match p.st {
                PieceSt::Todo {
                    not_before: Some(t),
                    ..
                } if t > now => Some(t),
                _ => None,
            })
            .min()
    }
}

fn piece_len(p: &Piece, total: Option<u64>) -> u64 {
    match (p.end, total) {
        (Some(e), _) => e - p.start,
        (None, Some(t)) => t,
        (None, None) => 0,
    }
}

#[cfg(test)]
#[path = "hls_plan_tests.rs"]
mod tests;
