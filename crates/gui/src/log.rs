//! The request log in the window: the very lines the server logs on the terminal (one per
//! request, `homestream::request`, written by `homestream-server`'s access log), plus its
//! warnings and errors, caught by a `tracing` layer into a bounded ring.
//!
//! Policy: the ring keeps the newest [`CAPACITY`] lines and drops the oldest.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::layer::{Context, Layer};

/// Lines kept.
pub const CAPACITY: usize = 500;

/// The target of the server's one-line-per-request log.
pub const REQUEST_TARGET: &str = "homestream::request";

/// A bounded ring of log lines shared by the layer and the window.
#[derive(Debug, Default)]
pub struct LogRing {
    inner: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    lines: VecDeque<String>,
    /// Lines ever pushed, so a view can tell that something new arrived.
    pushed: u64,
    repaint: Option<eframe::egui::Context>,
}

impl LogRing {
    /// The process's ring, fed by [`layer`].
    pub fn global() -> Arc<LogRing> {
        static RING: OnceLock<Arc<LogRing>> = OnceLock::new();
        RING.get_or_init(Default::default).clone()
    }

    /// Appends a line, dropping the oldest beyond [`CAPACITY`].
    pub fn push(&self, line: String) {
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if r.lines.len() == CAPACITY {
            r.lines.pop_front();
        }
        r.lines.push_back(line);
        r.pushed += 1;
        if let Some(ctx) = &r.repaint {
            ctx.request_repaint();
        }
    }

    /// The lines now, oldest first, and how many were ever pushed.
    pub fn snapshot(&self) -> (Vec<String>, u64) {
        let r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (r.lines.iter().cloned().collect(), r.pushed)
    }

    /// Asks `ctx` to repaint whenever a line arrives.
    pub fn set_repaint(&self, ctx: eframe::egui::Context) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).repaint = Some(ctx);
    }
}

/// The layer that feeds [`LogRing::global`]: request lines and warnings/errors.
pub fn layer() -> RingLayer {
    RingLayer(LogRing::global())
}

/// See [`layer`].
pub struct RingLayer(Arc<LogRing>);

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let request = meta.target() == REQUEST_TARGET;
        // homestream's own warnings and errors (a port taken, a source failing), not those
        // of the windowing libraries.
        let ours = meta.target().starts_with("homestream");
        let warning = *meta.level() <= Level::WARN;
        if !(request || ours && warning) {
            return;
        }
        let mut line = String::new();
        // The terminal's timestamp format (tracing-subscriber's default), so lines match.
        let _ = SystemTime.format_time(&mut Writer::new(&mut line));
        if !request {
            let _ = write!(line, " {}", meta.level());
        }
        let mut v = LineVisitor(&mut line);
        event.record(&mut v);
        self.0.push(line);
    }
}

/// `message k=v k=v`, as the terminal shows an event.
struct LineVisitor<'a>(&'a mut String);

impl Visit for LineVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn keeps_request_lines_and_warnings_and_drops_the_oldest() {
        let ring = Arc::new(LogRing::default());
        let sub = tracing_subscriber::registry().with(RingLayer(ring.clone()));
        tracing::subscriber::with_default(sub, || {
            tracing::info!(target: "homestream::request", "{} {} {} {}", "127.0.0.1:5000", "GET", "/", 200);
            tracing::info!(stream = "demo", "viewer joined");
            tracing::warn!(port = 8001, "port 8000 is in use");
            tracing::warn!(target: "winit::platform", "XRandR reported a display of 0 mm");
        });
        let (lines, pushed) = ring.snapshot();
        assert_eq!(pushed, 2, "{lines:?}");
        assert!(
            lines[0].ends_with("Z 127.0.0.1:5000 GET / 200"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].ends_with(" WARN port 8000 is in use port=8001"),
            "{}",
            lines[1]
        );
        for i in 0..CAPACITY + 5 {
            ring.push(format!("line {i}"));
        }
        let (lines, pushed) = ring.snapshot();
        assert_eq!(lines.len(), CAPACITY);
        assert_eq!(lines[0], "line 5");
        assert_eq!(pushed, CAPACITY as u64 + 7);
    }
}
