//! Live sources and the hub that fans their media units out to any number of viewers.

pub mod cli;
pub mod registry;

pub use registry::{LiveRegistry, LiveSpec};
