//! Live sources and the hub that fans their media units out to any number of viewers.
//!
//! Flow (ARCHITECTURE.md): source -> encoder (once) -> [`hub::Hub`] (bounded ring + one
//! cursor per viewer, slow-viewer policy named in [`hub::LagPolicy`]) -> output
//! (MJPEG today, in [`http::mjpeg`]).

pub mod cli;
pub mod clock;
pub mod error;
pub mod http;
pub mod hub;
pub mod net;
pub mod registry;
pub mod source;
pub mod status;
pub mod stream;
pub mod unit;

pub use error::LiveError;
pub use hub::{Cursor, Hub, HubError, LagPolicy};
pub use registry::{LiveOptions, LiveRegistry, LiveSpec, StreamSummary};
pub use unit::{MediaKind, MediaUnit};
