//! The segment grid of a file and its HLS VOD playlist (sans-IO).
//!
//! The playlist is written before any segment exists, so that a player can seek anywhere at
//! once; the grid is what every ffmpeg job for the file cuts at, whichever segment it starts
//! from. Copied video can only be cut at its own keyframes, so its segments start at the
//! first keyframe at least [`SEGMENT_SECS`] after the previous start; re-encoded video gets a
//! keyframe forced at every multiple of [`SEGMENT_SECS`].

use std::fmt::Write;

/// The target segment length. Short enough that a seek starts within a segment's encode,
/// long enough that a 2-hour film is 1 800 entries.
pub const SEGMENT_SECS: f64 = 4.0;

/// How far a fragment's time may fall before a segment start and still begin it: below a
/// frame at any rate, above the rounding between a container's and a track's timescale.
pub const CUT_SLACK_SECS: f64 = 0.010;

/// Segment start times in seconds (the first is 0) for a file of `duration` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    starts: Vec<f64>,
    duration: f64,
}

impl Grid {
    /// The grid for re-encoded video: every [`SEGMENT_SECS`].
    pub fn fixed(duration: f64) -> Grid {
        let duration = duration.max(0.001);
        let n = (duration / SEGMENT_SECS - CUT_SLACK_SECS).ceil().max(1.0) as usize;
        Grid {
            starts: (0..n).map(|i| i as f64 * SEGMENT_SECS).collect(),
            duration,
        }
    }

    /// The grid for copied video with keyframes at `keyframes` (from 0, sorted).
    pub fn from_keyframes(keyframes: &[f64], duration: f64) -> Grid {
        let duration = duration.max(0.001);
        let mut starts = vec![0.0];
        for &k in keyframes {
            let last = *starts.last().unwrap_or(&0.0);
            if k >= last + SEGMENT_SECS - CUT_SLACK_SECS && k < duration - CUT_SLACK_SECS {
                starts.push(k);
            }
        }
        Grid { starts, duration }
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Where segment `i` starts, in seconds.
    pub fn start(&self, i: usize) -> Option<f64> {
        self.starts.get(i).copied()
    }

    /// How long segment `i` lasts.
    pub fn length(&self, i: usize) -> Option<f64> {
        let s = self.start(i)?;
        let end = self.start(i + 1).unwrap_or(self.duration);
        Some((end - s).max(0.001))
    }

    /// The segment a fragment starting at `t` seconds belongs to.
    pub fn segment_at(&self, t: f64) -> usize {
        let t = t + CUT_SLACK_SECS;
        self.starts.partition_point(|&s| s <= t).saturating_sub(1)
    }

    /// The playlist: `init.mp4` and `<i>.m4s`, names relative to the playlist.
    pub fn playlist(&self) -> String {
        let longest = (0..self.len())
            .filter_map(|i| self.length(i))
            .fold(0.0, f64::max);
        let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n");
        let _ = writeln!(
            out,
            "#EXT-X-TARGETDURATION:{}",
            longest.round().max(1.0) as u64
        );
        out.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n");
        out.push_str("#EXT-X-MAP:URI=\"init.mp4\"\n");
        for i in 0..self.len() {
            let _ = writeln!(
                out,
                "#EXTINF:{:.3},\n{i}.m4s",
                self.length(i).unwrap_or(0.0)
            );
        }
        out.push_str("#EXT-X-ENDLIST\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_grid_covers_the_file_and_ends_with_the_rest() {
        let g = Grid::fixed(10.5);
        assert_eq!(g.len(), 3);
        assert_eq!(g.start(2), Some(8.0));
        assert!((g.length(2).unwrap() - 2.5).abs() < 1e-9);
        // A file of exactly 8 s has 2 segments, not a third of nothing.
        assert_eq!(Grid::fixed(8.0).len(), 2);
        assert_eq!(Grid::fixed(0.0).len(), 1);
    }

    #[test]
    fn keyframe_segments_start_at_keyframes_at_least_a_target_apart() {
        let kf = [0.0, 2.0, 4.0, 6.0, 9.5, 10.0, 14.0, 19.99];
        let g = Grid::from_keyframes(&kf, 20.0);
        assert_eq!(g.starts, vec![0.0, 4.0, 9.5, 14.0]);
        // A keyframe in the last instant starts no empty segment.
        assert!((g.length(3).unwrap() - 6.0).abs() < 1e-9);
        // Sparse keyframes make long segments; none at all make one.
        assert_eq!(
            Grid::from_keyframes(&[0.0, 12.0], 30.0).starts,
            vec![0.0, 12.0]
        );
        assert_eq!(Grid::from_keyframes(&[], 30.0).len(), 1);
    }

    #[test]
    fn fragments_fall_into_the_segment_they_start() {
        let g = Grid::fixed(20.0);
        assert_eq!(g.segment_at(0.0), 0);
        assert_eq!(g.segment_at(3.98), 0); // a scene-cut keyframe before the forced one
        assert_eq!(g.segment_at(3.995), 1); // the forced one, rounded down by a timescale
        assert_eq!(g.segment_at(4.03), 1);
        assert_eq!(g.segment_at(99.0), 4);
        assert_eq!(g.segment_at(-1.0), 0);
    }

    #[test]
    fn the_playlist_lists_every_segment_once() {
        let p = Grid::fixed(10.5).playlist();
        assert!(p.starts_with("#EXTM3U\n"));
        assert!(p.contains("#EXT-X-TARGETDURATION:4\n"));
        assert!(
            p.contains("#EXTINF:4.000,\n0.m4s\n#EXTINF:4.000,\n1.m4s\n#EXTINF:2.500,\n2.m4s\n")
        );
        assert!(p.ends_with("#EXT-X-ENDLIST\n"));
    }
}
