//! Files only their owner may read (users, keys), written so that a crash never leaves half a
//! file: a temporary file in the same folder (mode 0600 on Unix), synced, renamed into place.

use crate::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes`, atomically and privately.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".homestream")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
