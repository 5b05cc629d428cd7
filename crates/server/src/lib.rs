//! The HTTP server: one listener, one router, every route behind the same gate.
//!
//! request: listener -> router -> (auth gate) -> handler -> body (file slice | live stream)
//!
//! Connections are hyper's, except that on plain HTTP (Linux) `fast` reads the heads of plain
//! `GET`s (but for live streams and the API) itself, so that file bodies can go by `sendfile`;
//! the router and everything behind it are the same either way.

mod access_log;
mod config;
mod connection;
mod error;
#[cfg(target_os = "linux")]
mod fast;
mod host_check;
mod listen;
mod media;
mod pages;
mod routes;
mod run;
mod state;
mod status;
mod transcode;

pub use config::{DEFAULT_PORT, ServeConfig, Tls, default_state_dir};
pub use error::Error;
pub use listen::{lan_urls, qr_text};
pub use pages::{error_page, error_response, html_errors};
pub use routes::{RouteInfo, app, build_router};
pub use run::{Server, start};
pub use state::AppState;
