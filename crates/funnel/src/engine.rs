//! The async shell around the [`Planner`]: one scheduler task that starts and cancels fetches,
//! and reader handles that wait for bytes. All decisions are the planner's; this file only turns
//! them into tokio tasks, wake-ups and aborts.

use crate::error::{Error, Result};
use crate::fetch;
use crate::origin::Origin;
use crate::planner::{PlanConfig, Planner, Read, ReaderId, TaskId};
use crate::shared::{Shared, State};
use bytes::Bytes;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub plan: PlanConfig,
    /// A fetch that receives nothing for this long is abandoned and retried.
    pub stall_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            plan: PlanConfig::default(),
            stall_timeout: Duration::from_secs(10),
        }
    }
}

/// A running funnel engine for one origin. Cloning shares it; dropping the last clone stops it.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    _stop: Arc<StopOnDrop>,
}

struct StopOnDrop(Arc<Shared>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        let mut st = self.0.lock();
        let all: Vec<TaskId> = st.handles.keys().copied().collect();
        self.0.abort(&mut st, all);
        drop(st);
        self.0.sched.notify_one();
        self.0.data.notify_waiters();
    }
}

impl Engine {
    /// Starts the scheduler for `origin`. Must be called inside a tokio runtime.
    pub fn start(client: reqwest::Client, origin: Origin, cfg: EngineConfig) -> Engine {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                planner: Planner::new(cfg.plan),
                handles: HashMap::new(),
            }),
            data: Notify::new(),
            sched: Notify::new(),
            client,
            origin,
            stall_timeout: cfg.stall_timeout,
            stopped: AtomicBool::new(false),
        });
        tokio::spawn(schedule(shared.clone()));
        Engine {
            _stop: Arc::new(StopOnDrop(shared.clone())),
            shared,
        }
    }

    pub fn origin(&self) -> &Origin {
        &self.shared.origin
    }

    /// Opens a reader for `want`; see [`Planner::open`].
    pub fn open(&self, want: Vec<Range<u64>>, ordered: bool, prefill: Option<Bytes>) -> Reader {
        let mut st = self.shared.lock();
        let (id, cancel) = st.planner.open(want, ordered, prefill);
        self.shared.abort(&mut st, cancel);
        drop(st);
        self.shared.sched.notify_one();
        Reader {
            shared: self.shared.clone(),
            id,
        }
    }

    /// Fetches in flight now.
    pub fn running(&self) -> usize {
        self.shared.lock().planner.running()
    }

    /// Most bytes held in memory at once so far.
    pub fn peak_held(&self) -> u64 {
        self.shared.lock().planner.peak_held()
    }
}

/// A reader's handle: yields its bytes; dropping it cancels its fetches.
pub struct Reader {
    shared: Arc<Shared>,
    id: ReaderId,
}

impl Reader {
    /// Next bytes and their offset, `None` at the end.
    pub async fn next(&mut self) -> Result<Option<(u64, Bytes)>> {
        let shared = self.shared.clone();
        loop {
            let notified = shared.data.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = self.try_next() {
                return r;
            }
            if self.shared.stopped.load(Ordering::SeqCst) {
                return Err(Error::Cancelled);
            }
            notified.await;
        }
    }

    /// Next bytes if some are ready now; `None` if the caller must wait.
    pub fn try_next(&mut self) -> Option<Result<Option<(u64, Bytes)>>> {
        let r = self.shared.lock().planner.read(self.id);
        match r {
            Read::Data { offset, bytes } => {
                // Reading frees budget: let the scheduler plan further.
                self.shared.sched.notify_one();
                Some(Ok(Some((offset, bytes))))
            }
            Read::Pending => None,
            Read::Eof => Some(Ok(None)),
            Read::Failed(e) => Some(Err(e)),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        let cancel = st.planner.close(self.id);
        self.shared.abort(&mut st, cancel);
        drop(st);
        self.shared.sched.notify_one();
    }
}

/// The scheduler: asks the planner for work whenever something happened or a timer is due.
async fn schedule(shared: Arc<Shared>) {
    let mut fatal_logged = false;
    while !shared.stopped.load(Ordering::SeqCst) {
        let notified = shared.sched.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = Instant::now();
        let wake = {
            let mut st = shared.lock();
            let cancel = st.planner.drain_tasks_on_fatal();
            shared.abort(&mut st, cancel);
            if let Some(e) = st.planner.fatal() {
                if !fatal_logged {
                    tracing::error!("funnel stopped: {e}");
                    fatal_logged = true;
                }
                shared.data.notify_waiters();
            }
            for a in st.planner.poll(now) {
                let task = a.task;
                let h = tokio::spawn(fetch::run(shared.clone(), a));
                st.handles.insert(task, h.abort_handle());
            }
            st.planner.next_wakeup(now)
        };
        match wake {
            Some(at) => {
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep_until(at.into()) => {}
                }
            }
            None => notified.await,
        }
    }
}
