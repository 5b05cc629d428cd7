//! The HTTP outputs of live streams: the routes under `/live/NAME/`.
//!
//! The engine (sources, clock, hub, registry) lives in `homestream-live` and knows nothing of
//! HTTP; this crate is the thin shell that turns hub cursors into responses. Each output is one
//! file: [`mjpeg`] (multipart/x-mixed-replace), [`snapshot`] (one JPEG), [`ws`] (CMAF over a
//! WebSocket, for MSE), [`page`] (the viewer page), [`hls`] (Low-Latency HLS), [`whep`]
//! (WebRTC). New outputs go beside them.

pub mod hls;
pub mod ice_server;
pub mod mjpeg;
pub mod page;
pub mod query;
pub mod routes;
pub mod snapshot;
pub mod whep;
pub mod whip;
pub mod ws;

pub use routes::{router, routes};
