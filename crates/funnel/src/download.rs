//! `homestream download`: the funnel engine writing a file. Pieces are written at their offsets
//! as they arrive (no head-of-line wait); the sidecar records what is on disk so an interrupted
//! download resumes; an optional SHA-256 is checked at the end.

use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, Result};
use crate::origin::Origin;
use crate::resume::{self, PartState, RangeSet};
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to download and how.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    pub url: String,
    pub output: PathBuf,
    /// Expected SHA-256 (hex), checked after the last byte.
    pub sha256: Option<String>,
    pub engine: EngineConfig,
    /// Draw a progress bar on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// Which variant of an HLS master playlist to download.
    pub variant: crate::m3u8::Choice,
}

/// What a finished download did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadReport {
    pub size: u64,
    /// Bytes that were already on disk from an earlier, interrupted run.
    pub resumed: u64,
    /// Lowercase hex SHA-256 of the file, when it was computed (`--sha256`).
    pub sha256: Option<String>,
}

/// Most bytes handed to one blocking write call.
const WRITE_BATCH: usize = 1 << 20;

fn progress_bar(size: Option<u64>, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(size.unwrap_or(0));
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

#[cfg(unix)]
fn write_at(f: &File, buf: &[u8], off: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, buf, off)
}

#[cfg(windows)]
fn write_at(f: &File, mut buf: &[u8], mut off: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(f, buf, off)?;
        buf = &buf[n..];
        off += n as u64;
    }
    Ok(())
}

/// SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn validators(o: &Origin) -> (Option<String>, Option<String>) {
    let s =
        |v: &Option<http::HeaderValue>| v.as_ref().and_then(|v| v.to_str().ok()).map(str::to_owned);
    (s(&o.etag), s(&o.last_modified))
}

/// Downloads `opts.url` to `opts.output`. `cancel` resolving stops it (state saved, resumable).
pub async fn download(
    client: reqwest::Client,
    opts: &DownloadOptions,
    cancel: impl Future<Output = ()>,
) -> Result<DownloadReport> {
    if crate::hls_download::looks_like_playlist(&opts.url) {
        return crate::hls_download::download(client, opts, cancel).await;
    }
    tokio::pin!(cancel);
    let origin = Origin::probe(&client, &opts.url).await?;
    if crate::hls::is_playlist(&origin.url, origin.content_type.as_ref()) {
        return crate::hls_download::download(client, opts, cancel).await;
    }
    let out = &opts.output;
    let report = match (origin.ranges, origin.size) {
        (true, Some(size)) => ranged(client, origin, size, opts, &mut cancel).await?,
        _ => {
            tracing::warn!(
                "the origin does not support byte ranges: downloading over one plain connection (no resume)"
            );
            plain(client, origin, opts, &mut cancel).await?
        }
    };
    let mut report = report;
    if let Some(expected) = &opts.sha256 {
        let p = out.clone();
        let actual = tokio::task::spawn_blocking(move || sha256_file(&p))
            .await
            .map_err(|e| Error::Io {
                context: "hashing".into(),
                message: e.to_string(),
            })?
            .map_err(|e| Error::io(format!("hashing {}", out.display()), e))?;
        if !actual.eq_ignore_ascii_case(expected.trim()) {
            return Err(Error::Checksum {
                expected: expected.trim().to_ascii_lowercase(),
                actual,
            });
        }
        report.sha256 = Some(actual);
    }
    Ok(report)
}

async fn ranged(
    client: reqwest::Client,
    origin: Origin,
    size: u64,
    opts: &DownloadOptions,
    cancel: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Result<DownloadReport> {
    let out = &opts.output;
    let side = resume::sidecar_path(out);
    let (etag, last_modified) = validators(&origin);
    let on_disk = std::fs::metadata(out).map(|m| m.len()).ok();
    let mut state = match resume::load(&side) {
        Some(st)
            if st.size == size
                && on_disk == Some(size)
                && st.etag == etag
                && st.last_modified == last_modified
                && (etag.is_some() || last_modified.is_some()) =>
        {
            tracing::info!(
                "resuming: {} of {} bytes already on disk",
                st.done.len(),
                size
            );
            st
        }
        Some(_) => {
            tracing::warn!("the remote file differs from the interrupted download: starting over");
            fresh(&origin, size, &etag, &last_modified)
        }
        None => fresh(&origin, size, &etag, &last_modified),
    };
    let resumed = state.done.len();
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(resumed == 0)
        .open(out)
        .map_err(|e| Error::io(format!("opening {}", out.display()), e))?;
    file.set_len(size)
        .map_err(|e| Error::io(format!("sizing {}", out.display()), e))?;
    let file = Arc::new(file);
    resume::save(&side, &state).map_err(|e| Error::io(format!("writing {}", side.display()), e))?;

    let pb = progress_bar(Some(size), opts.progress);
    pb.set_position(resumed);
    let engine = Engine::start(client, origin, opts.engine.clone());
    let mut reader = engine.open(state.done.missing(size), false, None);
    let mut last_save = Instant::now();
    let result: Result<()> = loop {
        let first = tokio::select! {
            _ = cancel.as_mut() => break Err(Error::Cancelled),
            r = reader.next() => r,
        };
        let first = match first {
            Ok(Some(x)) => x,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        // Batch what is ready now into one blocking write call. Bytes taken from the engine no
        // longer count against its budget, so the batch is capped to keep memory bounded.
        let mut batch_bytes = first.1.len();
        let mut batch: Vec<(u64, Bytes)> = vec![first];
        while batch_bytes < WRITE_BATCH {
            match reader.try_next() {
                Some(Ok(Some(x))) => {
                    batch_bytes += x.1.len();
                    batch.push(x);
                }
                _ => break,
            }
        }
        let f = file.clone();
        let written = tokio::task::spawn_blocking(move || {
            for (off, b) in &batch {
                write_at(&f, b, *off)?;
            }
            Ok::<_, std::io::Error>(
                batch
                    .into_iter()
                    .map(|(o, b)| o..o + b.len() as u64)
                    .collect::<Vec<_>>(),
            )
        })
        .await
        .map_err(|e| Error::Io {
            context: "writing".into(),
            message: e.to_string(),
        })
        .and_then(|r| r.map_err(|e| Error::io(format!("writing {}", out.display()), e)));
        let ranges = match written {
            Ok(r) => r,
            Err(e) => break Err(e),
        };
        for r in ranges {
            pb.inc(r.end - r.start);
            state.done.insert(r);
        }
        if last_save.elapsed() >= Duration::from_secs(1) {
            last_save = Instant::now();
            pb.set_message(format!("{} conns", engine.running()));
            if let Err(e) = resume::save(&side, &state) {
                break Err(Error::io(format!("writing {}", side.display()), e));
            }
        }
    };
    drop(reader);
    match result {
        Ok(()) => {
            file.sync_all()
                .map_err(|e| Error::io(format!("flushing {}", out.display()), e))?;
            let _ = std::fs::remove_file(&side);
            pb.finish_and_clear();
            Ok(DownloadReport {
                size,
                resumed,
                sha256: None,
            })
        }
        Err(e) => {
            let _ = file.sync_all();
            let _ = resume::save(&side, &state);
            pb.abandon();
            Err(e)
        }
    }
}

fn fresh(origin: &Origin, size: u64, etag: &Option<String>, lm: &Option<String>) -> PartState {
    PartState {
        url: origin.url.to_string(),
        size,
        etag: etag.clone(),
        last_modified: lm.clone(),
        done: RangeSet::default(),
    }
}

async fn plain(
    client: reqwest::Client,
    origin: Origin,
    opts: &DownloadOptions,
    cancel: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Result<DownloadReport> {
    use tokio::io::AsyncWriteExt;
    let out = &opts.output;
    let mut resp = client
        .get(origin.url.clone())
        .send()
        .await
        .map_err(|e| Error::Http(crate::origin::error_chain(&e)))?;
    if !resp.status().is_success() {
        return Err(Error::Status {
            status: resp.status().as_u16(),
            what: format!("GET {}", origin.url),
        });
    }
    let expect = resp.content_length();
    let mut f = tokio::fs::File::create(out)
        .await
        .map_err(|e| Error::io(format!("creating {}", out.display()), e))?;
    let pb = progress_bar(expect, opts.progress);
    pb.set_message("1 conn");
    let mut n = 0u64;
    loop {
        let chunk = tokio::select! {
            _ = cancel.as_mut() => return Err(Error::Cancelled),
            c = tokio::time::timeout(opts.engine.stall_timeout, resp.chunk()) => c,
        };
        let chunk = chunk
            .map_err(|_| Error::Http("the origin stalled".into()))?
            .map_err(|e| Error::Http(crate::origin::error_chain(&e)))?;
        let Some(b) = chunk else { break };
        f.write_all(&b)
            .await
            .map_err(|e| Error::io(format!("writing {}", out.display()), e))?;
        n += b.len() as u64;
        pb.inc(b.len() as u64);
    }
    f.sync_all()
        .await
        .map_err(|e| Error::io(format!("flushing {}", out.display()), e))?;
    pb.finish_and_clear();
    if let Some(e) = expect
        && e != n
    {
        return Err(Error::Http(format!("the origin sent {n} of {e} bytes")));
    }
    Ok(DownloadReport {
        size: n,
        resumed: 0,
        sha256: None,
    })
}
