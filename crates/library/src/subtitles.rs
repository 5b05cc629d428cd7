//! Sidecar subtitles: which files belong to a video, and SubRip converted to WebVTT
//! (browsers' `<track>` only reads WebVTT; https://www.w3.org/TR/webvtt1/).

/// A subtitle file that sits next to a video (`movie.vtt`, `movie.en.srt`, ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SubtitleTrack {
    /// File name in the same folder.
    pub file: String,
    /// Language or label from the middle part of the name (`en` in `movie.en.srt`), if any.
    pub label: Option<String>,
}

/// Sidecars for `video` among the `names` of its folder, sorted by file name.
pub fn sidecars_for(video: &str, names: &[String]) -> Vec<SubtitleTrack> {
    let Some((stem, _)) = video.rsplit_once('.') else {
        return Vec::new();
    };
    let mut out: Vec<SubtitleTrack> = names
        .iter()
        .filter_map(|n| {
            let (base, ext) = n.rsplit_once('.')?;
            if !(ext.eq_ignore_ascii_case("vtt") || ext.eq_ignore_ascii_case("srt")) {
                return None;
            }
            let label = if base == stem {
                None
            } else {
                let rest = base.strip_prefix(stem)?.strip_prefix('.')?;
                Some(rest.to_string())
            };
            Some(SubtitleTrack {
                file: n.clone(),
                label,
            })
        })
        .collect();
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

/// Converts SubRip text to WebVTT: adds the header, turns `,` into `.` in cue timings, drops
/// the numeric cue counters, normalizes line ends and strips a BOM. Text is kept as is (SRT's
/// `<i>`/`<b>` tags are valid WebVTT too).
pub fn srt_to_vtt(srt: &str) -> String {
    let srt = srt.strip_prefix('\u{feff}').unwrap_or(srt);
    let mut out = String::with_capacity(srt.len() + 16);
    out.push_str("WEBVTT\n\n");
    let normalized = srt.replace("\r\n", "\n").replace('\r', "\n");
    for block in normalized.split("\n\n") {
        let mut lines = block.lines().skip_while(|l| l.trim().is_empty()).peekable();
        // The counter line is optional in practice; drop it only when a timing line follows.
        if let Some(first) = lines.peek()
            && !first.contains("-->")
            && first.trim().chars().all(|c| c.is_ascii_digit())
        {
            lines.next();
        }
        let mut wrote = false;
        for line in lines {
            if line.contains("-->") {
                out.push_str(&line.replace(',', "."));
            } else {
                out.push_str(line);
            }
            out.push('\n');
            wrote = true;
        }
        if wrote {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_srt() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\n<i>World</i>\r\nline two\r\n";
        assert_eq!(
            srt_to_vtt(srt),
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello\n\n00:00:03.000 --> 00:00:04.000\n<i>World</i>\nline two\n\n"
        );
    }

    #[test]
    fn finds_sidecars() {
        let names: Vec<String> = [
            "movie.mp4",
            "movie.srt",
            "movie.en.vtt",
            "movie2.srt",
            "other.vtt",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let t = sidecars_for("movie.mp4", &names);
        assert_eq!(
            t,
            vec![
                SubtitleTrack {
                    file: "movie.en.vtt".into(),
                    label: Some("en".into())
                },
                SubtitleTrack {
                    file: "movie.srt".into(),
                    label: None
                },
            ]
        );
    }
}
