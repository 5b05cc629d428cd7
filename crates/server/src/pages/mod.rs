//! HTML pages. Server-rendered and small, so that they load fast on a phone; behaviour lives
//! in the scripts under `web/`, embedded at build time.

mod assets;
mod error;
mod home;
mod html;
mod watch;

pub use assets::asset;
pub use error::{error_page, error_response, html_errors};
pub use home::{browse, home};
pub use watch::watch;
