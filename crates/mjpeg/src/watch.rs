//! The logic of `homestream watch`, as a library function so that tests can drive it without
//! the binary: read every frame of one connection, keep stats, save frames, stop on a limit.

use crate::client::{Client, Options};
use crate::stats::{Snapshot, Stats};
use crate::{Error, Frame};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to do with the stream.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Where and how to connect.
    pub client: Options,
    /// Stop after this many frames.
    pub frames: Option<u64>,
    /// Stop after this long (counted from the connection).
    pub duration: Option<Duration>,
    /// Save every frame here as `frame-000001.jpg`, ... in order, byte-exact.
    pub save_dir: Option<PathBuf>,
    /// Save the first frame to this file, then stop.
    pub snapshot: Option<PathBuf>,
    /// How often the tick callback gets fresh numbers.
    pub tick: Duration,
}

impl WatchOptions {
    /// Watch `url` until it ends, ticking every second.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            client: Options::new(url),
            frames: None,
            duration: None,
            save_dir: None,
            snapshot: None,
            tick: Duration::from_secs(1),
        }
    }
}

/// Why watching stopped without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `frames` frames were received.
    Frames,
    /// `duration` passed.
    Duration,
    /// The snapshot was saved.
    Snapshot,
    /// The server ended the stream first.
    Ended,
    /// The caller asked to stop (the `--show` window was closed).
    Closed,
}

/// The outcome of [`watch`].
#[derive(Clone, Debug)]
pub struct Summary {
    /// Why it stopped.
    pub stop: Stop,
    /// The final numbers.
    pub stats: Snapshot,
    /// Files written by `save_dir`, in order.
    pub saved: Vec<PathBuf>,
}

/// Name of the `n`-th saved frame (1-based).
pub fn frame_file_name(n: u64) -> String {
    format!("frame-{n:06}.jpg")
}

/// Connects and reads the stream as `opts` says; calls `on_tick` every `opts.tick` with the
/// current numbers. Connection, HTTP and stream errors are returned as [`Error`]s.
pub async fn watch(opts: &WatchOptions, on_tick: impl FnMut(&Snapshot)) -> Result<Summary, Error> {
    watch_each(opts, on_tick, |_| {}, std::future::pending()).await
}

/// [`watch`], also handing each frame to `on_frame` as it arrives (the `--show` window keeps
/// the newest), and stopping with [`Stop::Closed`] when `cancel` completes.
pub async fn watch_each(
    opts: &WatchOptions,
    mut on_tick: impl FnMut(&Snapshot),
    mut on_frame: impl FnMut(&Frame),
    cancel: impl std::future::Future<Output = ()>,
) -> Result<Summary, Error> {
    let mut cancel = std::pin::pin!(cancel);
    if let Some(dir) = &opts.save_dir {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| Error::Write {
                path: dir.clone(),
                source,
            })?;
    }
    let client = Client::new(opts.client.clone())?;
    let mut stream = client.connect().await?;
    let start = Instant::now();
    let mut stats = Stats::new(start);
    let deadline = opts
        .duration
        .map(|d| tokio::time::Instant::from_std(start + d));
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::from_std(start + opts.tick), opts.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut saved = Vec::new();
    let stop = loop {
        let next = tokio::select! {
            f = stream.next_frame() => f,
            _ = ticker.tick() => {
                on_tick(&stats.snapshot(Instant::now()));
                continue;
            }
            _ = sleep_until(deadline) => break Stop::Duration,
            _ = &mut cancel => break Stop::Closed,
        };
        let frame = match next {
            None => break Stop::Ended,
            Some(f) => f?,
        };
        stats.record(&frame);
        on_frame(&frame);
        if let Some(dir) = &opts.save_dir {
            let path = dir.join(frame_file_name(stats.frames()));
            write(&path, &frame).await?;
            saved.push(path);
        }
        if let Some(path) = &opts.snapshot {
            write(path, &frame).await?;
            break Stop::Snapshot;
        }
        if opts.frames.is_some_and(|n| stats.frames() >= n) {
            break Stop::Frames;
        }
    };
    let stats = stats.snapshot(Instant::now());
    tracing::debug!(
        ?stop,
        frames = stats.frames,
        url = client.url(),
        "watch finished"
    );
    Ok(Summary { stop, stats, saved })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn write(path: &Path, frame: &Frame) -> Result<(), Error> {
    tokio::fs::write(path, &frame.data)
        .await
        .map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
}
