//! The session table: every viewer's [`Session`] behind one UDP port, found by id (the WHEP
//! resource URL) or by the datagram that arrives (str0m's `accepts`), reaped when it ends.
//!
//! Each entry carries a tag `T` that the shell owns (its hub cursors, the viewer's stream).
//! The table is bounded ([`Sessions::new`]'s `max`): an offer beyond it is refused, never
//! queued.

use crate::error::Error;
use crate::sdp::Offered;
use crate::session::{EndReason, Endpoint, Negotiated, Session};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::config::DtlsCert;

/// A session's id: 128 random bits in hex, the last segment of its WHEP resource URL. Knowing
/// it is what lets a client end the session, so it must not be guessable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random id (also for WHIP sessions, which are not in this table).
    pub fn random() -> SessionId {
        SessionId(format!("{:032x}", rand::random::<u128>()))
    }

    /// Parses an id from a URL segment (32 lowercase hex digits), else `None`.
    pub fn parse(s: &str) -> Option<SessionId> {
        (s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| SessionId(s.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A session and the shell's data for it.
#[derive(Debug)]
pub struct Entry<T> {
    /// The session.
    pub session: Session,
    /// The shell's data.
    pub tag: T,
}

/// Counters over the table's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Sessions made.
    pub created: u64,
    /// Ended by `DELETE`.
    pub deleted: u64,
    /// Ended because the peer vanished or never connected (ICE timeout).
    pub reaped: u64,
    /// Ended by str0m (DTLS close, errors).
    pub closed: u64,
    /// Datagrams no session accepted.
    pub unrouted: u64,
}

/// Every session.
pub struct Sessions<T> {
    entries: HashMap<SessionId, Entry<T>>,
    max: usize,
    endpoint: Endpoint,
    cert: Option<DtlsCert>,
    stats: TableStats,
}

impl<T> std::fmt::Debug for Sessions<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("len", &self.entries.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl<T> Sessions<T> {
    /// A table of at most `max` sessions reachable at `endpoint`.
    pub fn new(endpoint: Endpoint, max: usize) -> Self {
        Sessions {
            entries: HashMap::new(),
            max,
            endpoint,
            cert: crate::session::server_cert(),
            stats: TableStats::default(),
        }
    }

    /// Makes a session for a checked offer; returns its id and the answer.
    pub fn create(
        &mut self,
        offer: SdpOffer,
        offered: Offered,
        now: Instant,
        tag: T,
    ) -> Result<(SessionId, SdpAnswer, Negotiated), Error> {
        if self.entries.len() >= self.max {
            return Err(Error::Full { max: self.max });
        }
        let (session, answer, neg) =
            Session::accept(offer, offered, &self.endpoint, self.cert.as_ref(), now)?;
        let mut id = SessionId::random();
        while self.entries.contains_key(&id) {
            id = SessionId::random();
        }
        self.entries.insert(id.clone(), Entry { session, tag });
        self.stats.created += 1;
        Ok((id, answer, neg))
    }

    /// Ends a session at the client's request; `false` when there is none by that id.
    pub fn delete(&mut self, id: &SessionId) -> bool {
        match self.entries.get_mut(id) {
            Some(e) => {
                e.session.close(EndReason::Deleted);
                true
            }
            None => false,
        }
    }

    /// Hands a datagram to the session it belongs to; returns that session's id, or `None`
    /// (counted) when no session accepts it.
    pub fn route(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> Option<SessionId> {
        let found = self.entries.iter_mut().find(|(_, e)| {
            e.session.ended().is_none() && e.session.accepts(source, destination, contents)
        });
        match found {
            Some((id, e)) => {
                e.session
                    .handle_datagram(now, source, destination, contents);
                Some(id.clone())
            }
            None => {
                self.stats.unrouted += 1;
                None
            }
        }
    }

    /// Advances every session whose timeout is due.
    pub fn handle_timeouts(&mut self, now: Instant) {
        for e in self.entries.values_mut() {
            if e.session.next_timeout() <= now {
                e.session.handle_timeout(now);
            }
        }
    }

    /// The earliest time a session needs [`Sessions::handle_timeouts`].
    pub fn next_timeout(&self) -> Option<Instant> {
        self.entries
            .values()
            .map(|e| e.session.next_timeout())
            .min()
    }

    /// Removes the sessions that ended and returns them with why (for the shell to log and
    /// release their cursors).
    pub fn reap(&mut self) -> Vec<(SessionId, Entry<T>, EndReason)> {
        let ended: Vec<SessionId> = self
            .entries
            .iter()
            .filter(|(_, e)| e.session.ended().is_some())
            .map(|(id, _)| id.clone())
            .collect();
        let mut out = Vec::with_capacity(ended.len());
        for id in ended {
            if let Some(e) = self.entries.remove(&id) {
                let why = e.session.ended().unwrap_or(EndReason::Closed);
                match why {
                    EndReason::Deleted => self.stats.deleted += 1,
                    EndReason::Vanished | EndReason::NeverConnected => self.stats.reaped += 1,
                    EndReason::Closed => self.stats.closed += 1,
                }
                out.push((id, e, why));
            }
        }
        out
    }

    /// A session by id.
    pub fn get_mut(&mut self, id: &SessionId) -> Option<&mut Entry<T>> {
        self.entries.get_mut(id)
    }

    /// Every session.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&SessionId, &mut Entry<T>)> {
        self.entries.iter_mut()
    }

    /// Sessions now in the table.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The counters.
    pub fn stats(&self) -> TableStats {
        self.stats
    }

    /// Where the sessions are reachable.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}
