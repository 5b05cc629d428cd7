//! Load client for the live benchmark: N concurrent MJPEG viewers on one tokio runtime, each
//! counting parts and recording the delay from X-Timestamp to the part's last byte.
//!
//! `live_load URL N --warmup 3 --secs 10` prints one JSON line:
//! `{"viewers":N,"connected":..,"fps_min":..,"fps_median":..,"delay_p50_ms":..,"delay_p99_ms":..}`

#[path = "../tests/common/load_args.rs"]
mod load_args;
#[path = "../tests/common/mjpeg_reader.rs"]
mod mjpeg_reader;
#[path = "../tests/common/proc_usage.rs"]
mod proc_usage;

use clap::Parser;
use load_args::LoadArgs;
use mjpeg_reader::MjpegStream;
use proc_usage::proc_usage;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Parser)]
struct Args {
    /// http://HOST:PORT/PATH of an MJPEG stream.
    url: String,
    #[command(flatten)]
    load: LoadArgs,
    /// Client threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

fn split_url(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("only http:// URLs"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((host.parse()?, format!("/{path}")))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (addr, path) = split_url(&args.url)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut streams = Vec::new();
        let mut errors = 0usize;
        // Connect in batches so the listen backlog is not overrun.
        for chunk in (0..args.load.viewers).collect::<Vec<_>>().chunks(50) {
            let opened = futures_util::future::join_all(
                chunk.iter().map(|_| MjpegStream::open(addr, &path, false)),
            )
            .await;
            for o in opened {
                match o {
                    Ok(s) => streams.push(s),
                    Err(e) => {
                        errors += 1;
                        eprintln!("connect failed: {e}");
                    }
                }
            }
        }
        let connected = streams.len();
        let start = tokio::time::Instant::now() + Duration::from_secs_f64(args.load.warmup);
        let end = start + Duration::from_secs_f64(args.load.secs);
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|mut s| {
                tokio::spawn(async move {
                    let mut count = 0u32;
                    let mut delays: Vec<f32> = Vec::with_capacity(400);
                    let mut failed = false;
                    loop {
                        match tokio::time::timeout_at(end, s.next()).await {
                            Ok(Ok(Some(p))) => {
                                if tokio::time::Instant::now() >= start {
                                    count += 1;
                                    if let Some(ts) = p.timestamp {
                                        delays.push(((p.received - ts) * 1000.0) as f32);
                                    }
                                }
                            }
                            Ok(_) => {
                                failed = true;
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    (count, delays, failed)
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
        let mut fps = Vec::new();
        let mut delays = Vec::new();
        let mut dropped_streams = 0;
        for t in tasks {
            let (count, d, failed) = t.await?;
            fps.push(count as f64 / args.load.secs);
            delays.extend(d);
            dropped_streams += failed as usize;
        }
        let (cpu_pct, rss_kib) = usage.await?;
        fps.sort_by(f64::total_cmp);
        delays.sort_by(f32::total_cmp);
        let pct = |v: &[f32], p: f64| -> f64 {
            if v.is_empty() {
                return f64::NAN;
            }
            v[((v.len() - 1) as f64 * p).round() as usize] as f64
        };
        let med = |v: &[f64]| {
            if v.is_empty() {
                f64::NAN
            } else {
                v[v.len() / 2]
            }
        };
        println!(
            "{}",
            serde_json::json!({
                "viewers": args.load.viewers,
                "connected": connected,
                "connect_errors": errors,
                "streams_ended": dropped_streams,
                "fps_min": fps.first().copied().unwrap_or(0.0),
                "fps_median": med(&fps),
                "delay_p50_ms": pct(&delays, 0.5),
                "delay_p99_ms": pct(&delays, 0.99),
                "samples": delays.len(),
                "server_cpu_pct": cpu_pct,
                "server_rss_kib": rss_kib,
            })
        );
        anyhow::Ok(())
    })
}
