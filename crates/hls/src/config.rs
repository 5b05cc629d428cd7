//! How the muxer cuts parts and segments, with the defaults a home LAN wants and the rules of
//! RFC 8216bis that a configuration must keep (checked in [`Config::check`]).

use crate::error::HlsError;
use std::time::Duration;

/// Muxer settings. [`Config::default`] gives ~200 ms parts of a 30 fps stream, segments of
/// one keyframe interval (1-2 s) and a target duration of 2 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The wanted part length; parts are whole frames, so it is rounded to a frame count.
    pub part_duration: Duration,
    /// The source's nominal frame interval (1 / fps).
    pub frame_interval: Duration,
    /// A segment ends at the first keyframe at least this far from its start.
    pub segment_min: Duration,
    /// `EXT-X-TARGETDURATION`, seconds: a segment that reaches it ends even without a
    /// keyframe (and the encoder is asked for one before that).
    pub target_duration: u64,
    /// Completed segments kept for clients after they left the playlist (RFC 8216bis §6.2.2:
    /// a removed segment stays available for as long as a playlist naming it may be held).
    pub keep_after_window: usize,
    /// How long a request may wait for the first segment of a stream that is starting.
    pub start_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            part_duration: Duration::from_millis(200),
            frame_interval: Duration::from_nanos(1_000_000_000 / 30),
            segment_min: Duration::from_secs(1),
            target_duration: 2,
            keep_after_window: 8,
            start_timeout: Duration::from_secs(10),
        }
    }
}

impl Config {
    /// The default for a source of `fps` frames per second.
    pub fn for_fps(fps: f64) -> Config {
        let fps = if fps.is_finite() && fps > 0.0 {
            fps.clamp(1.0, 240.0)
        } else {
            30.0
        };
        let mut c = Config {
            frame_interval: Duration::from_nanos((1e9 / fps).round() as u64),
            ..Config::default()
        };
        // A part is at least a frame: slow sources get longer segments to hold two parts.
        let two_parts = (c.part_target() * 2).as_secs_f64().ceil() as u64;
        c.target_duration = c.target_duration.max(two_parts);
        c
    }

    /// Refuses settings that would break the playlist rules.
    pub fn check(&self) -> Result<(), HlsError> {
        let bad = |m: &str| Err(HlsError::Invalid(format!("HLS muxer: {m}")));
        if self.frame_interval.is_zero() || self.frame_interval > Duration::from_secs(1) {
            return bad("frame interval must be in (0, 1] s");
        }
        if self.part_duration.is_zero() {
            return bad("part duration must be above 0");
        }
        if self.target_duration == 0 || self.target_duration > 10 {
            return bad("target duration must be 1-10 s");
        }
        let td = Duration::from_secs(self.target_duration);
        if self.part_target() > td / 2 {
            return bad("parts must be at most half the target duration");
        }
        if self.segment_min > td {
            return bad("the shortest segment must not exceed the target duration");
        }
        Ok(())
    }

    /// Frames in a part.
    pub fn frames_per_part(&self) -> u32 {
        let n = self.part_duration.as_secs_f64() / self.frame_interval.as_secs_f64();
        (n.round() as u32).max(1)
    }

    /// What a part lasts when frames arrive on time.
    pub fn part_nominal(&self) -> Duration {
        self.frame_interval * self.frames_per_part()
    }

    /// `PART-TARGET`: the longest part. RFC 8216bis §4.4.3.7 wants every part (but a
    /// segment's last and an independent one) to last at least 85 % of it, so it is the nominal
    /// part / 0.85, in whole milliseconds rounded down: 235 ms for 6 frames of a 30 fps source,
    /// which leaves 35 ms for a late frame (and a part with sound in it is cut at a sound
    /// fragment before it gets longer, [`crate::segmenter`]).
    pub fn part_target(&self) -> Duration {
        let us = self.part_nominal().as_micros() * 100 / 85;
        Duration::from_millis((us / 1000) as u64)
    }

    /// A part with sound is cut before a sound fragment that starts this late into it (the
    /// video frame that should have ended it is late): 25 ms before the part target, more
    /// than a 20 ms Opus packet.
    pub fn audio_cut(&self) -> Duration {
        self.part_target().saturating_sub(Duration::from_millis(25))
    }

    /// `PART-HOLD-BACK`: three part targets (§4.4.3.8 wants at least two; three is what
    /// Apple's tools write and what hls.js plays well with).
    pub fn part_hold_back(&self) -> Duration {
        self.part_target() * 3
    }

    /// The playlist lists at least this much media (§6.2.2: three target durations).
    pub fn window(&self) -> Duration {
        Duration::from_secs(3 * self.target_duration)
    }

    /// The longest a blocking request is held: three target durations, the time after
    /// which a client gives up on it (§6.2.5.2, §6.3.4).
    pub fn block_limit(&self) -> Duration {
        Duration::from_secs(3 * self.target_duration)
    }

    /// §6.2.5.2's Advance Part Limit: a `_HLS_part` further ahead of the last part than
    /// this is refused (3 / PART-TARGET when that is below a second, else 3).
    pub fn advance_part_limit(&self) -> u64 {
        let pt = self.part_target().as_secs_f64();
        if pt < 1.0 {
            (3.0 / pt).floor() as u64
        } else {
            3
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_the_rules() {
        let c = Config::default();
        c.check().unwrap();
        assert_eq!(c.frames_per_part(), 6);
        assert_eq!(c.part_target(), Duration::from_millis(235));
        assert!(c.part_nominal().as_secs_f64() >= 0.85 * c.part_target().as_secs_f64());
        assert_eq!(c.part_hold_back(), Duration::from_millis(705));
        assert_eq!(c.advance_part_limit(), 12);
        assert_eq!(Config::for_fps(25.0).frames_per_part(), 5);
        assert_eq!(Config::for_fps(5.0).frames_per_part(), 1);
        Config::for_fps(1.0).check().unwrap();
        assert_eq!(Config::for_fps(1.0).target_duration, 3);
        assert_eq!(Config::for_fps(30.0).target_duration, 2);
        assert_eq!(Config::for_fps(f64::NAN), Config::default());
        let mut bad = Config {
            target_duration: 0,
            ..Config::default()
        };
        assert!(bad.check().is_err());
        bad.target_duration = 2;
        bad.part_duration = Duration::from_secs(2);
        assert!(bad.check().is_err());
    }
}
