//! The cache folder: one folder per file version (path + size + mtime), holding its poster,
//! subtitle tracks and segments; the least recently used folders go when the cap is passed.

use crate::Error;
use sha2::{Digest, Sha256};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// A file as it is now: a changed file is another key, so nothing stale is ever served.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub path: PathBuf,
    pub size: u64,
    pub mtime: SystemTime,
}

impl FileKey {
    /// Reads the file's size and mtime. Blocking.
    pub fn of(path: &Path) -> Result<FileKey, Error> {
        let meta = std::fs::metadata(path).map_err(|_| Error::Missing("file"))?;
        Ok(FileKey {
            path: path.to_path_buf(),
            size: meta.len(),
            mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        })
    }

    /// The folder name for this version: a hash, so no part of a path reaches the disk.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.path.as_os_str().as_bytes());
        h.update(self.size.to_be_bytes());
        let since = self
            .mtime
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        h.update(since.as_nanos().to_be_bytes());
        h.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The cache folder and its cap.
#[derive(Debug)]
pub struct Cache {
    root: PathBuf,
    cap_bytes: u64,
    /// Bytes written since the last sweep; a sweep runs when it passes a tenth of the cap.
    written: Mutex<u64>,
}

impl Cache {
    pub fn new(root: PathBuf, cap_bytes: u64) -> Result<Cache, Error> {
        std::fs::create_dir_all(&root).map_err(|source| Error::Cache {
            path: root.clone(),
            source,
        })?;
        Ok(Cache {
            root,
            cap_bytes,
            written: Mutex::new(0),
        })
    }

    /// Where `name` of `key` lives (`name` is ours: `poster.jpg`, `vcopy-a1aac/3.m4s`).
    pub fn path(&self, key: &FileKey, name: &str) -> PathBuf {
        self.root.join(key.id()).join(name)
    }

    /// The bytes of `name`, if made before; marks the file's folder as used.
    pub fn get(&self, key: &FileKey, name: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path(key, name)).ok()?;
        let dir = self.root.join(key.id());
        let _ = std::fs::File::open(&dir).and_then(|f| f.set_modified(SystemTime::now()));
        Some(bytes)
    }

    /// Stores `name` whole (written aside and renamed, so a reader never sees half of it).
    pub fn put(&self, key: &FileKey, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.path(key, name);
        let err = |source| Error::Cache {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)?;
        let sweep = {
            let mut w = self.written.lock().unwrap_or_else(|p| p.into_inner());
            *w += bytes.len() as u64;
            let due = *w > self.cap_bytes / 10;
            if due {
                *w = 0;
            }
            due
        };
        if sweep {
            self.sweep(&key.id());
        }
        Ok(())
    }

    /// Removes the least recently used file folders until the cache is under 90 % of its cap;
    /// `keep` (the folder being written) is never removed. Returns the bytes left.
    pub fn sweep(&self, keep: &str) -> u64 {
        let mut dirs: Vec<(SystemTime, u64, PathBuf)> = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy() != keep)
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                meta.is_dir().then(|| {
                    (
                        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                        du(&e.path()),
                        e.path(),
                    )
                })
            })
            .collect();
        let mut total: u64 = dirs.iter().map(|d| d.1).sum::<u64>() + du(&self.root.join(keep));
        dirs.sort();
        for (_, size, dir) in dirs {
            if total <= self.cap_bytes / 10 * 9 {
                break;
            }
            if std::fs::remove_dir_all(&dir).is_ok() {
                total = total.saturating_sub(size);
                tracing::info!(target: "homestream::transcode", "cache: removed {} ({size} bytes)", dir.display());
            }
        }
        total
    }

    /// The bytes the cache holds now.
    pub fn used(&self) -> u64 {
        du(&self.root)
    }
}

/// Bytes under a folder (two levels: file folders, then plan folders).
fn du(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => du(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> FileKey {
        FileKey {
            path: PathBuf::from(name),
            size: 1,
            mtime: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_changed_file_is_another_key() {
        let a = key("/m/a.mkv");
        let mut b = a.clone();
        b.size = 2;
        assert_ne!(a.id(), b.id());
        assert_eq!(a.id().len(), 24);
        assert!(a.id().bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn the_oldest_folders_go_when_the_cap_is_passed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf(), 10_000).unwrap();
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            cache.put(&key(name), "x/0.m4s", &vec![0; 4_000]).unwrap();
            // Folder times one second apart, oldest first.
            let d = dir.path().join(key(name).id());
            let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000 + i as u64);
            std::fs::File::open(&d).unwrap().set_modified(t).unwrap();
        }
        let left = cache.sweep(&key("c").id());
        assert!(left <= 9_000, "{left}");
        assert!(cache.get(&key("a"), "x/0.m4s").is_none(), "the oldest went");
        assert!(
            cache.get(&key("c"), "x/0.m4s").is_some(),
            "the newest stays"
        );
    }
}
