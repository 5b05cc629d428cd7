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

/// Reads the duration from a file's header.
pub type HeaderReader<R> = fn(&mut R) -> Option<Duration>;

/// The header reader for files with this extension (lower case), if their format states a
/// duration cheaply; it gives `None` when the header is damaged or has none.
pub fn header_reader<R: Read + Seek>(extension: &str) -> Option<HeaderReader<R>> {
    Some(match extension {
        "mp4" | "m4v" | "mov" | "m4a" => mp4::duration,
        "mkv" | "webm" | "mka" => matroska::duration,
        "flac" => flac::duration,
        "wav" => wav::duration,
        _ => return None,
    })
}

/// Seconds as a Duration, for what a real file could say: finite, not negative, and under a
/// year (a header may say anything).
fn secs(s: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| *d <= Duration::from_secs(366 * 24 * 3600))
}
