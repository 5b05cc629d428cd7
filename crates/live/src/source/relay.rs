//! `mjpeg:URL`: relays another MJPEG stream through homestream_mjpeg's client. Frames are
//! passed through without re-encoding. The upstream's `X-Timestamp` is kept as the capture
//! time when it is plausible (within 5 s of our clock), so delay measured downstream stays end
//! to end; otherwise the arrival time is used.

use super::{Frame, FrameSource, Picture, jpeg_dimensions};
use crate::clock::{self, Stamp};
use crate::error::LiveError;
use homestream_mjpeg::{Client, FrameStream, Options};
use std::time::Duration;

/// Silence after which the upstream counts as failed (the stream shows "no signal").
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The running relay.
pub struct RelaySource {
    rt: tokio::runtime::Handle,
    stream: FrameStream,
    url: String,
}

fn err(url: &str, reason: impl std::fmt::Display) -> LiveError {
    LiveError::Relay {
        url: url.to_string(),
        reason: reason.to_string(),
    }
}

impl RelaySource {
    /// Connects to `url` (blocking the calling thread, which must not be a runtime thread).
    pub fn open(url: &str, rt: tokio::runtime::Handle) -> Result<Self, LiveError> {
        let mut opts = Options::new(url);
        opts.connect_timeout = READ_TIMEOUT;
        opts.read_timeout = READ_TIMEOUT;
        let client = Client::new(opts).map_err(|e| err(url, e))?;
        let stream = rt.block_on(client.connect()).map_err(|e| err(url, e))?;
        Ok(RelaySource {
            rt,
            stream,
            url: client.url().to_string(),
        })
    }
}

impl FrameSource for RelaySource {
    fn next_frame(&mut self) -> Result<Frame, LiveError> {
        let f = match self.rt.block_on(self.stream.next_frame()) {
            None => return Err(err(&self.url, "upstream ended the stream")),
            Some(Err(e)) => return Err(err(&self.url, e)),
            Some(Ok(f)) => f,
        };
        let (width, height) = jpeg_dimensions(&f.data)
            .ok_or_else(|| err(&self.url, "upstream part is not a JPEG"))?;
        let now = clock::now();
        let captured = match f.timestamp {
            Some(t) => {
                let behind = now.wall.duration_since(t).ok();
                match behind {
                    Some(b) if b < Duration::from_secs(5) => Stamp {
                        pts: now.pts.saturating_sub(b),
                        wall: t,
                    },
                    _ => now,
                }
            }
            None => now,
        };
        Ok(Frame {
            picture: Picture::Jpeg(f.data),
            width,
            height,
            captured,
        })
    }
}
