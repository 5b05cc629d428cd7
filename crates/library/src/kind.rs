//! What a file is, from its extension: whether it is listed, and its Content-Type.

/// How the home page and player treat a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Video,
    Audio,
    Subtitle,
    /// Served when asked for by name, but not listed.
    Other,
}

/// (extension, Content-Type, kind). `mime_guess` gets several of these wrong or leaves them
/// out (`.ts` as TypeScript, no `.opus`/`.srt`), so the media table is ours.
const TABLE: &[(&str, &str, MediaKind)] = &[
    ("mp4", "video/mp4", MediaKind::Video),
    ("m4v", "video/x-m4v", MediaKind::Video),
    ("mov", "video/quicktime", MediaKind::Video),
    ("mkv", "video/x-matroska", MediaKind::Video),
    ("webm", "video/webm", MediaKind::Video),
    ("avi", "video/x-msvideo", MediaKind::Video),
    ("ts", "video/mp2t", MediaKind::Video),
    ("m2ts", "video/mp2t", MediaKind::Video),
    ("mpg", "video/mpeg", MediaKind::Video),
    ("mpeg", "video/mpeg", MediaKind::Video),
    ("ogv", "video/ogg", MediaKind::Video),
    ("mp3", "audio/mpeg", MediaKind::Audio),
    ("m4a", "audio/mp4", MediaKind::Audio),
    ("aac", "audio/aac", MediaKind::Audio),
    ("flac", "audio/flac", MediaKind::Audio),
    ("ogg", "audio/ogg", MediaKind::Audio),
    ("oga", "audio/ogg", MediaKind::Audio),
    ("opus", "audio/ogg; codecs=opus", MediaKind::Audio),
    ("wav", "audio/wav", MediaKind::Audio),
    ("vtt", "text/vtt; charset=utf-8", MediaKind::Subtitle),
    (
        "srt",
        "application/x-subrip; charset=utf-8",
        MediaKind::Subtitle,
    ),
];

fn lookup(name: &str) -> Option<&'static (&'static str, &'static str, MediaKind)> {
    let ext = name.rsplit_once('.')?.1;
    TABLE.iter().find(|(e, _, _)| e.eq_ignore_ascii_case(ext))
}

/// The Content-Type for a file name.
pub fn content_type(name: &str) -> &'static str {
    lookup(name).map_or("application/octet-stream", |(_, ct, _)| ct)
}

/// The kind of a file name.
pub fn kind_of(name: &str) -> MediaKind {
    lookup(name).map_or(MediaKind::Other, |(_, _, k)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(content_type("a.MP4"), "video/mp4");
        assert_eq!(content_type("x.ts"), "video/mp2t");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(kind_of("song.flac"), MediaKind::Audio);
        assert_eq!(kind_of("movie.en.srt"), MediaKind::Subtitle);
        assert_eq!(kind_of("notes.txt"), MediaKind::Other);
    }
}
