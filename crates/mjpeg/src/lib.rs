//! MJPEG over HTTP: `multipart/x-mixed-replace` (RFC 2046 §5.1) parsing and writing, and a
//! client that always hands over the newest frame.
//!
//! The parser and writer are sans-IO: bytes in, frames out. The client and `watch` command are
//! thin async shells around them.

pub mod cli;
pub mod writer;
