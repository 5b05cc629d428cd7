//! Load client for the live A/V benchmark: N concurrent WebSocket (MSE) viewers of
//! `/live/NAME/ws` on one tokio runtime, each counting fragments and the delay from each
//! fragment's `prft` capture time to its arrival; optionally records viewer 0 to a file and
//! measures the flash/beep A/V offset in it with ffmpeg.
//!
//! `ws_load ws://HOST:PORT/live/NAME/ws N --secs 10 --pids PID [--record out.mp4]` prints one
//! JSON line.

#[path = "../tests/common/load_args.rs"]
mod load_args;
#[path = "../tests/common/proc_usage.rs"]
mod proc_usage;
#[path = "../tests/common/ws_reader.rs"]
mod ws_reader;

use clap::Parser;
use load_args::LoadArgs;
use proc_usage::proc_usage;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};
use ws_reader::WsViewer;

#[derive(Parser)]
struct Args {
    /// ws://HOST:PORT/live/NAME/ws
    url: String,
    #[command(flatten)]
    load: LoadArgs,
    /// Client threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Record viewer 0 (init + fragments of the window) here and report its A/V offsets.
    #[arg(long)]
    record: Option<std::path::PathBuf>,
}

fn split_url(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| anyhow::anyhow!("only ws:// URLs"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let name = path
        .strip_prefix("live/")
        .and_then(|p| p.strip_suffix("/ws"))
        .ok_or_else(|| anyhow::anyhow!("expected ws://HOST:PORT/live/NAME/ws"))?;
    Ok((host.parse()?, name.to_string()))
}

fn delay_ms(fragment: &[u8]) -> Option<f64> {
    let prft = homestream_cmaf::read::find(fragment, &[b"prft"]).ok()??;
    let p = homestream_cmaf::read::read_prft(prft.body).ok()?;
    let d = SystemTime::now().duration_since(p.wall_clock()).ok()?;
    Some(d.as_secs_f64() * 1000.0)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (addr, name) = split_url(&args.url)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut viewers = Vec::new();
        let mut errors = 0usize;
        for chunk in (0..args.load.viewers).collect::<Vec<_>>().chunks(50) {
            let opened =
                futures_util::future::join_all(chunk.iter().map(|_| WsViewer::open(addr, &name)))
                    .await;
            for o in opened {
                match o {
                    Ok(v) => viewers.push(v),
                    Err(e) => {
                        errors += 1;
                        eprintln!("connect failed: {e}");
                    }
                }
            }
        }
        let connected = viewers.len();
        let start = tokio::time::Instant::now() + Duration::from_secs_f64(args.load.warmup);
        let end = start + Duration::from_secs_f64(args.load.secs);
        let record = args.record.is_some();
        let tasks: Vec<_> = viewers
            .into_iter()
            .enumerate()
            .map(|(i, mut v)| {
                tokio::spawn(async move {
                    let (mut count, mut delays, mut ended) = (0u32, Vec::new(), false);
                    let mut file = (record && i == 0).then(|| v.init.clone());
                    loop {
                        match tokio::time::timeout_at(end, v.next_fragment(Duration::from_secs(5))).await {
                            Ok(Ok(Some(f))) => {
                                if tokio::time::Instant::now() >= start {
                                    count += 1;
                                    if let Some(d) = delay_ms(&f) {
                                        delays.push(d);
                                    }
                                    if let Some(file) = file.as_mut() {
                                        file.extend_from_slice(&f);
                                    }
                                }
                            }
                            Ok(_) => {
                                ended = true;
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    (count, delays, ended, file)
                })
            })
            .collect();
        let pids = args.load.pids.clone();
        let usage = tokio::spawn(async move {
            tokio::time::sleep_until(start).await;
            let a = proc_usage(&pids);
            tokio::time::sleep_until(end).await;
            let b = proc_usage(&pids);
            ((b.0 - a.0) / args.load.secs * 100.0, b.1)
        });
        let (mut rates, mut delays, mut ended, mut recorded) = (Vec::new(), Vec::new(), 0, None);
        for t in tasks {
            let (count, d, e, file) = t.await?;
            rates.push(count as f64 / args.load.secs);
            delays.extend(d);
            ended += e as usize;
            if file.is_some() {
                recorded = file;
            }
        }
        let (cpu_pct, rss_kib) = usage.await?;
        rates.sort_by(f64::total_cmp);
        delays.sort_by(f64::total_cmp);
        let pct = |v: &[f64], p: f64| v.get(((v.len().max(1) - 1) as f64 * p).round() as usize).copied();
        let mut offsets = None;
        if let (Some(path), Some(bytes)) = (&args.record, recorded) {
            std::fs::write(path, bytes)?;
            offsets = Some(homestream_test_support::av_offsets(path));
        }
        println!(
            "{}",
            serde_json::json!({
                "viewers": args.load.viewers,
                "connected": connected,
                "connect_errors": errors,
                "streams_ended": ended,
                "fragments_per_s_min": rates.first().copied().unwrap_or(0.0),
                "fragments_per_s_median": rates.get(rates.len() / 2).copied().unwrap_or(0.0),
                "delay_p50_ms": pct(&delays, 0.5),
                "delay_p95_ms": pct(&delays, 0.95),
                "server_cpu_pct": cpu_pct,
                "server_rss_kib": rss_kib,
                "av_offsets_ms": offsets.map(|o| o.iter().map(|x| (x * 1000.0 * 10.0).round() / 10.0).collect::<Vec<_>>()),
            })
        );
        anyhow::Ok(())
    })
}
