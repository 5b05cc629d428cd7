//! MJPEG over HTTP: `multipart/x-mixed-replace` (RFC 2046 §5.1) parsing and writing, and a
//! client that always hands over the newest frame.
//!
//! - [`Parser`]: sans-IO, bytes in, [`Part`]s out; fuzzed and benchmarked.
//! - [`writer`]: what the live server writes.
//! - [`Client`] / [`FrameStream`]: one request, every frame in order.
//! - [`Capture`]: open / is_open / read / latest / release, newest frame first, reconnects.
//! - [`watch()`]: the `homestream watch` logic (stats, saving), used by [`cli`].

pub mod boundary;
#[cfg(feature = "client")]
pub mod capture;
#[cfg(feature = "client")]
pub mod cli;
#[cfg(feature = "client")]
pub mod client;
mod error;
#[cfg(feature = "client")]
mod frame;
mod headers;
pub mod parser;
#[cfg(feature = "client")]
pub mod stats;
#[cfg(feature = "client")]
pub mod watch;
pub mod writer;

pub use boundary::Boundary;
#[cfg(feature = "client")]
pub use capture::Capture;
#[cfg(feature = "client")]
pub use client::{Auth, Backoff, Client, FrameStream, Options};
pub use error::Error;
#[cfg(feature = "client")]
pub use frame::Frame;
pub use parser::{Limits, Parser, Part};
#[cfg(feature = "client")]
pub use watch::{watch, watch_each};

#[cfg(test)]
mod parser_tests;
