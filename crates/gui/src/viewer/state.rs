//! The rules of the `watch --show` window, apart from drawing and sockets: which frame to
//! decode (only the newest, only when it is newer than the one shown, never while paused),
//! the rates received and shown, the overlay's text, and what each key does. Time is an
//! argument.
//!
//! Seed 004's accumulation problem (a slow display falls further and further behind) cannot
//! happen here by construction: the capture keeps one frame (the newest) and the window asks
//! for it only when it is ready to draw, so a slow window skips frames instead of queueing them.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The window over which rates are measured.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Space: freeze the picture (frames are still received and counted).
    TogglePause,
    /// `s`: save the frame shown.
    Save,
    /// `f`: full screen on/off.
    ToggleFullscreen,
    /// `q` or Esc: close the window.
    Quit,
}

/// The keys the window knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Space bar.
    Space,
    /// `s`.
    S,
    /// `f`.
    F,
    /// `q`.
    Q,
    /// Escape.
    Escape,
}

/// The action of a key.
pub fn action(key: Key) -> Action {
    match key {
        Key::Space => Action::TogglePause,
        Key::S => Action::Save,
        Key::F => Action::ToggleFullscreen,
        Key::Q | Key::Escape => Action::Quit,
    }
}

/// The frame on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// Its sequence number in the stream.
    pub seq: u64,
    /// Its size.
    pub width: usize,
    /// See `width`.
    pub height: usize,
    /// Capture to receipt (from `X-Timestamp`), when the server sends it.
    pub delay: Option<Duration>,
}

/// The window's state.
#[derive(Debug, Default)]
pub struct ViewerState {
    /// The picture is frozen.
    pub paused: bool,
    /// Full screen.
    pub fullscreen: bool,
    /// The frame on screen.
    pub shown: Option<Shown>,
    /// Sequence numbers seen, with when: the received rate counts the gaps too.
    received: VecDeque<(Instant, u64)>,
    drawn: VecDeque<Instant>,
    /// The last save's outcome, for the overlay.
    pub note: Option<String>,
}

impl ViewerState {
    /// The newest frame the capture holds now has sequence number `seq`: should it be decoded
    /// and shown? Only when newer than the one shown and not paused.
    pub fn wants(&mut self, seq: u64, now: Instant) -> bool {
        if self.received.back().is_none_or(|(_, s)| *s < seq) {
            self.received.push_back((now, seq));
        }
        trim(&mut self.received, now, |e| e.0);
        !self.paused && self.shown.is_none_or(|s| s.seq < seq)
    }

    /// A frame was decoded and put on screen.
    pub fn showed(&mut self, frame: Shown, now: Instant) {
        self.shown = Some(frame);
        self.drawn.push_back(now);
        trim(&mut self.drawn, now, |t| *t);
    }

    /// Frames per second that arrived (from sequence numbers, so frames the window never
    /// looked at count too): over the last second or so, up to `now`.
    pub fn fps_received(&self, now: Instant) -> f64 {
        match (self.received.front(), self.received.back()) {
            (Some(first), Some(last)) => per_sec(last.1 - first.1, now - first.0),
            _ => 0.0,
        }
    }

    /// Frames per second put on screen.
    pub fn fps_shown(&self, now: Instant) -> f64 {
        match self.drawn.front() {
            Some(first) => per_sec(self.drawn.len() as u64 - 1, now - *first),
            None => 0.0,
        }
    }

    /// A key was pressed: what the window must do beyond the state kept here.
    pub fn key(&mut self, key: Key) -> Action {
        let a = action(key);
        match a {
            Action::TogglePause => self.paused = !self.paused,
            Action::ToggleFullscreen => self.fullscreen = !self.fullscreen,
            Action::Save | Action::Quit => {}
        }
        a
    }

    /// `received 30 fps · shown 29 fps · 1280x720 · delay 42 ms` (and `paused`).
    pub fn overlay(&self, now: Instant) -> String {
        let mut parts = vec![
            format!("received {:.0} fps", self.fps_received(now)),
            format!("shown {:.0} fps", self.fps_shown(now)),
        ];
        if let Some(s) = &self.shown {
            parts.push(format!("{}x{}", s.width, s.height));
            if let Some(d) = s.delay {
                parts.push(format!("delay {} ms", d.as_millis()));
            }
        } else {
            parts.push("waiting for the first frame".into());
        }
        if self.paused {
            parts.push("paused (space)".into());
        }
        if let Some(n) = &self.note {
            parts.push(n.clone());
        }
        parts.join(" · ")
    }
}

fn per_sec(n: u64, over: Duration) -> f64 {
    if over.is_zero() {
        0.0
    } else {
        n as f64 / over.as_secs_f64()
    }
}

fn trim<T>(q: &mut VecDeque<T>, now: Instant, at: impl Fn(&T) -> Instant) {
    // Keep one sighting older than the window, so rates count across its edge.
    while q.len() > 1
        && q.get(1)
            .is_some_and(|e| now.saturating_duration_since(at(e)) > RATE_WINDOW)
    {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn only_newer_frames_are_decoded_and_none_while_paused() {
        let t = Instant::now();
        let mut v = ViewerState::default();
        assert!(v.wants(0, t));
        v.showed(
            Shown {
                seq: 0,
                width: 640,
                height: 480,
                delay: Some(ms(40)),
            },
            t,
        );
        assert!(
            !v.wants(0, t + ms(5)),
            "the same frame is not decoded twice"
        );
        assert!(v.wants(3, t + ms(100)), "the newest, skipping 1 and 2");
        assert_eq!(v.key(Key::Space), Action::TogglePause);
        assert!(!v.wants(4, t + ms(130)), "paused: nothing is decoded");
        v.key(Key::Space);
        assert!(v.wants(5, t + ms(160)));
    }

    #[test]
    fn a_slow_window_shows_fewer_frames_than_arrive_and_says_so() {
        let t = Instant::now();
        let mut v = ViewerState::default();
        // 30 frames a second arrive for two seconds; the window draws every 100 ms only.
        for k in 0..=20u64 {
            let now = t + ms(k * 100);
            let newest = k * 3;
            if v.wants(newest, now) {
                v.showed(
                    Shown {
                        seq: newest,
                        width: 1280,
                        height: 720,
                        delay: Some(ms(35)),
                    },
                    now,
                );
            }
        }
        let now = t + ms(2000);
        assert!((v.fps_received(now) - 30.0).abs() < 1e-9);
        assert!((v.fps_shown(now) - 10.0).abs() < 1e-9);
        assert_eq!(
            v.overlay(now),
            "received 30 fps · shown 10 fps · 1280x720 · delay 35 ms"
        );
        // Nothing kept grows with the stream's length.
        assert!(v.received.len() <= 12 && v.drawn.len() <= 12);
    }

    #[test]
    fn keys() {
        let mut v = ViewerState::default();
        assert_eq!(v.key(Key::F), Action::ToggleFullscreen);
        assert!(v.fullscreen);
        assert_eq!(v.key(Key::S), Action::Save);
        assert_eq!(v.key(Key::Q), Action::Quit);
        assert_eq!(v.key(Key::Escape), Action::Quit);
        v.key(Key::Space);
        assert!(v.overlay(Instant::now()).contains("paused (space)"));
        assert!(
            v.overlay(Instant::now())
                .contains("waiting for the first frame")
        );
    }
}
