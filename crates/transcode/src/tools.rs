//! Finding and running ffmpeg and ffprobe: one-shot runs with a time limit, killed when
//! dropped, their stderr kept for the error.

use crate::Error;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// The two programs, once found.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

impl Tools {
    /// `ffmpeg` from `--ffmpeg` (ffprobe beside it) or from PATH; checked by running both with
    /// `-version`.
    pub fn find(ffmpeg: Option<&Path>) -> Result<Tools, Error> {
        let (ffmpeg, ffprobe) = match ffmpeg {
            Some(p) => {
                let probe = p.with_file_name(
                    p.file_name()
                        .map(|n| n.to_string_lossy().replace("ffmpeg", "ffprobe"))
                        .unwrap_or_else(|| "ffprobe".into()),
                );
                (p.to_path_buf(), probe)
            }
            None => (
                on_path("ffmpeg").ok_or_else(|| Error::NoFfmpeg("ffmpeg is not on PATH".into()))?,
                on_path("ffprobe")
                    .ok_or_else(|| Error::NoFfmpeg("ffprobe is not on PATH".into()))?,
            ),
        };
        for tool in [&ffmpeg, &ffprobe] {
            let ok = std::process::Command::new(tool)
                .arg("-version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err(Error::NoFfmpeg(format!("{} does not run", tool.display())));
            }
        }
        Ok(Tools { ffmpeg, ffprobe })
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Runs `program` with `args` on `file`, giving its stdout; fails with its stderr's last line.
pub async fn run(
    tool: &'static str,
    program: &Path,
    args: &[std::ffi::OsString],
    file: &Path,
    limit: Duration,
) -> Result<Vec<u8>, Error> {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::NoFfmpeg(format!("{}: {e}", program.display())))?;
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| Error::Timeout {
            tool,
            path: file.to_path_buf(),
            secs: limit.as_secs(),
        })?
        .map_err(|e| Error::Tool {
            tool,
            path: file.to_path_buf(),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(Error::Tool {
            tool,
            path: file.to_path_buf(),
            message: last_line(&out.stderr),
        });
    }
    Ok(out.stdout)
}

/// The last non-empty line of a tool's stderr (where ffmpeg says what went wrong).
pub fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    line.chars().take(300).collect()
}
