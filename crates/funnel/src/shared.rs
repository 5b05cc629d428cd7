//! The state the engine's scheduler and its fetches share: the planner behind one lock, the
//! running fetches' abort handles, and the two wake-ups. Its own file so that [`crate::engine`]
//! (which starts fetches) and [`crate::fetch`] (which reports to the planner) both depend on it
//! and not on each other.

use crate::origin::Origin;
use crate::planner::{Planner, TaskId};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// The planner and the abort handles of the fetches it started.
pub(crate) struct State {
    pub(crate) planner: Planner,
    pub(crate) handles: HashMap<TaskId, AbortHandle>,
}

/// Shared by the scheduler, every fetch and every reader of one engine.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// Readers wait here for bytes or errors.
    pub(crate) data: Notify,
    /// The scheduler waits here for events.
    pub(crate) sched: Notify,
    pub(crate) client: reqwest::Client,
    pub(crate) origin: Origin,
    pub(crate) stall_timeout: Duration,
    /// Set when the engine is dropped.
    pub(crate) stopped: AtomicBool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug; the planner state is still consistent enough
        // to shut down, so recover the guard instead of cascading panics.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn task_done(&self, task: TaskId) {
        self.lock().handles.remove(&task);
    }

    /// Aborts the fetches of `tasks` (those still running).
    pub(crate) fn abort(&self, st: &mut State, tasks: Vec<TaskId>) {
        for t in tasks {
            if let Some(h) = st.handles.remove(&t) {
                h.abort();
            }
        }
    }
}
