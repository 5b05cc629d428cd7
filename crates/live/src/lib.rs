//! Live sources and the hub that fans their media units out to any number of viewers.
//!
//! Flow (docs/architecture.md): source -> encoder (once) -> [`hub::Hub`] (bounded ring + one
//! cursor per viewer, slow-viewer policy named in [`hub::LagPolicy`]) -> output. The outputs
//! (MJPEG, WebSocket/MSE, ...) are HTTP and live in `homestream-live-http`; this crate has no
//! HTTP framework in it.

pub mod av;
pub mod cli;
pub mod clock;
pub mod encode;
pub mod error;
pub mod hub;
pub mod net;
pub mod registry;
pub mod source;
pub mod spec;
pub mod status;
pub mod stream;
pub mod unit;

pub use error::LiveError;
pub use hub::{Cursor, Hub, HubError, LagPolicy};
pub use registry::{LiveOptions, LiveRegistry, LiveSpec, StreamSummary};
pub use spec::{AudioSpec, StreamSpec, VideoEncoding};
pub use unit::{MediaKind, MediaUnit};
