//! Encoding once per stream: pictures to JPEG and H.264, sound to Opus, both packaged into
//! CMAF fragments. Runs on the stream's own threads (blocking, CPU-bound work), and only for
//! the outputs that have consumers.

pub mod audio;
pub mod framer;
pub mod package;
pub mod video;
