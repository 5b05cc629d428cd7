//! One clock for all media timestamps (docs/architecture.md), for video and sound alike.
//!
//! The wall-clock capture time of a unit is derived from the monotonic clock and one wall-clock
//! reading taken at start, so `captured` and `pts` never disagree and never jump backwards.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

struct Epoch {
    instant: Instant,
    system: SystemTime,
}

fn epoch() -> &'static Epoch {
    static EPOCH: OnceLock<Epoch> = OnceLock::new();
    EPOCH.get_or_init(|| Epoch {
        instant: Instant::now(),
        system: SystemTime::now(),
    })
}

/// A capture instant in both forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Monotonic time since the process's media epoch.
    pub pts: Duration,
    /// The same instant on the wall clock.
    pub wall: SystemTime,
}

/// Now, on the media clock.
pub fn now() -> Stamp {
    at(Instant::now())
}

/// A given monotonic instant on the media clock.
pub fn at(instant: Instant) -> Stamp {
    let e = epoch();
    let pts = instant.saturating_duration_since(e.instant);
    Stamp {
        pts,
        wall: e.system + pts,
    }
}

/// The wall-clock time of a `pts`.
pub fn wall_of(pts: Duration) -> SystemTime {
    epoch().system + pts
}

/// The monotonic instant of a `pts`.
pub fn instant_of(pts: Duration) -> Instant {
    epoch().instant + pts
}
