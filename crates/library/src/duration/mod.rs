//! Duration from the container header, where it is cheap: a few small reads at known places,
//! never a scan of the media. Formats whose length is only known by reading them through (MP3
//! without a Xing header, MPEG-TS, AVI with a lying header) get no duration rather than a guess.
//!
//! Written by hand: each needs one or two numbers from a header, with bounded reads, while
//! the crates of these formats (mp4, matroska, metaflac, hound) parse the whole header or
//! want the whole stream, and a listing of thousands of files must stay a few reads per file.

mod flac;
mod matroska;
mod mp4;
mod wav;

use std::io::{Read, Seek};
use std::time::Duration;

/// The duration a file's header states, by file extension (lower case); `None` when the
/// format has none to read cheaply, or the header is damaged.
pub fn header_duration<R: Read + Seek>(extension: &str, r: &mut R) -> Option<Duration> {
    let d = match extension {
        "mp4" | "m4v" | "mov" | "m4a" => mp4::duration(r),
        "mkv" | "webm" | "mka" => matroska::duration(r),
        "flac" => flac::duration(r),
        "wav" => wav::duration(r),
        _ => None,
    }?;
    // A header may say anything; a year is more than any real file, and NaN is nothing.
    (d <= Duration::from_secs(366 * 24 * 3600)).then_some(d)
}

/// Seconds as a Duration, for finite non-negative values only.
fn secs(s: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(s).ok()
}
