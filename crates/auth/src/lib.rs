//! Accounts and access control: users file, password hashes, sessions, tokens, rate limits.

pub mod cli;
