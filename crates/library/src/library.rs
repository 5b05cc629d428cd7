//! The served folders and what a URL path resolves to.

use crate::Error;
use crate::duration::header_reader;
use crate::kind::{MediaKind, kind_of};
use crate::path::decode_url_path;
use crate::subtitles::sidecars_for;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Characters escaped in a URL path segment: all but RFC 3986 unreserved ones.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Durations remembered per (path, mtime, len); cleared whole when it reaches this size.
const DURATION_CACHE_MAX: usize = 10_000;

/// A file's duration as read at (mtime, length).
type CachedDuration = (SystemTime, u64, Option<Duration>);

/// One served folder, or one served file (then its folder, showing only that file and its
/// sidecar subtitles: `homestream serve movie.mkv` shares the movie, not its neighbours).
#[derive(Debug, Clone)]
pub struct Root {
    /// First URL segment when several folders are served.
    pub name: String,
    /// Canonical path of the folder.
    pub path: PathBuf,
    /// For a served file: its name in `path`; nothing else there can be reached.
    pub only: Option<OsString>,
}

impl Root {
    /// Whether `name`, directly in this root's folder, may be listed and served.
    fn shows(&self, name: &OsStr) -> bool {
        match &self.only {
            None => true,
            Some(file) => {
                name == file || !sidecars_for(&file.to_string_lossy(), &[lossy(name)]).is_empty()
            }
        }
    }

    /// A root as a line of the top listing (several roots). A served file's root is its
    /// folder, which lists just that file.
    fn entry(&self) -> Entry {
        Entry {
            name: self.name.clone(),
            url_path: encode_segments(std::slice::from_ref(&self.name)),
            is_dir: true,
            kind: MediaKind::Other,
            size: 0,
            duration_secs: None,
        }
    }
}

/// What a URL path resolved to, inside the served folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The top: the single root, or the list of roots.
    Top,
    /// A folder (canonical path).
    Dir(PathBuf),
    /// A regular file (canonical path).
    File(PathBuf),
}

/// What a URL path names before the file system is asked.
pub(crate) enum Target<'a> {
    /// The top: the single root (`Some`), or the list of roots.
    Top(Option<&'a Root>),
    /// `rest` (never empty but for a root of several) below `root`.
    Inside { root: &'a Root, rest: Vec<OsString> },
}

/// One line of a folder listing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// The file name as text (bytes that are not UTF-8 shown as U+FFFD); `url_path` has
    /// the real bytes.
    pub name: String,
    /// URL path relative to the library top, percent-encoded, no leading slash.
    pub url_path: String,
    pub is_dir: bool,
    pub kind: MediaKind,
    pub size: u64,
    pub duration_secs: Option<f64>,
}

/// A folder's contents, folders first, then files, each in natural-ish name order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listing {
    /// URL path of this folder (percent-encoded, no leading or trailing slash; "" at the top).
    pub url_path: String,
    pub entries: Vec<Entry>,
}

/// The folders shared by one server.
pub struct Library {
    roots: Vec<Root>,
    durations: Mutex<HashMap<PathBuf, CachedDuration>>,
}

impl Library {
    /// Opens the folders (or single files) to serve; each must exist.
    pub fn new(paths: &[PathBuf]) -> Result<Library, Error> {
        let mut roots: Vec<Root> = Vec::new();
        for p in paths {
            let real = std::fs::canonicalize(p).map_err(|source| Error::Root {
                path: p.clone(),
                source,
            })?;
            let (path, only) = if real.is_dir() {
                (real, None)
            } else {
                let file_root = real
                    .file_name()
                    .filter(|n| !n.as_bytes().starts_with(b"."))
                    .map(OsStr::to_os_string)
                    .zip(real.parent().map(Path::to_path_buf));
                let Some((name, parent)) = file_root.filter(|_| real.is_file()) else {
                    return Err(Error::Root {
                        path: p.clone(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::InvalidInput,
                            "not a folder or a regular file (hidden files are not served)",
                        ),
                    });
                };
                (parent, Some(name))
            };
            // Root names are URL segments: no leading dot (it would read as hidden), never empty.
            let base = path
                .file_name()
                .map(|n| n.to_string_lossy().trim_start_matches('.').to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "folder".to_string());
            let mut name = base.clone();
            let mut n = 2;
            while roots.iter().any(|r| r.name == name) {
                name = format!("{base}-{n}");
                n += 1;
            }
            roots.push(Root { name, path, only });
        }
        Ok(Library {
            roots,
            durations: Mutex::new(HashMap::new()),
        })
    }

    /// The served folders.
    pub fn roots(&self) -> &[Root] {
        &self.roots
    }

    /// Resolves a raw (still percent-encoded) URL path relative to the library top.
    /// Blocking: it touches the file system.
    pub fn resolve(&self, raw: &str) -> Result<Resolved, Error> {
        self.locate(raw).map(|(_, r)| r)
    }

    /// [`Library::resolve`], also saying which root the path is in (`None` for the list of
    /// roots). Roots may nest or share a folder, so the root is taken from the URL, never
    /// guessed from the file system path.
    fn locate(&self, raw: &str) -> Result<(Option<&Root>, Resolved), Error> {
        match self.target(raw)? {
            Target::Top(root) => Ok((root, Resolved::Top)),
            Target::Inside { root, rest } => Ok((Some(root), Self::walk(raw, root, &rest)?)),
        }
    }

    /// The root a raw URL path is in and its segments below it, from the URL alone (every
    /// check that needs no file system).
    pub(crate) fn target(&self, raw: &str) -> Result<Target<'_>, Error> {
        let segments = decode_url_path(raw)?;
        if segments.iter().any(|s| s.as_bytes().starts_with(b".")) {
            return Err(Error::Refused {
                path: raw.to_string(),
                reason: "hidden file",
            });
        }
        let (root, rest) = match self.roots.as_slice() {
            [] => return Err(Error::NotFound(raw.to_string())),
            [only] => (only, &segments[..]),
            many => {
                let Some((first, rest)) = segments.split_first() else {
                    return Ok(Target::Top(None));
                };
                let root = many
                    .iter()
                    .find(|r| OsStr::new(&r.name) == first)
                    .ok_or_else(|| Error::NotFound(raw.to_string()))?;
                (root, rest)
            }
        };
        if rest.is_empty() && self.roots.len() == 1 {
            return Ok(Target::Top(Some(root)));
        }
        // A served file's root holds that file and its subtitles, one level deep, nothing else.
        let beyond_the_file = root.only.is_some()
            && match rest {
                [] => false,
                [name] => !root.shows(name),
                _ => true,
            };
        if beyond_the_file {
            return Err(Error::NotFound(raw.to_string()));
        }
        Ok(Target::Inside {
            root,
            rest: rest.to_vec(),
        })
    }

    /// Where `rest` leads inside `root` on disk: symlinks are followed, but only to places in
    /// the same root.
    pub(crate) fn walk(raw: &str, root: &Root, rest: &[OsString]) -> Result<Resolved, Error> {
        let joined = rest.iter().fold(root.path.clone(), |p, s| p.join(s));
        let real = std::fs::canonicalize(&joined).map_err(|_| Error::NotFound(raw.to_string()))?;
        if !real.starts_with(&root.path) {
            return Err(Error::Refused {
                path: raw.to_string(),
                reason: "symlink leads outside the served folder",
            });
        }
        let meta = std::fs::metadata(&real).map_err(|_| Error::NotFound(raw.to_string()))?;
        if meta.is_dir() {
            Ok(Resolved::Dir(real))
        } else if meta.is_file() {
            Ok(Resolved::File(real))
        } else {
            Err(Error::NotFound(raw.to_string()))
        }
    }

    /// Lists the folder at a raw URL path. Blocking.
    pub fn list(&self, raw: &str) -> Result<Listing, Error> {
        let base = decode_url_path(raw)?;
        let url_path = encode_segments(&base);
        let (root, dir) = match self.locate(raw)? {
            (_, Resolved::File(_)) => return Err(Error::NotFound(raw.to_string())),
            (Some(root), Resolved::Top) => (root, root.path.clone()),
            (Some(root), Resolved::Dir(d)) => (root, d),
            (None, _) => {
                let entries = self.roots.iter().map(Root::entry).collect();
                return Ok(Listing { url_path, entries });
            }
        };
        let read = std::fs::read_dir(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let mut entries = Vec::new();
        for item in read.flatten() {
            let raw_name = item.file_name();
            if raw_name.as_bytes().starts_with(b".") || (dir == root.path && !root.shows(&raw_name))
            {
                continue;
            }
            // Follow symlinks, but only to places inside the same served folder.
            let Ok(real) = std::fs::canonicalize(item.path()) else {
                continue;
            };
            if !real.starts_with(&root.path) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&real) else {
                continue;
            };
            let name = lossy(&raw_name);
            let mut segs = base.clone();
            segs.push(raw_name);
            let is_dir = meta.is_dir();
            let kind = if is_dir {
                MediaKind::Other
            } else {
                kind_of(&name)
            };
            let duration_secs = if is_dir {
                None
            } else {
                self.duration(&real, &meta).map(|d| d.as_secs_f64())
            };
            entries.push(Entry {
                url_path: encode_segments(&segs),
                name,
                is_dir,
                kind,
                size: if is_dir { 0 } else { meta.len() },
                duration_secs,
            });
        }
        entries.sort_by(|a, b| {
            b.is_dir
                .cmp(&a.is_dir)
                .then_with(|| natural_key(&a.name).cmp(&natural_key(&b.name)))
        });
        Ok(Listing { url_path, entries })
    }

    fn duration(&self, path: &Path, meta: &std::fs::Metadata) -> Option<Duration> {
        let lower = path.extension()?.to_string_lossy().to_ascii_lowercase();
        let read = header_reader(&lower)?;
        let mtime = meta.modified().ok()?;
        let mut cache = self.durations.lock().ok()?;
        if let Some((t, len, d)) = cache.get(path)
            && *t == mtime
            && *len == meta.len()
        {
            return *d;
        }
        let d = std::fs::File::open(path)
            .ok()
            .and_then(|f| read(&mut std::io::BufReader::with_capacity(4096, f)));
        if cache.len() >= DURATION_CACHE_MAX {
            cache.clear();
        }
        cache.insert(path.to_path_buf(), (mtime, meta.len(), d));
        d
    }
}

/// Percent-encodes decoded segments (file names, any bytes) into a URL path (no leading
/// slash).
pub fn encode_segments<S: AsRef<OsStr>>(segments: &[S]) -> String {
    segments
        .iter()
        .map(|s| percent_encode(s.as_ref().as_bytes(), SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn lossy(name: &OsStr) -> String {
    name.to_string_lossy().into_owned()
}

/// Sort key that puts "Episode 2" before "Episode 10".
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                key.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u64::MAX),
                ));
                digits.clear();
            }
            text.extend(c.to_lowercase());
        }
    }
    key.push((text, digits.parse().unwrap_or(0)));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib_with_files() -> (tempfile::TempDir, Library) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("videos");
        std::fs::create_dir_all(root.join("Season 1")).unwrap();
        std::fs::write(root.join("Episode 10.mp4"), b"x").unwrap();
        std::fs::write(root.join("Episode 2.mp4"), b"xy").unwrap();
        std::fs::write(root.join(".hidden.mp4"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), b"s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("escape.mp4")).unwrap();
        std::os::unix::fs::symlink(root.join("Episode 2.mp4"), root.join("inside.mp4")).unwrap();
        let lib = Library::new(&[root]).unwrap();
        (dir, lib)
    }

    #[test]
    fn lists_in_natural_order_without_hidden_or_escaping_links() {
        let (_d, lib) = lib_with_files();
        let l = lib.list("").unwrap();
        let names: Vec<_> = l.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["Season 1", "Episode 2.mp4", "Episode 10.mp4", "inside.mp4"]
        );
        assert_eq!(l.entries[1].url_path, "Episode%202.mp4");
        assert_eq!(l.entries[1].size, 2);
    }

    /// Linux file names are bytes: one that is not UTF-8 is listed (shown with U+FFFD), its
    /// URL carries its bytes percent-encoded, and that URL resolves to it.
    #[test]
    fn names_that_are_not_utf8_are_listed_and_resolve() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let latin1 = OsStr::from_bytes(b"caf\xe9");
        std::fs::create_dir(dir.path().join(latin1)).unwrap();
        std::fs::write(
            dir.path().join(latin1).join(OsStr::from_bytes(b"\xff.mp4")),
            b"x",
        )
        .unwrap();
        let lib = Library::new(&[dir.path().to_path_buf()]).unwrap();
        let top = lib.list("").unwrap();
        assert_eq!(top.entries[0].name, "caf\u{fffd}");
        assert_eq!(top.entries[0].url_path, "caf%E9");
        let inside = lib.list("caf%E9/").unwrap();
        assert_eq!(inside.entries[0].url_path, "caf%E9/%FF.mp4");
        assert_eq!(
            lib.resolve("caf%E9/%FF.mp4").unwrap(),
            Resolved::File(
                std::fs::canonicalize(dir.path().join(latin1).join(OsStr::from_bytes(b"\xff.mp4")))
                    .unwrap()
            )
        );
        assert!(matches!(
            lib.resolve("caf%E9/%FE.mp4"),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn resolves_and_refuses() {
        let (_d, lib) = lib_with_files();
        assert!(matches!(
            lib.resolve("Episode%202.mp4"),
            Ok(Resolved::File(_))
        ));
        assert!(matches!(lib.resolve("Season%201/"), Ok(Resolved::Dir(_))));
        assert!(matches!(lib.resolve(""), Ok(Resolved::Top)));
        assert!(matches!(
            lib.resolve("escape.mp4"),
            Err(Error::Refused { .. })
        ));
        assert!(matches!(
            lib.resolve(".hidden.mp4"),
            Err(Error::Refused { .. })
        ));
        assert!(matches!(
            lib.resolve("../secret.txt"),
            Err(Error::Refused { .. })
        ));
        assert!(matches!(
            lib.resolve("missing.mp4"),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn several_roots_get_named_prefixes() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(b.path().join("x.mp4"), b"x").unwrap();
        let lib = Library::new(&[a.path().to_path_buf(), b.path().to_path_buf()]).unwrap();
        let top = lib.list("").unwrap();
        assert_eq!(top.entries.len(), 2);
        let bname = &lib.roots()[1].name;
        assert!(matches!(
            lib.resolve(&format!("{bname}/x.mp4")),
            Ok(Resolved::File(_))
        ));
        assert!(matches!(lib.resolve("x.mp4"), Err(Error::NotFound(_))));
    }

    /// `homestream serve movie.mp4`: the movie and its subtitles, none of its neighbours,
    /// not even when the same folder is also served as a whole under another name.
    #[test]
    fn a_served_file_shows_only_itself_and_its_subtitles() {
        let (d, _) = lib_with_files();
        let folder = d.path().join("videos");
        std::fs::write(folder.join("Episode 2.en.srt"), b"1").unwrap();
        std::fs::write(folder.join("Episode 10.srt"), b"1").unwrap();
        let one = Library::new(&[folder.join("Episode 2.mp4")]).unwrap();
        let names = |l: &Library, at: &str| -> Vec<String> {
            let listing = l.list(at).unwrap();
            listing.entries.into_iter().map(|e| e.name).collect()
        };
        assert_eq!(names(&one, ""), ["Episode 2.en.srt", "Episode 2.mp4"]);
        assert!(matches!(
            one.resolve("Episode%202.mp4"),
            Ok(Resolved::File(_))
        ));
        assert!(matches!(
            one.resolve("Episode%202.en.srt"),
            Ok(Resolved::File(_))
        ));
        for other in [
            "Episode%2010.mp4",
            "Episode%2010.srt",
            "inside.mp4",
            "Season%201/",
            "Season%201",
        ] {
            assert!(
                matches!(one.resolve(other), Err(Error::NotFound(_))),
                "{other}"
            );
        }
        assert!(matches!(one.list("Season%201"), Err(Error::NotFound(_))));

        // The folder and, again, one file of it: each root keeps its own view.
        let both = Library::new(&[folder.clone(), folder.join("Episode 2.mp4")]).unwrap();
        let (whole, single) = (&both.roots()[0].name, &both.roots()[1].name);
        assert_eq!((whole.as_str(), single.as_str()), ("videos", "videos-2"));
        assert_eq!(names(&both, whole).len(), 6, "{:?}", names(&both, whole));
        assert_eq!(names(&both, single), ["Episode 2.en.srt", "Episode 2.mp4"]);
        assert!(matches!(
            both.resolve(&format!("{single}/Episode%2010.mp4")),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            both.resolve(&format!("{whole}/Episode%2010.mp4")),
            Ok(Resolved::File(_))
        ));
    }

    #[test]
    fn a_hidden_file_or_a_missing_path_is_a_clear_error() {
        let (d, _) = lib_with_files();
        for bad in [d.path().join("videos/.hidden.mp4"), d.path().join("nope")] {
            let e = Library::new(&[bad]).err().expect("refused").to_string();
            assert!(e.contains("cannot serve"), "{e}");
        }
    }
}
