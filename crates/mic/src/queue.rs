//! The bounded hand-over between the audio callback and the consumer.

use crate::AudioChunk;
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A bounded queue whose policy on overflow is **drop the oldest chunk** (counted): the
/// callback must never block, and a consumer that fell behind wants the newest audio, not a
/// growing delay. Ends with a reason when the device stops.
#[derive(Debug)]
pub struct DropOldestQueue {
    capacity: usize,
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct State {
    chunks: VecDeque<AudioChunk>,
    dropped: u64,
    ended: Option<String>,
}

impl DropOldestQueue {
    /// A queue holding at most `capacity` chunks (at least 1).
    pub fn new(capacity: usize) -> Self {
        DropOldestQueue {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a chunk, dropping the oldest if full. Never blocks for long.
    pub fn push(&self, chunk: AudioChunk) {
        let mut s = self.lock();
        if s.chunks.len() == self.capacity {
            s.chunks.pop_front();
            s.dropped += 1;
        }
        s.chunks.push_back(chunk);
        drop(s);
        self.ready.notify_one();
    }

    /// Marks the end (device gone); chunks already queued are still delivered first.
    pub fn end(&self, reason: String) {
        let mut s = self.lock();
        s.ended.get_or_insert(reason);
        drop(s);
        self.ready.notify_all();
    }

    /// The oldest chunk, waiting up to `timeout`; `Ok(None)` on timeout, `Err(reason)` once the
    /// queue has ended and is empty.
    pub fn pop(&self, timeout: Duration) -> Result<Option<AudioChunk>, String> {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        loop {
            if let Some(c) = s.chunks.pop_front() {
                return Ok(Some(c));
            }
            if let Some(reason) = &s.ended {
                return Err(reason.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            s = self
                .ready
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Chunks dropped so far because the consumer was behind.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn chunk(v: f32) -> AudioChunk {
        AudioChunk {
            samples: vec![v],
            captured: Instant::now(),
        }
    }

    #[test]
    fn overflow_drops_the_oldest_and_counts() {
        let q = DropOldestQueue::new(2);
        for v in [1.0, 2.0, 3.0] {
            q.push(chunk(v));
        }
        assert_eq!(q.dropped(), 1);
        let got: Vec<f32> = (0..2)
            .map(|_| q.pop(Duration::ZERO).unwrap().unwrap().samples[0])
            .collect();
        assert_eq!(got, [2.0, 3.0]);
        assert!(q.pop(Duration::from_millis(1)).unwrap().is_none());
    }

    #[test]
    fn end_is_reported_after_queued_chunks() {
        let q = DropOldestQueue::new(4);
        q.push(chunk(1.0));
        q.end("unplugged".into());
        q.end("second reason is ignored".into());
        assert!(q.pop(Duration::ZERO).unwrap().is_some());
        assert_eq!(q.pop(Duration::ZERO).unwrap_err(), "unplugged");
    }

    #[test]
    fn pop_wakes_when_a_chunk_arrives() {
        let q = Arc::new(DropOldestQueue::new(4));
        let q2 = q.clone();
        let t = std::thread::spawn(move || q2.pop(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        q.push(chunk(5.0));
        assert_eq!(t.join().unwrap().unwrap().unwrap().samples[0], 5.0);
    }
}
