//! WebRTC for live viewers, sans-IO: WHEP offers checked ([`sdp`]), one str0m session per
//! viewer ([`session`]) and the table that routes datagrams to them ([`table`]).
//!
//! Signalling is WHEP (draft-ietf-wish-whep): the viewer `POST`s an SDP offer, gets the answer
//! with every candidate in it (no trickle ICE), and `DELETE`s its session URL when done. The
//! media is the stream's one encode: each H.264 access unit or Opus packet becomes one shared
//! [`session::Unit`] that every session's str0m packetizes into its own RTP (SSRC, sequence
//! numbers and SRTP keys are per viewer; the frame is not copied per viewer).
//!
//! Nothing here reads a clock or opens a socket: time and datagrams come in as arguments,
//! datagrams and events go out, so tests drive sessions faster than real time. The UDP and
//! HTTP shell is `homestream-live-http`'s `whep` module.

#![deny(missing_docs)]

mod error;
pub mod ingest;
pub mod sdp;
pub mod session;
pub mod table;

pub use error::{Error, OfferError};
pub use sdp::{Offered, check_offer};
pub use session::{
    EndReason, Endpoint, Negotiated, Session, SessionEvent, SessionStats, Transmit, Unit,
};
pub use str0m::change::{SdpAnswer, SdpOffer};
pub use table::{Entry, SessionId, Sessions, TableStats};
