//! The download's sidecar state (`FILE.homestream-part`): which byte ranges of FILE are already
//! written, and the origin identity they belong to. A resume only trusts these bytes if the
//! origin still has the same size and validator; otherwise the download starts over.

use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Sorted, merged, non-overlapping byte ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    /// Adds `r`, merging neighbours.
    pub fn insert(&mut self, r: Range<u64>) {
        if r.start >= r.end {
            return;
        }
        let (mut s, mut e) = (r.start, r.end);
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut placed = false;
        for &(a, b) in &self.0 {
            if b < s {
                out.push((a, b));
            } else if a > e {
                if !placed {
                    out.push((s, e));
                    placed = true;
                }
                out.push((a, b));
            } else {
                s = s.min(a);
                e = e.max(b);
            }
        }
        if !placed {
            out.push((s, e));
        }
        self.0 = out;
    }

    /// Total bytes covered.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|(a, b)| b - a).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ranges of `0..size` not covered.
    pub fn missing(&self, size: u64) -> Vec<Range<u64>> {
        let mut out = Vec::new();
        let mut at = 0;
        for &(a, b) in &self.0 {
            if a > at {
                out.push(at..a.min(size));
            }
            at = at.max(b);
        }
        if at < size {
            out.push(at..size);
        }
        out.retain(|r| r.start < r.end);
        out
    }
}

/// What the sidecar file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartState {
    pub url: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub done: RangeSet,
}

/// `FILE` -> `FILE.homestream-part`.
pub fn sidecar_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".homestream-part");
    PathBuf::from(s)
}

/// Reads the sidecar; `None` if absent or unreadable (then the download starts over).
pub fn load(path: &Path) -> Option<PartState> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes the sidecar atomically (temp file + rename), so an interruption never leaves it torn.
pub fn save(path: &Path, st: &PartState) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let json = serde_json::to_vec(st).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rangeset_merges_and_reports_missing() {
        let mut s = RangeSet::default();
        s.insert(10..20);
        s.insert(30..40);
        s.insert(20..25);
        assert_eq!(s.0, vec![(10, 25), (30, 40)]);
        assert_eq!(s.missing(50), vec![0..10, 25..30, 40..50]);
        s.insert(0..100);
        assert_eq!(s.0, vec![(0, 100)]);
        assert!(s.missing(100).is_empty());
        assert_eq!(s.len(), 100);
        s.insert(5..5);
        assert_eq!(s.len(), 100);
    }

    #[test]
    fn sidecar_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = sidecar_path(&dir.path().join("a.mp4"));
        assert!(p.to_string_lossy().ends_with("a.mp4.homestream-part"));
        let mut done = RangeSet::default();
        done.insert(0..5);
        let st = PartState {
            url: "http://127.0.0.1/x".into(),
            size: 10,
            etag: Some("\"e\"".into()),
            last_modified: None,
            done,
        };
        save(&p, &st).unwrap();
        assert_eq!(load(&p), Some(st));
        std::fs::write(&p, b"{garbage").unwrap();
        assert_eq!(load(&p), None);
    }
}
