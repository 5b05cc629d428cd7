//! The hub: one producer, any number of consumers, each a cursor into shared units.
//!
//! The hub keeps the last few units in a bounded ring (the only queue; its bound is the
//! capacity given at construction) and wakes consumers through a `tokio::sync::watch` of the
//! newest sequence number. Consumers never hold a copy of a frame, only `Arc`s of the units
//! the ring still holds or that they are sending. What a consumer that falls behind gets is
//! its [`LagPolicy`], named in the type rather than scattered in handlers (docs/architecture.md).

use crate::unit::MediaUnit;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// What a consumer that is behind gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LagPolicy {
    /// Always the newest unit; everything in between is skipped (MJPEG, snapshots).
    SkipToNewest,
    /// Every unit in order while they are in the ring; once behind, the newest keyframe and on
    /// from there (H.264).
    SkipToKeyframe,
    /// Every unit in order; once behind, [`HubError::Lagged`] (recording, where a gap is fatal).
    Disconnect,
}

/// Why a cursor stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// The hub was closed by its owner.
    #[error("the stream has ended")]
    Closed,
    /// A [`LagPolicy::Disconnect`] consumer fell out of the ring.
    #[error("consumer fell {missed} units behind")]
    Lagged {
        /// Units it would have skipped.
        missed: u64,
    },
}

struct Ring {
    units: VecDeque<Arc<MediaUnit>>,
    next_seq: u64,
    closed: bool,
}

struct Inner {
    ring: Mutex<Ring>,
    capacity: usize,
    newest: watch::Sender<u64>,
    /// Payload bytes ever published (for bitrates).
    bytes: AtomicU64,
}

/// A fan-out point for one stream's units. Cheap to clone (a handle).
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("capacity", &self.inner.capacity)
            .finish()
    }
}

impl Hub {
    /// A hub that keeps the newest `capacity` units (at least 1).
    pub fn new(capacity: usize) -> Self {
        let (newest, _) = watch::channel(0);
        Hub {
            inner: Arc::new(Inner {
                ring: Mutex::new(Ring {
                    units: VecDeque::with_capacity(capacity.max(1)),
                    next_seq: 1,
                    closed: false,
                }),
                capacity: capacity.max(1),
                newest,
                bytes: AtomicU64::new(0),
            }),
        }
    }

    fn ring(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding this lock leaves the ring consistent (every method mutates it
        // in one step), so a poisoned lock is still usable.
        self.inner.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a unit; its `seq` is overwritten with the hub's next sequence number, which is
    /// returned. The oldest unit leaves the ring when it is full (policy: drop oldest).
    pub fn publish(&self, mut unit: MediaUnit) -> u64 {
        self.inner
            .bytes
            .fetch_add(unit.payload.len() as u64, Ordering::Relaxed);
        let seq = {
            let mut ring = self.ring();
            unit.seq = ring.next_seq;
            ring.next_seq += 1;
            if ring.units.len() == self.inner.capacity {
                ring.units.pop_front();
            }
            ring.units.push_back(Arc::new(unit));
            ring.closed = false;
            unit_seq(&ring)
        };
        self.inner.newest.send_replace(seq);
        seq
    }

    /// Forgets the held units (a released source must not show a stale frame to the next
    /// viewer). Sequence numbers keep counting.
    pub fn clear(&self) {
        self.ring().units.clear();
    }

    /// Ends every cursor's stream once it has what it can get.
    pub fn close(&self) {
        self.ring().closed = true;
        self.inner.newest.send_modify(|_| {});
    }

    /// The newest unit, if any.
    pub fn latest(&self) -> Option<Arc<MediaUnit>> {
        self.ring().units.back().cloned()
    }

    /// The newest keyframe held, if any.
    pub fn latest_keyframe(&self) -> Option<Arc<MediaUnit>> {
        self.ring().units.iter().rev().find(|u| u.keyframe).cloned()
    }

    /// Payload bytes published since the hub was made.
    pub fn bytes_published(&self) -> u64 {
        self.inner.bytes.load(Ordering::Relaxed)
    }

    /// The sequence number the next published unit will get.
    pub fn next_seq(&self) -> u64 {
        self.ring().next_seq
    }

    /// A consumer. `SkipToNewest` starts at the newest held unit, `SkipToKeyframe` at the
    /// newest held keyframe, `Disconnect` at the next unit published.
    pub fn subscribe(&self, policy: LagPolicy) -> Cursor {
        let mut rx = self.inner.newest.subscribe();
        rx.mark_changed();
        let next = {
            let ring = self.ring();
            match policy {
                LagPolicy::SkipToNewest => ring.units.back().map_or(ring.next_seq, |u| u.seq),
                LagPolicy::SkipToKeyframe => ring
                    .units
                    .iter()
                    .rev()
                    .find(|u| u.keyframe)
                    .map_or(ring.next_seq, |u| u.seq),
                LagPolicy::Disconnect => ring.next_seq,
            }
        };
        Cursor {
            hub: self.clone(),
            rx,
            next,
            policy,
            need_keyframe: false,
            skipped: 0,
        }
    }

    /// Number of live cursors.
    pub fn consumers(&self) -> usize {
        self.inner.newest.receiver_count()
    }
}

fn unit_seq(ring: &Ring) -> u64 {
    ring.units.back().map_or(0, |u| u.seq)
}

/// One consumer's position in a [`Hub`].
pub struct Cursor {
    hub: Hub,
    rx: watch::Receiver<u64>,
    next: u64,
    policy: LagPolicy,
    need_keyframe: bool,
    skipped: u64,
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("next", &self.next)
            .field("policy", &self.policy)
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl Cursor {
    /// Units this consumer skipped so far under its policy.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The policy this cursor follows.
    pub fn policy(&self) -> LagPolicy {
        self.policy
    }

    /// The next unit under this cursor's policy, without waiting.
    pub fn try_next(&mut self) -> Result<Option<Arc<MediaUnit>>, HubError> {
        let ring = self.hub.ring();
        let (Some(first), Some(last)) = (ring.units.front(), ring.units.back()) else {
            return if ring.closed {
                Err(HubError::Closed)
            } else {
                Ok(None)
            };
        };
        let (first, last) = (first.seq, last.seq);
        if self.next > last {
            return if ring.closed {
                Err(HubError::Closed)
            } else {
                Ok(None)
            };
        }
        let unit = match self.policy {
            LagPolicy::SkipToNewest => ring.units.back().cloned(),
            LagPolicy::Disconnect => {
                if self.next < first {
                    return Err(HubError::Lagged {
                        missed: first - self.next,
                    });
                }
                ring.units.get((self.next - first) as usize).cloned()
            }
            LagPolicy::SkipToKeyframe => {
                if self.next < first {
                    self.need_keyframe = true;
                }
                let from = self.next.max(first);
                let start = (from - first) as usize;
                if self.need_keyframe {
                    // The newest keyframe at or after our position, if the ring holds one.
                    let found = ring.units.iter().skip(start).rev().find(|u| u.keyframe);
                    match found {
                        Some(u) => Some(u.clone()),
                        None => {
                            self.skipped += last + 1 - self.next;
                            self.next = last + 1;
                            return Ok(None);
                        }
                    }
                } else {
                    ring.units.get(start).cloned()
                }
            }
        };
        drop(ring);
        let Some(unit) = unit else { return Ok(None) };
        self.skipped += unit.seq - self.next;
        self.next = unit.seq + 1;
        self.need_keyframe = false;
        Ok(Some(unit))
    }

    /// The next unit under this cursor's policy, waiting for one to be published.
    pub async fn next(&mut self) -> Result<Arc<MediaUnit>, HubError> {
        loop {
            // Mark the current version seen *before* looking, so a publish after the look
            // wakes `changed()` below.
            self.rx.borrow_and_update();
            if let Some(unit) = self.try_next()? {
                return Ok(unit);
            }
            if self.rx.changed().await.is_err() {
                return Err(HubError::Closed);
            }
        }
    }

    /// Skips everything published so far and waits for the next keyframe (a viewer that
    /// asked the encoder for a fresh one). Only for [`LagPolicy::SkipToKeyframe`] cursors.
    pub fn wait_for_keyframe(&mut self) {
        self.skip_to_end();
        self.need_keyframe = true;
    }

    /// Skips everything published so far: the next unit returned is newer than now.
    pub fn skip_to_end(&mut self) {
        let next = self.hub.next_seq();
        if next > self.next {
            self.next = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unit::MediaKind;
    use bytes::Bytes;
    use std::time::{Duration, SystemTime};

    fn unit(tag: u8, keyframe: bool) -> MediaUnit {
        MediaUnit {
            seq: 0,
            kind: MediaKind::H264,
            keyframe,
            captured: SystemTime::UNIX_EPOCH,
            pts: Duration::ZERO,
            payload: Bytes::from(vec![tag]),
        }
    }

    #[test]
    fn newest_skips_and_counts() {
        let hub = Hub::new(2);
        let mut c = hub.subscribe(LagPolicy::SkipToNewest);
        assert!(c.try_next().unwrap().is_none());
        for i in 1..=5 {
            hub.publish(unit(i, true));
        }
        let u = c.try_next().unwrap().unwrap();
        assert_eq!((u.seq, &u.payload[..]), (5, &[5u8][..]));
        assert_eq!(c.skipped(), 4);
        assert!(c.try_next().unwrap().is_none());
        hub.publish(unit(6, true));
        assert_eq!(c.try_next().unwrap().unwrap().seq, 6);
        assert_eq!(c.skipped(), 4);
    }

    #[test]
    fn payload_is_shared_not_copied() {
        let hub = Hub::new(1);
        let mut a = hub.subscribe(LagPolicy::SkipToNewest);
        let mut b = hub.subscribe(LagPolicy::SkipToNewest);
        hub.publish(unit(1, true));
        let (ua, ub) = (
            a.try_next().unwrap().unwrap(),
            b.try_next().unwrap().unwrap(),
        );
        assert_eq!(ua.payload.as_ptr(), ub.payload.as_ptr());
        assert!(Arc::ptr_eq(&ua, &ub));
    }

    #[test]
    fn disconnect_policy_reports_lag() {
        let hub = Hub::new(3);
        let mut c = hub.subscribe(LagPolicy::Disconnect);
        hub.publish(unit(1, true));
        hub.publish(unit(2, false));
        assert_eq!(c.try_next().unwrap().unwrap().seq, 1);
        for i in 3..=6 {
            hub.publish(unit(i, false));
        }
        assert_eq!(c.try_next().unwrap_err(), HubError::Lagged { missed: 2 });
    }

    #[test]
    fn keyframe_policy_resumes_at_keyframe() {
        let hub = Hub::new(4);
        let mut c = hub.subscribe(LagPolicy::SkipToKeyframe);
        hub.publish(unit(1, true));
        assert_eq!(c.try_next().unwrap().unwrap().seq, 1);
        // Falls behind: 2..=7 published, ring holds 4..=7, keyframe at 5.
        for (i, k) in [
            (2, false),
            (3, false),
            (4, false),
            (5, true),
            (6, false),
            (7, false),
        ] {
            hub.publish(unit(i, k));
        }
        let u = c.try_next().unwrap().unwrap();
        assert_eq!(u.seq, 5);
        assert_eq!(c.try_next().unwrap().unwrap().seq, 6);
        assert_eq!(c.try_next().unwrap().unwrap().seq, 7);
        // Behind again with no keyframe held: waits for the next keyframe.
        for i in 8..=12 {
            hub.publish(unit(i, false));
        }
        assert!(c.try_next().unwrap().is_none());
        hub.publish(unit(13, false));
        assert!(c.try_next().unwrap().is_none());
        hub.publish(unit(14, true));
        assert_eq!(c.try_next().unwrap().unwrap().seq, 14);
    }

    #[tokio::test]
    async fn next_wakes_on_publish_and_close() {
        let hub = Hub::new(1);
        let mut c = hub.subscribe(LagPolicy::SkipToNewest);
        let h = hub.clone();
        let t = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            h.publish(unit(9, true));
            tokio::time::sleep(Duration::from_millis(20)).await;
            h.close();
        });
        assert_eq!(c.next().await.unwrap().payload[..], [9]);
        assert_eq!(c.next().await.unwrap_err(), HubError::Closed);
        t.await.unwrap();
    }
}
