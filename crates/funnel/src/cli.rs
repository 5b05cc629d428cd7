//! `homestream funnel` and `homestream download`: the commands' edge (anyhow lives only here).
//!
//! Exit status of `download`: 0 done, 1 failed (partial file and sidecar kept: run the same
//! command again to resume), 3 SHA-256 mismatch, 130 interrupted (resumable).

use crate::client::{ClientOptions, build_client, parse_header};
use crate::download::{DownloadOptions, download};
use crate::engine::EngineConfig;
use crate::error::Error;
use crate::planner::PlanConfig;
use crate::size::parse_size;
use anyhow::Context;
use http::{HeaderName, HeaderValue};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How the funnel fetches (shared by `funnel` and `download`).
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Parallel connections to the origin
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub connections: u16,
    /// Memory unit: at most --max-blocks blocks of fetched, unread bytes are held (8M, 512K, 1G)
    #[arg(long, default_value = "8M", value_name = "SIZE", value_parser = parse_size)]
    pub block_size: u64,
    /// Bytes fetched per request (8M, 512K, 1G)
    #[arg(long, default_value = "1M", value_name = "SIZE", value_parser = parse_size)]
    pub piece_size: u64,
    /// Blocks of fetched, unread bytes held in memory at most
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_blocks: u64,
    /// Seconds without a byte before a connection counts as stalled and its piece is retried
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub stall_timeout: u64,
}

/// What goes out with every request to the origin.
#[derive(Debug, Clone, clap::Args)]
pub struct OriginArgs {
    /// Extra request header sent with every piece (repeatable): -H 'Name: value'
    #[arg(short = 'H', long = "header", value_name = "'Name: value'", value_parser = parse_header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Cookie header sent with every request
    #[arg(long)]
    pub cookie: Option<String>,
    /// User-Agent sent with every request
    #[arg(long)]
    pub user_agent: Option<String>,
    /// Referer sent with every request
    #[arg(long)]
    pub referer: Option<String>,
}

/// Serve a remote video to a local player over many connections.
#[derive(Debug, clap::Args)]
pub struct FunnelArgs {
    /// Remote URL (http or https; an .m3u8 playlist works too)
    pub url: String,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub origin: OriginArgs,
    /// Address to listen on (loopback by default: the funnel is for players on this machine)
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Port to listen on
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

/// Download a remote file over many connections.
#[derive(Debug, clap::Args)]
pub struct DownloadArgs {
    /// Remote URL (http or https; an .m3u8 playlist downloads its segments)
    pub url: String,
    /// Output file (an interrupted download resumes from FILE.homestream-part)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Expected SHA-256 of the whole file (64 hex digits); exit status 3 if it differs
    #[arg(long, value_name = "HEX", value_parser = parse_sha256)]
    pub sha256: Option<String>,
    /// No progress bar
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// HLS master playlist: the variant to download (best, worst, or the nearest BANDWIDTH)
    #[arg(long, default_value = "best", value_name = "best|worst|BANDWIDTH")]
    pub variant: crate::m3u8::Choice,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub origin: OriginArgs,
}

fn parse_sha256(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(t.to_ascii_lowercase())
    } else {
        Err("expected 64 hexadecimal digits".into())
    }
}

impl EngineArgs {
    /// The engine configuration, refusing inconsistent sizes with a message naming the options.
    pub fn config(&self) -> anyhow::Result<EngineConfig> {
        if self.piece_size > self.block_size {
            anyhow::bail!(
                "--piece-size ({}) must not exceed --block-size ({})",
                self.piece_size,
                self.block_size
            );
        }
        Ok(EngineConfig {
            plan: PlanConfig {
                connections: self.connections as usize,
                piece_size: self.piece_size,
                block_size: self.block_size,
                max_blocks: self.max_blocks,
                ..PlanConfig::default()
            },
            stall_timeout: Duration::from_secs(self.stall_timeout),
        })
    }
}

impl OriginArgs {
    pub fn client(&self) -> anyhow::Result<reqwest::Client> {
        Ok(build_client(&ClientOptions {
            headers: self.headers.clone(),
            cookie: self.cookie.clone(),
            user_agent: self.user_agent.clone(),
            referer: self.referer.clone(),
        })?)
    }
}

/// Runs `homestream funnel`.
pub async fn run_funnel(args: FunnelArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.engine.config()?;
    let client = args.origin.client()?;
    let state = crate::server::prepare(client, &args.url, cfg)
        .await
        .with_context(|| format!("cannot open {}", args.url))?;
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is the port taken? choose another with --port)")
    })?;
    let local = listener.local_addr()?;
    println!(
        "funnel: {} -> http://{local}/  (browser player: http://{local}/player)",
        args.url
    );
    axum::serve(listener, crate::server::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("local server failed")?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `homestream download`.
pub async fn run_download(args: DownloadArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.engine.config()?;
    let client = args.origin.client()?;
    let opts = DownloadOptions {
        url: args.url.clone(),
        output: args.output.clone(),
        sha256: args.sha256.clone(),
        engine: cfg,
        progress: !args.quiet,
        variant: args.variant,
    };
    let t0 = Instant::now();
    let cancel = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match download(client, &opts, cancel).await {
        Ok(r) => {
            let secs = t0.elapsed().as_secs_f64();
            let fetched = r.size - r.resumed;
            eprintln!(
                "downloaded {} ({} bytes{}) in {:.1} s, {:.1} MB/s{}",
                args.output.display(),
                r.size,
                if r.resumed > 0 {
                    format!(", {} resumed", r.resumed)
                } else {
                    String::new()
                },
                secs,
                fetched as f64 / secs.max(1e-9) / 1e6,
                r.sha256
                    .map(|h| format!(", sha256 {h} OK"))
                    .unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ Error::Checksum { .. }) => {
            eprintln!("download: {e}");
            Ok(ExitCode::from(3))
        }
        Err(Error::Cancelled) => {
            eprintln!("download interrupted: run the same command again to resume");
            Ok(ExitCode::from(130))
        }
        Err(e) => {
            eprintln!("download of {} failed: {e}", args.url);
            if crate::resume::sidecar_path(&args.output).exists() {
                eprintln!("the partial file is kept: run the same command again to resume");
            }
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    enum Cmd {
        Funnel(FunnelArgs),
        Download(DownloadArgs),
    }

    #[test]
    fn parses_options() {
        let Cmd::Funnel(f) = Cmd::try_parse_from([
            "x",
            "funnel",
            "http://h/v.mp4",
            "--connections",
            "4",
            "--block-size",
            "16M",
            "--piece-size",
            "512K",
            "-H",
            "X-A: 1",
            "-H",
            "X-B: 2",
            "--cookie",
            "a=b",
        ])
        .unwrap() else {
            panic!("not funnel")
        };
        assert_eq!(f.port, 8080);
        assert_eq!(f.engine.block_size, 16 << 20);
        assert_eq!(f.engine.piece_size, 512 << 10);
        assert_eq!(f.origin.headers.len(), 2);
        let c = f.engine.config().unwrap();
        assert_eq!(c.plan.connections, 4);
        let Cmd::Download(d) =
            Cmd::try_parse_from(["x", "download", "http://h/v", "-o", "f.bin"]).unwrap()
        else {
            panic!("not download")
        };
        assert_eq!(d.output, PathBuf::from("f.bin"));
    }

    #[test]
    fn bad_values_name_the_option() {
        for (args, opt) in [
            (vec!["--block-size", "8X"], "--block-size"),
            (vec!["--piece-size", "0"], "--piece-size"),
            (vec!["--connections", "0"], "--connections"),
            (vec!["-H", "nocolon"], "--header"),
        ] {
            let mut v = vec!["x", "funnel", "http://h/"];
            v.extend(args);
            let e = Cmd::try_parse_from(v).err().expect("refused").to_string();
            assert!(e.contains(opt), "{e}");
        }
        let Cmd::Funnel(f) =
            Cmd::try_parse_from(["x", "funnel", "http://h/", "--piece-size", "16M"]).unwrap()
        else {
            panic!()
        };
        let e = f.engine.config().unwrap_err().to_string();
        assert!(
            e.contains("--piece-size") && e.contains("--block-size"),
            "{e}"
        );
        let e = Cmd::try_parse_from(["x", "download", "http://h/", "-o", "f", "--sha256", "abc"])
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains("--sha256"), "{e}");
    }
}
