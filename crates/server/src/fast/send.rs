//! Writing to the socket: the head with `MSG_MORE` (so that it leaves in one segment with the
//! first body bytes), file regions with `sendfile(2)`, the whole response under `TCP_CORK`
//! ([`Corked`], nginx's `tcp_nopush`).
//!
//! `sendfile` reads the file in the calling thread; on pages that are not in the page cache
//! that is a disk read blocking a runtime worker. So each window of [`SENDFILE_WINDOW`] is
//! first probed with `preadv2(RWF_NOWAIT)` at its first and last byte: a cached window goes by
//! `sendfile`; from a cold one a [`CHUNK`] is read on the blocking pool like the copying path
//! does (which caches it), and the rest is probed again.

use homestream_library::{CHUNK, MediaFile};
use rustix::io::{Errno, ReadWriteFlags};
use std::io::{self, IoSliceMut};
use std::ops::Range;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Bytes probed and handed to `sendfile` at a time: nginx's `sendfile_max_chunk`. (256 KiB
/// windows cost a 200 MiB file 800 windows, 1600 probes and as many short sendfile calls.)
pub const SENDFILE_WINDOW: u64 = 2 << 20;

/// Writes all of `data`; `more` tells the kernel that further bytes follow at once.
pub async fn send_all(stream: &TcpStream, mut data: &[u8], more: bool) -> io::Result<()> {
    let flags = if more {
        rustix::net::SendFlags::MORE | rustix::net::SendFlags::NOSIGNAL
    } else {
        rustix::net::SendFlags::NOSIGNAL
    };
    while !data.is_empty() {
        stream.writable().await?;
        match stream.try_io(Interest::WRITABLE, || {
            rustix::net::send(stream, data, flags).map_err(io::Error::from)
        }) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `TCP_CORK` for as long as it lives: only full segments leave until it is dropped, which
/// sends the rest at once. Without it, with `TCP_NODELAY`, every `sendfile` call ended in a
/// short segment pushed on its own, and one connection reading a cached file got 0.7x
/// nginx's MB/s (the reader's CPU went into the extra segments).
pub struct Corked<'a>(&'a TcpStream);

impl<'a> Corked<'a> {
    /// Corks `stream` (where the option exists; elsewhere this does nothing).
    pub fn new(stream: &'a TcpStream) -> Self {
        let _ = rustix::net::sockopt::set_tcp_cork(stream, true);
        Corked(stream)
    }
}

impl Drop for Corked<'_> {
    fn drop(&mut self) {
        // Uncorking is what pushes the last partial segment; an error means the socket is
        // gone, and the response with it.
        let _ = rustix::net::sockopt::set_tcp_cork(self.0, false);
    }
}

/// How the windows of one [`send_file`] went: by `sendfile` (in the page cache) or read on
/// the blocking pool and copied (not cached).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub by_sendfile: u32,
    pub copied: u32,
}

/// Sends `range` of `file`; `sent` hears of every byte that went out. A file that shrank
/// underneath is an error (the client sees a short body, never other bytes).
pub async fn send_file(
    stream: &TcpStream,
    file: &MediaFile,
    range: Range<u64>,
    sent: impl Fn(u64),
) -> io::Result<Windows> {
    let mut windows = Windows::default();
    let mut at = range.start;
    while at < range.end {
        let end = range.end.min(at + SENDFILE_WINDOW);
        if cached(file.file(), at, end) == Cache::Cold {
            let end = range.end.min(at + CHUNK);
            windows.copied += 1;
            let buf = file.read_at(at, end - at).await?;
            send_all(stream, &buf, end < range.end).await?;
            sent(end - at);
            at = end;
            continue;
        }
        windows.by_sendfile += 1;
        while at < end {
            stream.writable().await?;
            let before = at;
            let count = (end - at) as usize;
            match stream.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(stream, file.file(), Some(&mut at), count)
                    .map_err(io::Error::from)
            }) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "file shrank while being served",
                    ));
                }
                Ok(_) => sent(at - before),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(windows)
}

/// What the page cache holds of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cache {
    Cached,
    Cold,
    /// `RWF_NOWAIT` is not supported here (old kernel, some file systems): assumed cached.
    Unknown,
}

/// Whether the first and last byte of `start..end` are in the page cache (readahead makes
/// the middle nearly always follow).
fn cached(file: &std::fs::File, start: u64, end: u64) -> Cache {
    let probe = |at: u64| {
        let mut byte = [0u8; 1];
        match rustix::io::preadv2(
            file,
            &mut [IoSliceMut::new(&mut byte)],
            at,
            ReadWriteFlags::NOWAIT,
        ) {
            Ok(1) => Cache::Cached,
            Err(Errno::OPNOTSUPP) | Err(Errno::INVAL) | Err(Errno::NOSYS) => Cache::Unknown,
            _ => Cache::Cold,
        }
    };
    match probe(start) {
        Cache::Cached if end - start > 1 => probe(end - 1),
        first => first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Sends `range` of `path` over a loopback connection: what arrived, and how.
    async fn through_socket(path: &std::path::Path, range: Range<u64>) -> (Vec<u8>, Windows) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let f = std::fs::File::open(path).unwrap();
        let meta = f.metadata().unwrap();
        let file = MediaFile::new(f, &meta, "video/mp4");
        let total = std::sync::atomic::AtomicU64::new(0);
        let want = range.end - range.start;
        let sending = async {
            let windows = send_file(&server, &file, range, |n| {
                total.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            })
            .await
            .unwrap();
            drop(server);
            windows
        };
        let mut got = Vec::new();
        let (windows, read) = tokio::join!(sending, client.read_to_end(&mut got));
        read.unwrap();
        assert_eq!(total.into_inner(), want);
        (got, windows)
    }

    /// Drops `path`'s pages from the page cache (clean pages go at once).
    fn evict(path: &std::path::Path) {
        let f = std::fs::File::open(path).unwrap();
        rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    }

    /// A folder whose files can leave the page cache: tmpfs pages live only there, so where
    /// the temporary folder is tmpfs the test works beside the sources instead.
    fn evictable_dir() -> tempfile::TempDir {
        const TMPFS: i64 = 0x0102_1994;
        let dir = tempfile::tempdir().unwrap();
        if rustix::fs::statfs(dir.path()).unwrap().f_type as i64 != TMPFS {
            return dir;
        }
        let here = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        assert!(
            rustix::fs::statfs(here.path()).unwrap().f_type as i64 != TMPFS,
            "no folder off tmpfs to test cold windows in"
        );
        here
    }

    /// Cold windows are read and copied, cached ones go by sendfile, and the bytes are the
    /// same. Which way each window went is counted, so a run where the cold way never ran
    /// fails instead of passing on the cached way twice.
    #[tokio::test]
    async fn cold_and_cached_windows_send_the_same_bytes() {
        let dir = evictable_dir();
        let path = dir.path().join("f.mp4");
        let data: Vec<u8> = (0..(SENDFILE_WINDOW + 3 * CHUNK) as usize + 999)
            .map(|i| (i * 7 % 253) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        std::fs::File::open(&path).unwrap().sync_all().unwrap();
        let f = std::fs::File::open(&path).unwrap();
        if cached(&f, 0, CHUNK) == Cache::Unknown {
            // Linux < 4.14 or a file system without RWF_NOWAIT: every window is sendfile's.
            eprintln!("RWF_NOWAIT unsupported here: only the cached way can be tested");
            let (warm, windows) = through_socket(&path, 5..data.len() as u64 - 3).await;
            assert_eq!(warm, &data[5..data.len() - 3]);
            assert_eq!(windows.copied, 0);
            return;
        }

        // The kernel sometimes keeps a page it was just told to drop (one still in a per-CPU
        // batch, say): ask again until the probe agrees.
        let mut evicted = false;
        for _ in 0..50 {
            evict(&path);
            if cached(&f, 0, CHUNK) == Cache::Cold {
                evicted = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(evicted, "evicted pages still read as cached");
        let range = 5..data.len() as u64 - 3;
        let (cold, windows) = through_socket(&path, range.clone()).await;
        assert_eq!(cold, &data[5..data.len() - 3]);
        assert!(
            windows.copied >= 1,
            "no window went the cold way: {windows:?}"
        );
        // Sending it cold read it through the page cache.
        assert_eq!(cached(&f, 0, CHUNK), Cache::Cached);
        let (warm, windows) = through_socket(&path, range).await;
        assert_eq!(warm, cold);
        assert_eq!(
            windows,
            Windows {
                by_sendfile: 2,
                copied: 0
            }
        );
        assert!(through_socket(&path, 7..7).await.0.is_empty());
    }
}
