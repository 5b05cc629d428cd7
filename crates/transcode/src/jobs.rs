//! The ffmpeg jobs that make HLS segments: at most `max` at once, each started at the segment
//! a viewer asked for, running at most [`AHEAD`] segments past the last one asked for (then its
//! pipe fills and ffmpeg waits, costing nothing), and stopped once nobody has asked it for
//! anything for [`IDLE`]. A new job of a film pauses that film's jobs nobody waits on (a
//! seek: the new place gets the cores) until they are asked for something again. A job is a
//! task owning its ffmpeg child: when the task ends or is aborted, the child is killed
//! (`kill_on_drop`); if the whole server dies, ffmpeg's next write meets a closed pipe and it
//! exits.

use crate::cache::{Cache, FileKey};
use crate::cutter::{Cut, Cutter};
use crate::playlist::Grid;
use crate::tools::last_line;
use crate::{Error, HlsPlan};
use std::ffi::OsString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

/// How many segments a job makes past the last one a viewer asked for.
pub const AHEAD: usize = 5;
/// A job nobody asked anything of for this long is stopped.
pub const IDLE: Duration = Duration::from_secs(20);
/// A segment a running job is this close to is waited for rather than started afresh.
const NEAR: usize = 2;
/// A job of the same stream not asked anything for this long may be stopped for a new one.
const MOVED_ON: Duration = Duration::from_secs(2);
/// How long a request waits for its segment.
const WAIT: Duration = Duration::from_secs(60);

/// What a job has made so far.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// The newest segment written to the cache.
    done: Option<usize>,
    /// The job ended; with the error when it failed.
    ended: Option<Result<(), String>>,
}

/// How far a job may run: past the furthest segment asked for, by `ahead` segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Allowed {
    wanted: usize,
    /// [`AHEAD`], or 0 while the job gives way to a new job of its stream (a seek).
    ahead: usize,
}

impl Allowed {
    fn limit(self) -> usize {
        self.wanted + self.ahead
    }
}

/// One running ffmpeg.
#[derive(Debug)]
struct Job {
    id: u64,
    file: FileKey,
    plan: HlsPlan,
    first: usize,
    args: Vec<String>,
    progress: watch::Receiver<Progress>,
    /// How far it may run, and when anything was last asked.
    allowed: watch::Sender<Allowed>,
    last_asked: Mutex<Instant>,
    /// Requests waiting on this job now: a job someone waits for is never stopped for room.
    waiters: std::sync::atomic::AtomicUsize,
    task: tokio::task::AbortHandle,
}

/// Counts a request as waiting on a job while it lives.
struct Waiting<'a>(&'a Job);

impl<'a> Waiting<'a> {
    fn on(job: &'a Job) -> Waiting<'a> {
        job.waiters.fetch_add(1, Ordering::Relaxed);
        Waiting(job)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Job {
    fn touch(&self, segment: usize) {
        *self.last_asked.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.allowed.send_if_modified(|a| {
            let before = *a;
            a.wanted = a.wanted.max(segment);
            a.ahead = AHEAD;
            *a != before
        });
    }

    fn idle_for(&self) -> Duration {
        self.last_asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    /// How many segments past the furthest one asked for this job has made.
    fn lead(&self) -> usize {
        let done = self.progress.borrow().done;
        done.map_or(0, |d| d.saturating_sub(self.allowed.borrow().wanted))
    }

    fn running(&self) -> bool {
        !self.task.is_finished() && self.progress.borrow().ended.is_none()
    }
}

/// ffmpeg's arguments for a job starting at a segment.
pub type ArgsFn = Arc<dyn Fn(usize) -> Vec<OsString> + Send + Sync>;

/// What a job must know to run.
#[derive(Clone)]
pub struct JobSpec {
    pub file: FileKey,
    pub plan: HlsPlan,
    pub grid: Arc<Grid>,
    pub args: ArgsFn,
}

/// The job table.
#[derive(Debug)]
pub struct Jobs {
    ffmpeg: std::path::PathBuf,
    cache: Arc<Cache>,
    max: usize,
    jobs: Mutex<Vec<Arc<Job>>>,
    next_id: AtomicU64,
}

impl Jobs {
    pub fn new(ffmpeg: std::path::PathBuf, cache: Arc<Cache>, max: usize) -> Jobs {
        Jobs {
            ffmpeg,
            cache,
            max: max.max(1),
            jobs: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Segment `index` of `spec`'s stream: from the cache, from a job about to make it, or from
    /// a new job started there.
    pub async fn segment(self: &Arc<Self>, spec: &JobSpec, index: usize) -> Result<Vec<u8>, Error> {
        if index >= spec.grid.len() {
            return Err(Error::Missing("segment"));
        }
        let name = format!("{}/{index}.m4s", spec.plan.key());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(b) = self.cache.get(&spec.file, &name) {
                if let Some(job) = self.find(spec, index) {
                    job.touch(index);
                }
                return Ok(b);
            }
            let job = match self.find(spec, index) {
                Some(job) => job,
                None => self.start(spec, index)?,
            };
            job.touch(index);
            let waiting = Waiting::on(&job);
            let mut progress = job.progress.clone();
            let left = deadline.saturating_duration_since(Instant::now());
            let made = tokio::time::timeout(
                left,
                progress.wait_for(|p| p.done.is_some_and(|d| d >= index) || p.ended.is_some()),
            )
            .await;
            drop(waiting);
            let p = match made {
                Ok(Ok(p)) => p.clone(),
                // The job was stopped (to make room, or shut down): look again.
                Ok(Err(_)) if Instant::now() < deadline => continue,
                _ => {
                    return Err(Error::Timeout {
                        tool: "ffmpeg",
                        path: spec.file.path.clone(),
                        secs: WAIT.as_secs(),
                    });
                }
            };
            if let Some(b) = self.cache.get(&spec.file, &name) {
                return Ok(b);
            }
            match p.ended {
                Some(Err(message)) => {
                    return Err(Error::Tool {
                        tool: "ffmpeg",
                        path: spec.file.path.clone(),
                        message,
                    });
                }
                // Ended or went past without making it (no fragment started in it): nothing
                // more will come from this file for that segment.
                _ if p.done.is_some_and(|d| d >= index) || p.ended.is_some() => {
                    return Err(Error::Missing("segment"));
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(Error::Missing("segment"));
            }
        }
    }

    /// The init segment: from the cache, else from the job that makes segment 0 (or any).
    pub async fn init(self: &Arc<Self>, spec: &JobSpec) -> Result<Vec<u8>, Error> {
        let name = format!("{}/init.mp4", spec.plan.key());
        if let Some(b) = self.cache.get(&spec.file, &name) {
            return Ok(b);
        }
        let running = self.jobs_of(spec).into_iter().next();
        let job = match running {
            Some(j) => j,
            None => self.start(spec, 0)?,
        };
        job.touch(job.first);
        let mut progress = job.progress.clone();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(b) = self.cache.get(&spec.file, &name) {
                return Ok(b);
            }
            if let Some(Err(message)) = progress.borrow().ended.clone() {
                return Err(Error::Tool {
                    tool: "ffmpeg",
                    path: spec.file.path.clone(),
                    message,
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || progress.borrow().ended.is_some() {
                return Err(Error::Missing("init segment"));
            }
            // The init is written before any segment: poll briefly until it is.
            let _ =
                tokio::time::timeout(left.min(Duration::from_millis(50)), progress.changed()).await;
        }
    }

    fn jobs_of(&self, spec: &JobSpec) -> Vec<Arc<Job>> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.iter()
            .filter(|j| j.running() && j.file == spec.file && j.plan == spec.plan)
            .cloned()
            .collect()
    }

    /// A running job of this stream that will make `index` soon.
    fn find(&self, spec: &JobSpec, index: usize) -> Option<Arc<Job>> {
        self.jobs_of(spec).into_iter().find(|j| {
            let at = j.progress.borrow().done.map_or(j.first, |d| d + 1);
            j.first <= index && index <= at + NEAR
        })
    }

    /// Starts a job at `index`, making room when every slot is taken by stopping, in this
    /// order: a job idle for [`IDLE`]; the least recently asked job of the same stream that
    /// nobody waits on and nobody asked for [`MOVED_ON`] (its viewer has seeked away); a job
    /// of any stream that nobody waits on and that is parked (it has made nearly [`AHEAD`]
    /// segments past the last one asked for, so its viewer has that much in the cache and
    /// gets a new job when it runs out: someone opening another film need not wait for the
    /// last one's job to idle out). Else every slot is busy.
    fn start(self: &Arc<Self>, spec: &JobSpec, index: usize) -> Result<Arc<Job>, Error> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.retain(|j| j.running());
        if jobs.len() >= self.max {
            let free = |j: &Arc<Job>| j.waiters.load(Ordering::Relaxed) == 0;
            let idle = jobs.iter().position(|j| j.idle_for() >= IDLE);
            let same = || {
                jobs.iter()
                    .enumerate()
                    .filter(|(_, j)| j.file == spec.file && j.plan == spec.plan)
                    .filter(|(_, j)| free(j) && j.idle_for() >= MOVED_ON)
                    .max_by_key(|(_, j)| j.idle_for())
                    .map(|(i, _)| i)
            };
            let parked = || {
                jobs.iter()
                    .enumerate()
                    .filter(|(_, j)| free(j) && j.lead() + 1 >= AHEAD)
                    .max_by_key(|(_, j)| j.lead())
                    .map(|(i, _)| i)
            };
            match idle.or_else(same).or_else(parked) {
                Some(i) => {
                    let j = jobs.remove(i);
                    tracing::info!(target: "homestream::transcode", "job {} stopped to make room", j.id);
                    j.task.abort();
                }
                None => return Err(Error::Busy(self.max)),
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let args = (spec.args)(index);
        let (progress_tx, progress) = watch::channel(Progress::default());
        let (allowed, allowed_rx) = watch::channel(Allowed {
            wanted: index,
            ahead: AHEAD,
        });
        let runner = Runner {
            id,
            ffmpeg: self.ffmpeg.clone(),
            args: args.clone(),
            cache: Arc::clone(&self.cache),
            spec: spec.clone(),
            first: index,
            progress: progress_tx,
            allowed: allowed_rx,
        };
        let task = tokio::spawn(runner.run()).abort_handle();
        let job = Arc::new(Job {
            id,
            file: spec.file.clone(),
            plan: spec.plan,
            first: index,
            args: args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            progress,
            allowed,
            last_asked: Mutex::new(Instant::now()),
            waiters: std::sync::atomic::AtomicUsize::new(0),
            task,
        });
        tracing::info!(target: "homestream::transcode",
            "job {id} started: {} ({}) from segment {index}", spec.file.path.display(), spec.plan.key());
        // The other jobs of this stream that nobody waits on give way: most likely this is
        // their viewer's seek, and the new place should have both cores. Another viewer of
        // theirs asking for anything sets them going again.
        for j in jobs
            .iter()
            .filter(|j| j.file == spec.file && j.plan == spec.plan)
            .filter(|j| j.waiters.load(Ordering::Relaxed) == 0)
        {
            j.allowed.send_modify(|a| a.ahead = 0);
        }
        jobs.push(Arc::clone(&job));
        // Reaper: stops the job once idle. Holds only a weak handle, so a finished job goes.
        let weak = Arc::downgrade(&job);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let Some(j) = weak.upgrade() else { return };
                if !j.running() {
                    return;
                }
                if j.idle_for() >= IDLE {
                    tracing::info!(target: "homestream::transcode", "job {} stopped: nobody is watching", j.id);
                    j.task.abort();
                    return;
                }
            }
        });
        Ok(job)
    }

    /// Stops every job (server shutdown).
    pub fn stop_all(&self) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        for j in jobs.drain(..) {
            j.task.abort();
        }
    }

    /// The running jobs, for `/api/status`.
    pub fn status(&self) -> Vec<serde_json::Value> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.iter()
            .filter(|j| j.running())
            .map(|j| {
                serde_json::json!({
                    "id": j.id,
                    "file": j.file.path.file_name().map(|n| n.to_string_lossy().into_owned()),
                    "plan": j.plan.key(),
                    "mode": j.plan.mode(),
                    "first_segment": j.first,
                    "done_segment": j.progress.borrow().done,
                    "idle_secs": j.idle_for().as_secs_f64(),
                    "args": j.args,
                })
            })
            .collect()
    }

    /// How many jobs run now.
    pub fn running(&self) -> usize {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.iter().filter(|j| j.running()).count()
    }
}

/// The task of one job.
struct Runner {
    id: u64,
    ffmpeg: std::path::PathBuf,
    args: Vec<OsString>,
    cache: Arc<Cache>,
    spec: JobSpec,
    first: usize,
    progress: watch::Sender<Progress>,
    allowed: watch::Receiver<Allowed>,
}

impl Runner {
    async fn run(mut self) {
        let result = self.produce().await;
        let id = self.id;
        match &result {
            Ok(()) => tracing::info!(target: "homestream::transcode", "job {id} finished"),
            Err(e) => tracing::warn!(target: "homestream::transcode", "job {id} failed: {e}"),
        }
        self.progress.send_modify(|p| p.ended = Some(result));
    }

    async fn produce(&mut self) -> Result<(), String> {
        let mut child = tokio::process::Command::new(&self.ffmpeg)
            .args(&self.args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start ffmpeg: {e}"))?;
        let mut stdout = child.stdout.take().ok_or("ffmpeg has no stdout")?;
        let mut stderr = child.stderr.take().ok_or("ffmpeg has no stderr")?;
        // Only the end of stderr is kept: it says why ffmpeg failed.
        let errors = tokio::spawn(async move {
            let mut tail = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 16_384 {
                    tail.drain(..tail.len() - 8_192);
                }
            }
            tail
        });
        let start = self.spec.grid.start(self.first).unwrap_or(0.0);
        let mut cutter = Cutter::new((*self.spec.grid).clone(), start);
        let key = self.spec.plan.key();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            // Throttle: wait while this job is far enough ahead of its viewers.
            let at = cutter
                .position_secs()
                .map_or(self.first, |t| self.spec.grid.segment_at(t));
            if at > self.allowed.borrow().limit()
                && self.allowed.wait_for(|a| at <= a.limit()).await.is_err()
            {
                return Ok(());
            }
            let n = stdout.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            for cut in cutter.push(&buf[..n]).map_err(|e| e.to_string())? {
                self.store(&key, cut)?;
            }
        }
        let status = child.wait().await.map_err(|e| e.to_string())?;
        let tail = errors.await.unwrap_or_default();
        if !status.success() {
            return Err(last_line(&tail));
        }
        // Only a job that ran to the file's end has made its last segment whole.
        for cut in cutter.finish() {
            self.store(&key, cut)?;
        }
        Ok(())
    }

    fn store(&self, key: &str, cut: Cut) -> Result<(), String> {
        match cut {
            Cut::Init(bytes) => {
                let name = format!("{key}/init.mp4");
                // The first job's init stands: a later one has the same codec setup.
                if !self.cache.path(&self.spec.file, &name).exists() {
                    self.cache
                        .put(&self.spec.file, &name, &bytes)
                        .map_err(|e| e.to_string())?;
                }
                self.progress.send_modify(|_| {});
            }
            Cut::Segment { index, bytes } => {
                // A job that started before its first segment (a seek lands on an earlier
                // keyframe) made a piece of the one before: not whole, so not kept.
                if index >= self.first {
                    let name = format!("{key}/{index}.m4s");
                    self.cache
                        .put(&self.spec.file, &name, &bytes)
                        .map_err(|e| e.to_string())?;
                }
                self.progress
                    .send_modify(|p| p.done = Some(index.max(p.done.unwrap_or(0))));
            }
        }
        Ok(())
    }
}
