//! "Always the newest frame": an OpenCV `VideoCapture`-like handle (open / is_open / read /
//! latest / release) over a background task that reads the stream and reconnects with backoff.
//!
//! The task publishes each frame into a `tokio::sync::watch` channel, which holds exactly one
//! value. Queue policy: **keep newest**: a slow consumer never builds a backlog; it skips to the
//! newest frame (visible as a gap in [`Frame::seq`]). No threads, no sleeps, no polling.

use crate::client::{Client, Options};
use crate::{Error, Frame};
use futures_util::Stream;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the background task is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Receiving frames.
    Streaming,
    /// Lost the stream; waiting to reconnect (attempt counts failures in a row).
    Reconnecting {
        /// Failed attempts in a row so far.
        attempt: u32,
        /// Why the last attempt failed.
        reason: String,
    },
    /// Stopped for good; [`Capture::read`] returns the reason.
    Stopped,
}

#[derive(Clone, Debug)]
struct Slot {
    frame: Option<Frame>,
    status: Status,
}

/// A live MJPEG source. See the module docs.
#[derive(Debug)]
pub struct Capture {
    rx: watch::Receiver<Slot>,
    task: Option<JoinHandle<()>>,
    /// Why the task stopped, taken by the first `read` that sees it.
    error: Arc<Mutex<Option<Error>>>,
    last_read: Option<u64>,
    url: String,
}

impl Capture {
    /// Connects (errors of this first attempt are returned, like a failed `VideoCapture::open`)
    /// and starts reading in the background.
    pub async fn open(opts: Options) -> Result<Self, Error> {
        let client = Client::new(opts)?;
        let first = client.connect().await?;
        tracing::info!(url = client.url(), "mjpeg stream opened");
        let (tx, rx) = watch::channel(Slot {
            frame: None,
            status: Status::Streaming,
        });
        let error = Arc::new(Mutex::new(None));
        let url = client.url().to_owned();
        let task = tokio::spawn(run(client, first, tx, error.clone()));
        Ok(Self {
            rx,
            task: Some(task),
            error,
            last_read: None,
            url,
        })
    }

    /// The stream's URL (without credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether frames may still come: not released and not stopped for good.
    pub fn is_open(&self) -> bool {
        self.task.is_some() && self.rx.borrow().status != Status::Stopped
    }

    /// What the background task is doing.
    pub fn status(&self) -> Status {
        self.rx.borrow().status.clone()
    }

    /// Waits for a frame newer than the one `read` last returned and returns the newest one
    /// (frames that came in between are skipped). Fails once the capture has stopped, with the
    /// reason (e.g. [`Error::AuthRefused`], or [`Error::Ended`] if reconnecting gave up).
    pub async fn read(&mut self) -> Result<Frame, Error> {
        if self.task.is_none() {
            return Err(Error::Released);
        }
        let last = self.last_read;
        let newer = |s: &Slot| {
            s.frame
                .as_ref()
                .is_some_and(|f| last.is_none_or(|l| f.seq > l))
                || s.status == Status::Stopped
        };
        let frame = match self.rx.wait_for(newer).await {
            Ok(slot) => slot
                .frame
                .clone()
                .filter(|f| last.is_none_or(|l| f.seq > l)),
            Err(_) => None,
        };
        match frame {
            Some(f) => {
                self.last_read = Some(f.seq);
                Ok(f)
            }
            None => Err(self.take_error()),
        }
    }

    /// The newest complete frame, at once, without waiting (`None` before the first frame).
    pub fn latest(&self) -> Option<Frame> {
        self.rx.borrow().frame.clone()
    }

    /// Newest frames as a `Stream`: each item is newer than the previous one; frames that
    /// arrive while the consumer is busy are skipped. Ends when the capture stops.
    pub fn frames(&self) -> impl Stream<Item = Frame> + Send + Unpin + 'static {
        let rx = self.rx.clone();
        Box::pin(futures_util::stream::unfold(
            (rx, None::<u64>),
            |(mut rx, last)| async move {
                let newer = |s: &Slot| {
                    s.frame
                        .as_ref()
                        .is_some_and(|f| last.is_none_or(|l| f.seq > l))
                        || s.status == Status::Stopped
                };
                let f = rx
                    .wait_for(newer)
                    .await
                    .ok()?
                    .frame
                    .clone()
                    .filter(|f| last.is_none_or(|l| f.seq > l))?;
                let seq = f.seq;
                Some((f, (rx, Some(seq))))
            },
        ))
    }

    /// Stops reading and closes the connection. Idempotent.
    pub fn release(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            tracing::info!(url = %self.url, "mjpeg stream released");
        }
    }

    fn take_error(&self) -> Error {
        self.error
            .lock()
            .ok()
            .and_then(|mut e| e.take())
            .unwrap_or(Error::Ended)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Reads frames into `tx`; on loss, reconnects with backoff; stops on errors that would repeat
/// or when every receiver is gone.
async fn run(
    client: Client,
    first: crate::FrameStream,
    tx: watch::Sender<Slot>,
    error: Arc<Mutex<Option<Error>>>,
) {
    let backoff = client.options().backoff;
    let mut stream = Some(first);
    let mut next_seq = 0;
    let mut failures = 0u32;
    loop {
        let reason = if let Some(mut s) = stream.take() {
            let reason = loop {
                match s.next_frame().await {
                    Some(Ok(frame)) => {
                        failures = 0;
                        next_seq = frame.seq + 1;
                        tx.send_modify(|slot| {
                            slot.frame = Some(frame);
                            slot.status = Status::Streaming;
                        });
                        if tx.is_closed() {
                            return;
                        }
                    }
                    Some(Err(e)) => break e,
                    None => break Error::Ended,
                }
            };
            next_seq = next_seq.max(s.next_seq());
            reason
        } else {
            match client.connect_from(next_seq).await {
                Ok(s) => {
                    tracing::info!(url = client.url(), "mjpeg stream reconnected");
                    stream = Some(s);
                    continue;
                }
                Err(e) => e,
            }
        };
        failures += 1;
        let give_up = !reason.is_transient() || backoff.max_attempts.is_some_and(|m| failures > m);
        if give_up {
            tracing::warn!(url = client.url(), error = %reason, "mjpeg stream stopped");
            if let Ok(mut slot) = error.lock() {
                *slot = Some(reason);
            }
            tx.send_modify(|s| s.status = Status::Stopped);
            return;
        }
        let wait = backoff.delay(failures);
        tracing::info!(url = client.url(), error = %reason, wait_ms = wait.as_millis() as u64, "mjpeg stream lost; reconnecting");
        tx.send_modify(|s| {
            s.status = Status::Reconnecting {
                attempt: failures,
                reason: reason.to_string(),
            }
        });
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = tx.closed() => return,
        }
    }
}
