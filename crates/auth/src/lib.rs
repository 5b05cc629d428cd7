//! Accounts and access control: users file, password hashes, sessions, tokens, rate limits,
//! the HTTP gate in front of every route, and TLS set-up.
//!
//! Seed 002 hard-coded `admin/123456` and signed JWTs with the word `secret`; here there are
//! no default credentials: accounts live in a users file made with `homestream user add`,
//! passwords are stored as argon2id hashes, tokens as sha256 hashes, and sessions only in
//! memory.

mod auth;
pub mod cli;
mod error;
pub mod http;
pub mod password;
mod private_file;
pub mod ratelimit;
pub mod sessions;
pub mod tls;
pub mod tokens;
pub mod users;

pub use auth::{Auth, AuthConfig, LoginOutcome, Via};
pub use error::{Error, Result};
