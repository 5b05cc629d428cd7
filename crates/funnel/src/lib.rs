//! The funnel: fetch a throttled remote resource over many parallel range connections and
//! serve it to a local player (or write it to a file) while the player seeks freely.
//!
//! Flow (see `docs/architecture.md`): player request -> [`planner`] (sans-IO: pieces, read position, seek,
//! retries, memory bound) -> [`fetch`] (N connections, driven by [`engine`]) -> ordered bytes ->
//! [`server`] response. [`download`] uses the same engine to write a file.

pub mod cli;
pub mod client;
pub mod download;
pub mod engine;
pub mod error;
mod fetch;
pub mod hls;
pub mod hls_download;
pub mod hls_fetch;
pub mod hls_plan;
pub mod m3u8;
pub mod mp4;
pub mod origin;
pub mod planner;
pub mod resume;
pub mod server;
mod shared;
pub mod size;

pub use error::{Error, Result};
pub use size::parse_size;
