//! Files and generated bodies as `http_serve::Entity`, so that RFC 9110 range and conditional
//! semantics (single and multiple ranges, If-Range, If-None-Match, If-Modified-Since, HEAD, 416)
//! come from http-serve rather than from hand-written code.

use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderMap, HeaderValue, header};
use std::error::Error as StdError;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

type BoxError = Box<dyn StdError + Send + Sync>;
type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send + Sync>>;

/// Bytes read per chunk. Larger than http-serve's 64 KiB so that whole-file transfers make
/// fewer syscalls and wake-ups; small enough that 64 concurrent readers stay within a few MiB.
pub const CHUNK: u64 = 256 * 1024;

/// File reads in flight at once. More than a few only make the blocking pool's threads
/// fight over the cores (and hold more chunks in memory); the page cache is shared anyway.
static READS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// An open file with the metadata its validators are made from. Reading happens with
/// positional reads (`pread`), so one open file serves any number of ranges at once.
#[derive(Clone)]
pub struct MediaFile {
    inner: Arc<Inner>,
}

struct Inner {
    file: std::fs::File,
    len: u64,
    mtime: SystemTime,
    etag: HeaderValue,
    content_type: &'static str,
}

impl MediaFile {
    /// Wraps an open regular file (the caller has checked that it is one).
    pub fn new(
        file: std::fs::File,
        meta: &std::fs::Metadata,
        content_type: &'static str,
    ) -> MediaFile {
        let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
        let since = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
        // Strong validator: changes when the file is replaced (inode), resized or touched.
        let etag = format!(
            "\"{:x}-{:x}-{:x}.{:x}\"",
            meta.ino(),
            meta.len(),
            since.as_secs(),
            since.subsec_nanos()
        );
        MediaFile {
            inner: Arc::new(Inner {
                file,
                len: meta.len(),
                mtime,
                etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
                content_type,
            }),
        }
    }
}

impl MediaFile {
    /// The open file, for a writer that lets the kernel copy it to a socket (`sendfile`).
    pub fn file(&self) -> &std::fs::File {
        &self.inner.file
    }

    /// Reads exactly `len` bytes at `at` on the blocking pool (at most [`CHUNK`] per call is
    /// sensible), waiting for a turn among the reads in flight.
    pub async fn read_at(&self, at: u64, len: u64) -> std::io::Result<Bytes> {
        let inner = Arc::clone(&self.inner);
        let _permit = READS.acquire().await;
        match tokio::task::spawn_blocking(move || read_chunk(&inner.file, at, len as usize)).await {
            Ok(read) => read.map(Bytes::from),
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

impl http_serve::Entity for MediaFile {
    type Data = Bytes;
    type Error = BoxError;

    fn len(&self) -> u64 {
        self.inner.len
    }

    fn get_range(&self, range: Range<u64>) -> BodyStream {
        let file = self.clone();
        Box::pin(futures_util::stream::unfold(
            (range, file),
            |(left, file)| async move {
                if left.start >= left.end {
                    return None;
                }
                let want = (left.end - left.start).min(CHUNK);
                match file.read_at(left.start, want).await {
                    Ok(buf) => {
                        let next = left.start + buf.len() as u64..left.end;
                        Some((Ok(buf), (next, file)))
                    }
                    Err(e) => Some((Err(e.into()), (left.end..left.end, file))),
                }
            },
        ))
    }

    fn add_headers(&self, h: &mut HeaderMap) {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.inner.content_type),
        );
    }

    fn etag(&self) -> Option<HeaderValue> {
        Some(self.inner.etag.clone())
    }

    fn last_modified(&self) -> Option<SystemTime> {
        // HTTP-dates have whole seconds; comparing If-Modified-Since against a sub-second
        // mtime would never match (RFC 9110 §13.1.3).
        let secs = self.inner.mtime.duration_since(UNIX_EPOCH).ok()?.as_secs();
        Some(UNIX_EPOCH + std::time::Duration::from_secs(secs))
    }
}

/// Reads exactly `want` bytes at `at`; a file that shrank underneath is an error, never a
/// short body that the client would take for the whole range.
///
/// `read_to_end` fills uninitialized capacity, so the buffer is not zeroed first (a `pread`
/// into `vec![0; n]` costs an extra pass over memory). Seeking the shared offset is safe:
/// every request opens its own `File`, and a request reads its chunks one after another.
fn read_chunk(file: &std::fs::File, at: u64, want: usize) -> std::io::Result<Vec<u8>> {
    let mut f = file;
    f.seek(SeekFrom::Start(at))?;
    let mut buf = Vec::with_capacity(want);
    f.take(want as u64).read_to_end(&mut buf)?;
    if buf.len() != want {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "file shrank while being served",
        ));
    }
    Ok(buf)
}

/// A body made in memory (e.g. SubRip converted to WebVTT), with validators of its source.
#[derive(Clone)]
pub struct MemoryEntity {
    body: Bytes,
    content_type: &'static str,
    etag: Option<HeaderValue>,
    mtime: Option<SystemTime>,
}

impl MemoryEntity {
    /// `etag_seed` should identify the source version (the source file's ETag, say).
    pub fn new(
        body: Bytes,
        content_type: &'static str,
        etag_seed: Option<&str>,
        mtime: Option<SystemTime>,
    ) -> Self {
        let etag =
            etag_seed.and_then(|s| HeaderValue::from_str(&format!("\"{s}-{}\"", body.len())).ok());
        MemoryEntity {
            body,
            content_type,
            etag,
            mtime,
        }
    }
}

impl http_serve::Entity for MemoryEntity {
    type Data = Bytes;
    type Error = BoxError;

    fn len(&self) -> u64 {
        self.body.len() as u64
    }

    fn get_range(&self, range: Range<u64>) -> BodyStream {
        let part = self.body.slice(range.start as usize..range.end as usize);
        Box::pin(futures_util::stream::once(async move { Ok(part) }))
    }

    fn add_headers(&self, h: &mut HeaderMap) {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
    }

    fn etag(&self) -> Option<HeaderValue> {
        self.etag.clone()
    }

    fn last_modified(&self) -> Option<SystemTime> {
        self.mtime
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use http_serve::Entity;

    async fn collect(e: &MediaFile, r: Range<u64>) -> Result<Vec<u8>, String> {
        let mut s = e.get_range(r);
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn ranges_read_exact_bytes_and_a_shrunk_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.mp4");
        let data: Vec<u8> = (0..(CHUNK as usize * 3 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let meta = file.metadata().unwrap();
        let e = MediaFile::new(file, &meta, "video/mp4");
        assert_eq!(
            collect(&e, 5..CHUNK * 2 + 9).await.unwrap(),
            &data[5..CHUNK as usize * 2 + 9]
        );
        assert_eq!(collect(&e, 0..data.len() as u64).await.unwrap(), data);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(100)
            .unwrap();
        let err = collect(&e, 0..data.len() as u64).await.unwrap_err();
        assert!(err.contains("shrank"), "{err}");
    }
}
