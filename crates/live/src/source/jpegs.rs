//! `jpegs:DIR[@FPS]`: cycles the JPEG files of a folder in name order (the seed's camera
//! emulator). The folder is listed again at the end of every cycle, so added or removed files
//! take effect, and a folder that empties makes the stream show "no signal" until it fills.

use super::{Frame, FrameSource, Pacer, Picture, jpeg_dimensions};
use crate::clock;
use crate::error::LiveError;
use bytes::Bytes;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest file taken as a frame.
const MAX_FILE: u64 = 32 << 20;

/// The running `jpegs` source.
pub struct JpegsSource {
    dir: PathBuf,
    files: Vec<PathBuf>,
    pos: usize,
    pacer: Pacer,
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, LiveError> {
    let io = |e| LiveError::Io {
        context: format!("listing {}", dir.display()),
        source: e,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(LiveError::NoFrames(dir.to_path_buf()));
    }
    Ok(files)
}

impl JpegsSource {
    /// Lists `dir`; fails when it holds no JPEG.
    pub fn open(dir: &Path, fps: f64) -> Result<Self, LiveError> {
        Ok(JpegsSource {
            files: list(dir)?,
            dir: dir.to_path_buf(),
            pos: 0,
            pacer: Pacer::new(Duration::from_secs_f64(1.0 / fps)),
        })
    }
}

impl FrameSource for JpegsSource {
    fn next_frame(&mut self) -> Result<Frame, LiveError> {
        let (at, _) = self.pacer.wait();
        // A file that is not a JPEG is skipped (with a log line), not fatal for the stream.
        for _ in 0..=self.files.len() {
            if self.pos >= self.files.len() {
                self.files = list(&self.dir)?;
                self.pos = 0;
            }
            let path = &self.files[self.pos];
            self.pos += 1;
            let io = |e| LiveError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            };
            let len = std::fs::metadata(path).map_err(io)?.len();
            if len > MAX_FILE {
                tracing::warn!(file = %path.display(), "skipping file larger than 32 MiB");
                continue;
            }
            let jpeg = Bytes::from(std::fs::read(path).map_err(io)?);
            let Some((width, height)) = jpeg_dimensions(&jpeg) else {
                tracing::warn!(file = %path.display(), "skipping file that is not a JPEG");
                continue;
            };
            return Ok(Frame {
                picture: Picture::Jpeg(jpeg),
                width,
                height,
                captured: clock::at(at),
            });
        }
        Err(LiveError::NoFrames(self.dir.clone()))
    }
}
