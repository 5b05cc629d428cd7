//! `homestream watch`: the command's edge, where errors become messages and exit codes.

use crate::client::Auth;
use crate::watch::{Stop, WatchOptions, watch_each};
use crate::{Error, Frame, stats::Snapshot};
use anyhow::Context;
use http::{HeaderName, HeaderValue};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Exit status of `homestream watch`, for scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// `--frames`, `--duration` or `--snapshot` was satisfied.
    Done = 0,
    /// Another error (e.g. a file could not be written, a bad option value).
    Other = 1,
    /// The server ended or broke the stream before the requested frames or duration.
    Ended = 3,
    /// The server could not be reached, or went silent for longer than `--timeout`.
    Unreachable = 4,
    /// The answer is not a multipart stream (or has no boundary).
    NotMultipart = 5,
    /// The server refused the credentials (401 or 403).
    AuthRefused = 6,
    /// The server answered with another HTTP error status.
    HttpStatus = 7,
    /// The stream is malformed (a part over the size limit, a truncated part).
    Malformed = 8,
}

impl Exit {
    /// The exit status for an error.
    pub fn of(e: &Error) -> Self {
        match e {
            Error::Ended | Error::Body { .. } => Exit::Ended,
            Error::Unreachable { .. } | Error::Timeout { .. } | Error::Untrusted { .. } => {
                Exit::Unreachable
            }
            Error::NotMultipart { .. } | Error::MissingBoundary { .. } => Exit::NotMultipart,
            Error::AuthRefused { .. } => Exit::AuthRefused,
            Error::Status { .. } => Exit::HttpStatus,
            Error::PartTooLarge { .. }
            | Error::HeadersTooLarge { .. }
            | Error::Truncated { .. }
            | Error::ParserFailed => Exit::Malformed,
            _ => Exit::Other,
        }
    }
}

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  done: --frames, --duration or --snapshot satisfied
  1  other error (a file could not be written, a bad value)
  2  bad command line
  3  the stream ended (or broke) before that
  4  the server is unreachable, went silent longer than --timeout, or its TLS certificate
     is not trusted (see --cacert, --insecure)
  5  the answer is not a multipart/x-mixed-replace stream
  6  authentication refused (401/403)
  7  another HTTP error status
  8  malformed stream (part over the size limit, truncated part)";

/// Read an MJPEG stream and report on it: a live stats line on stderr (fps, kbit/s, frame
/// size, delay from X-Timestamp), optionally saving frames.
#[derive(Debug, clap::Args)]
#[command(after_help = EXIT_STATUS_HELP)]
pub struct WatchArgs {
    /// URL of a multipart/x-mixed-replace stream (http://user:password@host/... sends basic auth)
    pub url: String,
    /// Stop after N frames
    #[arg(long, value_name = "N")]
    pub frames: Option<u64>,
    /// Stop after SECS seconds (decimals allowed)
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<Duration>,
    /// Save every frame into DIR as frame-000001.jpg, ... (in order, byte-exact)
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// Save one frame to FILE, then exit
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Print one JSON line of statistics per second on stdout (and a last one at the end)
    #[arg(long)]
    pub json: bool,
    /// User name for HTTP basic authentication (password: --password-stdin, or empty)
    #[arg(long, short = 'u', value_name = "NAME")]
    pub user: Option<String>,
    /// Read the basic-auth password from the first line of stdin
    #[arg(long, requires = "user")]
    pub password_stdin: bool,
    /// Send `Authorization: Bearer TOKEN` (the environment keeps it out of process lists)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "HOMESTREAM_TOKEN",
        hide_env_values = true,
        conflicts_with = "user"
    )]
    pub bearer: Option<String>,
    /// Extra request header, e.g. -H 'Cookie: a=b' (repeatable)
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Seconds allowed to connect, and of silence while reading
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Also trust the certificate authorities in FILE (PEM), e.g. the certificate a server
    /// was started with (`homestream serve --tls-cert FILE`)
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Accept the server's certificate without checking it (a self-signed server on a network
    /// you trust)
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Show the newest frame in a window (space pauses, s saves, f full screen, q quits); the
    /// other options still apply, and the window closes when they end watching
    #[arg(long)]
    pub show: bool,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} is not a number of seconds >= 0"))
}

fn parse_header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not 'Name: value'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|e| format!("header name {name:?}: {e}"))?;
    let value =
        HeaderValue::from_str(value.trim()).map_err(|e| format!("header value {value:?}: {e}"))?;
    Ok((name, value))
}

impl WatchArgs {
    /// The library options these arguments stand for (reads stdin for `--password-stdin`).
    pub fn options(&self) -> anyhow::Result<WatchOptions> {
        let mut o = WatchOptions::new(&self.url);
        o.frames = self.frames;
        o.duration = self.duration;
        o.save_dir = self.save.clone();
        o.snapshot = self.snapshot.clone();
        o.client.headers = self.headers.clone();
        o.client.connect_timeout = self.timeout;
        o.client.read_timeout = self.timeout;
        o.client.insecure = self.insecure;
        if let Some(path) = &self.cacert {
            o.client.ca_pem = Some(
                std::fs::read(path)
                    .with_context(|| format!("--cacert: cannot read {}", path.display()))?,
            );
        }
        if let Some(user) = &self.user {
            let mut password = String::new();
            if self.password_stdin {
                std::io::stdin()
                    .read_line(&mut password)
                    .context("--password-stdin: cannot read stdin")?;
            }
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            o.client.auth = Some(Auth::Basic {
                user: user.clone(),
                password,
            });
        }
        if let Some(token) = &self.bearer {
            o.client.auth = Some(Auth::Bearer(token.clone()));
        }
        Ok(o)
    }
}

/// Runs `homestream watch`.
pub async fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    run_with(args, |_| {}, std::future::pending()).await
}

/// Runs `homestream watch` with every option applied, handing each frame to `on_frame` too and
/// stopping (as done, exit 0) when `cancel` completes: the `--show` window is this plus a view.
pub async fn run_with(
    args: WatchArgs,
    on_frame: impl FnMut(&Frame),
    cancel: impl std::future::Future<Output = ()>,
) -> anyhow::Result<ExitCode> {
    let opts = args.options()?;
    let tty = std::io::stderr().is_terminal();
    let json = args.json;
    let ticking = tty || json;
    let mut o = opts.clone();
    if tty && !json {
        o.tick = Duration::from_millis(250);
    }
    let show = |s: &Snapshot, last: bool| {
        if json && let Ok(line) = serde_json::to_string(s) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        if tty {
            eprint!("\r\x1b[2K{}", s.line());
            if last {
                eprintln!();
            }
        } else if last {
            eprintln!("{}", s.line());
        }
    };
    let result = watch_each(
        &o,
        |s| {
            if ticking {
                show(s, false)
            }
        },
        on_frame,
        cancel,
    )
    .await;
    let code = match result {
        Ok(summary) => {
            show(&summary.stats, true);
            if let Some(dir) = &args.save {
                eprintln!("saved {} frames in {}", summary.saved.len(), dir.display());
            }
            match summary.stop {
                Stop::Ended => {
                    eprintln!("the stream ended");
                    Exit::Ended
                }
                Stop::Snapshot | Stop::Frames | Stop::Duration | Stop::Closed => Exit::Done,
            }
        }
        Err(e) => {
            if tty {
                eprintln!();
            }
            // The HTTP client's own message is terse; its sources say why (refused, DNS...).
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(cause) = src {
                let text = cause.to_string();
                if !msg.contains(&text) {
                    msg = format!("{msg}: {text}");
                }
                src = cause.source();
            }
            eprintln!("homestream watch: {msg}");
            Exit::of(&e)
        }
    };
    Ok(ExitCode::from(code as u8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser, Subcommand};

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: Cmd,
    }
    #[derive(Subcommand)]
    enum Cmd {
        Watch(WatchArgs),
    }

    #[test]
    fn help_documents_exit_status_and_options_parse() {
        let help = Cli::command()
            .find_subcommand_mut("watch")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(
            help.contains("Exit status:") && help.contains("6  authentication refused"),
            "{help}"
        );
        let Cmd::Watch(a) = Cli::try_parse_from([
            "x",
            "watch",
            "http://h/s.mjpg",
            "--frames",
            "5",
            "--duration",
            "1.5",
            "-H",
            "X-A: b",
            "--timeout",
            "2",
        ])
        .unwrap()
        .cmd;
        assert_eq!(a.frames, Some(5));
        assert_eq!(a.duration, Some(Duration::from_millis(1500)));
        assert_eq!(a.headers[0].0, "x-a");
        let o = a.options().unwrap();
        assert_eq!(o.client.read_timeout, Duration::from_secs(2));
        let e = Cli::try_parse_from(["x", "watch", "u", "--duration=-1"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--duration"), "{e}");
        assert!(Cli::try_parse_from(["x", "watch", "u", "-H", "nocolon"]).is_err());
    }
}
