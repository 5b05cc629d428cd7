//! The mic crate's one error type.

/// What [`list`](crate::list), [`open`](crate::open) and a running capture can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MicError {
    /// This build has no microphone support (the `cpal` feature is off).
    #[error("{}", crate::NO_SUPPORT)]
    NoSupport,
    /// No device matches the name asked for.
    #[error("no microphone matches {wanted:?}; there are: {}", names(.available))]
    NotFound {
        /// The name asked for.
        wanted: String,
        /// Names of the input devices that exist.
        available: Vec<String>,
    },
    /// Several devices contain the name asked for, none is exactly it.
    #[error("{wanted:?} matches several microphones: {}; give the whole name", names(.matches))]
    Ambiguous {
        /// The name asked for.
        wanted: String,
        /// Every device whose name contains it.
        matches: Vec<String>,
    },
    /// The device exists but offers no way to capture that we can use.
    #[error("microphone {name:?}: {reason}")]
    Unusable {
        /// Device name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The audio system refused something.
    #[error("audio system, {context}: {reason}")]
    Backend {
        /// What we were doing.
        context: String,
        /// What it said.
        reason: String,
    },
    /// The device went away while capturing (unplugged, or its server stopped). Play silence
    /// and [`open`](crate::open) it again later.
    #[error("microphone {name:?} stopped: {reason}")]
    Disconnected {
        /// Device name.
        name: String,
        /// What the audio system said.
        reason: String,
    },
}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        return "(none)".into();
    }
    list.iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
