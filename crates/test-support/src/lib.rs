//! Helpers shared by the integration tests of several crates (dev-dependency only).
//!
//! [`users_file`] writes an account with tokens in every state, for the login tests. The
//! browser tests drive Debian's chromium through `tests/browser/*.mjs` (playwright-core);
//! each script prints one JSON object, which the Rust test asserts on.

use homestream_auth::password::{HashParams, hash_password};
use homestream_auth::tokens;
use homestream_auth::users::UsersFile;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The account [`users_file`] writes.
pub const USER: &str = "alice";
/// Its password.
pub const PASSWORD: &str = "correct horse battery";

/// A users file and the tokens written into it.
pub struct Users {
    /// The file (`users.toml` in the folder given).
    pub path: PathBuf,
    /// A token valid for an hour.
    pub valid: String,
    /// A token that was revoked.
    pub revoked: String,
    /// A token that expired 90 seconds ago.
    pub expired: String,
    /// A token with the publish scope, valid for an hour.
    pub publisher: String,
}

/// Writes `dir/users.toml` with [`USER`] (password [`PASSWORD`], cheap hash) and a valid,
/// a revoked and an expired token.
pub fn users_file(dir: &Path) -> Users {
    let mut f = UsersFile::default();
    f.set_user(
        USER,
        hash_password(PASSWORD, HashParams::cheap()).unwrap(),
        false,
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (_, valid) = tokens::create(&mut f, USER, Some(Duration::from_secs(3600)), now).unwrap();
    let (rec, revoked) = tokens::create(&mut f, USER, None, now).unwrap();
    tokens::revoke(&mut f, &rec.id).unwrap();
    let (_, expired) =
        tokens::create(&mut f, USER, Some(Duration::from_secs(10)), now - 100).unwrap();
    let (_, publisher) =
        tokens::create_scoped(&mut f, USER, Some(Duration::from_secs(3600)), true, now).unwrap();
    let path = dir.join("users.toml");
    f.save(&path).unwrap();
    Users {
        path,
        valid,
        revoked,
        expired,
        publisher,
    }
}

/// A browser script gets this long before the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace root (the folder holding `tests/browser`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `tests/browser/<script>` with node and returns the JSON it printed. Panics with the
/// reason when node, the npm packages or chromium are missing (the README's test command
/// installs them), when the script fails, or when it runs over time.
pub async fn browser_script(
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> serde_json::Value {
    let dir = workspace_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "tests/browser/node_modules is missing: run `npm ci` in tests/browser (bash scripts/test.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (bash scripts/test.sh does)"
    );
    let out = tokio::time::timeout(
        SCRIPT_TIMEOUT,
        tokio::process::Command::new("node")
            .arg(dir.join(script))
            .args(args)
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{script} did not finish in {SCRIPT_TIMEOUT:?}"))
    .expect("node must be installed (bash scripts/test.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{script} printed no JSON object ({e}): {stdout}"))
}

/// Fails unless the browser script saw no script errors and no console errors (a failed load,
/// an exception in a page's script): things a user never sees but that break something.
pub fn assert_no_console_errors(seen: &serde_json::Value) {
    assert_no_console_errors_except(seen, &[]);
}

/// Like [`assert_no_console_errors`], but lets through errors that contain one of `expected`:
/// Chromium logs "the server responded with a status of 401" for a request the test makes on
/// purpose to see it refused, and that one is no fault.
pub fn assert_no_console_errors_except(seen: &serde_json::Value, expected: &[&str]) {
    let errors = seen["consoleErrors"]
        .as_array()
        .expect("the script's result has consoleErrors (tests/browser/lib.mjs adds it)");
    let unexpected: Vec<_> = errors
        .iter()
        .filter(|e| {
            let e = e.as_str().unwrap_or("");
            !expected.iter().any(|x| e.contains(x))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "the browser logged errors: {unexpected:#?}"
    );
}

/// What Debian's ffprobe says a file or URL lasts, in seconds. Blocking.
pub fn ffprobe_duration(target: &str) -> f64 {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(target)
        .output()
        .expect("ffprobe must be installed (bash scripts/test.sh installs ffmpeg)");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().unwrap_or_else(|_| {
        panic!(
            "ffprobe gave no duration for {target}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn ffmpeg_stderr(args: &[&str]) -> String {
    let out = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-copyts"])
        .args(args)
        .output()
        .expect("ffmpeg must be installed (bash scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Presentation times (seconds, the file's own time line) of the white flash frames of the
/// `test` pattern in a recording, as Debian's ffmpeg decodes it. Blocking.
pub fn flash_times(path: &Path) -> Vec<f64> {
    let p = path.to_string_lossy();
    let log = ffmpeg_stderr(&[
        "-i",
        &p,
        "-map",
        "0:v:0",
        "-vf",
        "signalstats,metadata=print:key=lavfi.signalstats.YAVG",
        "-f",
        "null",
        "-",
    ]);
    // Lines: "[Parsed_metadata_1 @ ..] frame:12 pts:36000 pts_time:0.4" then "... YAVG=235.1".
    let mut out = Vec::new();
    let mut t = None;
    for line in log.lines() {
        if let Some(i) = line.find("pts_time:") {
            t = line[i + 9..]
                .split_whitespace()
                .next()
                .and_then(|s| s.parse::<f64>().ok());
        } else if let Some(i) = line.find("YAVG=") {
            let y: f64 = line[i + 5..].trim().parse().unwrap_or(0.0);
            if y > 200.0
                && let Some(t) = t.take()
            {
                out.push(t);
            }
        }
    }
    out
}

/// Start times (seconds, the file's own time line) of the `test` tone's beeps in a
/// recording, as Debian's ffmpeg decodes it (the ends of the silences between). Blocking.
pub fn beep_onsets(path: &Path) -> Vec<f64> {
    let p = path.to_string_lossy();
    let log = ffmpeg_stderr(&[
        "-i",
        &p,
        "-map",
        "0:a:0",
        "-af",
        // aresample fills any gap in the track with silence, so that times follow timestamps.
        "aresample=async=1,silencedetect=noise=-30dB:d=0.3",
        "-f",
        "null",
        "-",
    ]);
    let mut onsets: Vec<f64> = log
        .lines()
        .filter_map(|l| {
            let i = l.find("silence_end: ")?;
            l[i + 13..].split_whitespace().next()?.parse::<f64>().ok()
        })
        .collect();
    // silencedetect reports the end of its input as the end of a silence: that is no beep
    // (CI once paired it with a last flash whose beep the recording had cut off). The decoded
    // end is up to a frame and the codec's delay (Opus: 6.5 ms) from the last packet's.
    if let Some(end) = audio_end(path) {
        onsets.retain(|t| *t < end - 0.05);
    }
    onsets
}

/// Where the first audio track of a recording ends (its last packet's time plus duration).
fn audio_end(path: &Path) -> Option<f64> {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0"])
        .args([
            "-show_entries",
            "packet=pts_time,duration_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let mut f = last.split(',').map(|v| v.trim().parse::<f64>().ok());
    Some(f.next()?? + f.next()??)
}

/// Pairs each flash with the beep that starts nearest to it (within half a second) and
/// returns `beep - flash` in seconds, in order: the A/V offset of a recording, once a second.
pub fn av_offsets(path: &Path) -> Vec<f64> {
    let beeps = beep_onsets(path);
    flash_times(path)
        .iter()
        .filter_map(|f| {
            beeps
                .iter()
                .map(|b| b - f)
                .filter(|d| d.abs() < 0.5)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))
        })
        .collect()
}

/// A free loopback port (bound and released: the server under test takes it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port")
        .port()
}
