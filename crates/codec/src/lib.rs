//! Encoders behind small traits, pixel conversion and microphone denoise for homestream's live
//! streams.
//!
//! A live stream encodes once and every viewer shares the bytes (docs/architecture.md: "encode once, fan
//! out by reference"), so this crate is about one frame in, one access unit out, called from one
//! blocking thread per stream:
//!
//! - [`pixels`]: the [`I420`] picture every video encoder takes, RGB <-> I420 (BT.601 limited
//!   range) and JPEG decoding for MJPEG cameras and JPEG folders.
//! - [`h264`]: [`VideoEncoder`] and its OpenH264 implementation, [`H264Encoder`].
//! - [`opus`]: [`AudioEncoder`] and its pure-Rust Opus implementation, [`OpusEncoder`].
//! - [`denoise`]: [`Denoiser`], RNNoise noise suppression for microphones.
//!
//! Nothing here reads a clock or spawns a thread: timestamps belong to the caller.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod denoise;
mod error;
pub mod h264;
pub mod opus;
pub mod pixels;

pub use denoise::Denoiser;
pub use error::CodecError;
pub use h264::{EncodedVideo, H264Config, H264Encoder, VideoEncoder};
pub use opus::{AudioEncoder, OpusConfig, OpusEncoder};

pub use pixels::{I420, RgbImage};
