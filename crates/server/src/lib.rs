//! The HTTP server: one listener, one router, every route behind the same gate.
//!
//! request: listener -> router -> (auth gate) -> handler -> body (file slice | live stream)

mod access_log;
mod config;
mod error;
mod listen;
mod media;
mod pages;
mod routes;
mod run;
mod state;
mod status;

pub use config::{ServeConfig, Tls};
pub use error::Error;
pub use listen::{lan_urls, qr_text};
pub use routes::{RouteInfo, app, build_router};
pub use run::{Server, start};
pub use state::AppState;
