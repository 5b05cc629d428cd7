//! Load client for the WebRTC benchmark: N WHEP viewers over loopback, each a str0m peer on a
//! thread of its own (ICE, DTLS, SRTP as a browser does them), counting what arrives without
//! decoding it, so that the machine's cores go to the server being measured.
//!
//! str0m runs in RTP mode: packets are handed over as they come, with no jitter buffer and no
//! depacketizing. A video frame is counted at its last packet (RTP marker bit); its delay is
//! that packet's arrival minus the frame's capture time, read from its RTP timestamp and the
//! `X-Media-Epoch-Ms` the server answered with (the wall-clock time of RTP time 0).
//!
//! `whep_load URL N --warmup 3 --secs 10 --pids PID` prints one JSON line:
//! `{"viewers":N,"connected":..,"fps_min":..,"fps_median":..,"audio_fps_min":..,"kbit_s_median":..,
//!   "delay_p50_ms":..,"delay_p95_ms":..,"server_cpu_pct":..,"server_rss_kib":..,"join_errors":[..]}`

#[path = "../tests/common/load_args.rs"]
mod load_args;
#[path = "../tests/common/proc_usage.rs"]
mod proc_usage;
#[path = "../tests/common/str0m_viewer.rs"]
mod str0m_viewer;

use clap::Parser;
use load_args::LoadArgs;
use proc_usage::proc_usage;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use str0m::Event;
use str0m_viewer::{drive, join, unix_ms_now};

#[derive(Parser)]
struct Args {
    /// http://HOST:PORT/live/NAME/whep
    url: String,
    #[command(flatten)]
    load: LoadArgs,
    /// Seconds a viewer may take to join (WHEP answer, ICE and DTLS) before it counts as failed.
    #[arg(long, default_value_t = 15.0)]
    join_timeout: f64,
}

/// What one viewer measured inside the window.
#[derive(Default)]
struct Tally {
    frames: u32,
    audio: u32,
    bytes: u64,
    delays_ms: Vec<f32>,
}

/// Phase boundaries every viewer shares: measuring happens between `start` and `end`.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

/// Viewers count themselves in once their join has ended either way; then the window is set.
/// A joined viewer keeps driving its peer while it waits, so that ICE consent and DTLS stay alive.
struct Phases {
    joined: AtomicUsize,
    window: std::sync::OnceLock<Window>,
}

/// One viewer: joins, keeps its peer alive until the window is set (every viewer has tried to
/// join by then), then counts inside the window.
fn viewer(
    url: String,
    join_timeout: Duration,
    http: reqwest::blocking::Client,
    phases: Arc<Phases>,
) -> Result<Tally, String> {
    let joined = join(&http, &url, join_timeout);
    phases.joined.fetch_add(1, Ordering::SeqCst);
    let mut j = joined.map_err(|e| format!("{e:#}"))?;
    let w = loop {
        if let Some(w) = phases.window.get() {
            break *w;
        }
        drive(
            &mut j,
            Instant::now() + Duration::from_millis(50),
            &mut |_, _| false,
        )
        .map_err(|e| format!("{e:#}"))?;
    };
    let mut tally = Tally::default();
    let (epoch, opus) = (j.epoch_ms, j.opus_pt);
    // Arrival on the wall clock, from the packet's Instant: both clocks sampled once here.
    let (base_i, base_ms) = (Instant::now(), unix_ms_now());
    let result = drive(&mut j, w.end, &mut |e, now| {
        if let Event::RtpPacket(p) = e
            && now >= w.start
        {
            tally.bytes += p.payload.len() as u64;
            if *p.header.payload_type == opus {
                tally.audio += 1;
            } else if p.header.marker {
                tally.frames += 1;
                let arrived =
                    base_ms + now.saturating_duration_since(base_i).as_secs_f64() * 1000.0;
                // The extended RTP time (90 kHz) counts from the server's media epoch.
                let captured = epoch + p.time.as_seconds() * 1000.0;
                tally.delays_ms.push((arrived - captured) as f32);
            }
        }
        false
    });
    if !j.session_url.is_empty() {
        let _ = http.delete(&j.session_url).send();
    }
    result.map_err(|e| format!("{e:#}"))?;
    Ok(tally)
}

fn percentile(sorted: &[f32], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    Some(sorted[i] as f64)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let join_timeout = Duration::from_secs_f64(args.join_timeout);
    let phases = Arc::new(Phases {
        joined: AtomicUsize::new(0),
        window: std::sync::OnceLock::new(),
    });
    let http = reqwest::blocking::Client::new();
    let threads: Vec<_> = (0..args.load.viewers)
        .map(|_| {
            let (url, h, p) = (args.url.clone(), http.clone(), phases.clone());
            std::thread::Builder::new()
                .stack_size(512 * 1024)
                .spawn(move || viewer(url, join_timeout, h, p))
        })
        .collect::<Result<_, _>>()?;
    while phases.joined.load(Ordering::SeqCst) < args.load.viewers {
        std::thread::sleep(Duration::from_millis(20));
    }
    let start = Instant::now() + Duration::from_secs_f64(args.load.warmup);
    let end = start + Duration::from_secs_f64(args.load.secs);
    let _ = phases.window.set(Window { start, end });
    std::thread::sleep(start.saturating_duration_since(Instant::now()));
    let (cpu0, _) = proc_usage(&args.load.pids);
    let t0 = Instant::now();
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
    let (cpu1, rss) = proc_usage(&args.load.pids);
    let cpu_pct = (cpu1 - cpu0) / t0.elapsed().as_secs_f64() * 100.0;

    let mut fps = Vec::new();
    let mut audio = Vec::new();
    let mut kbit = Vec::new();
    let mut delays = Vec::new();
    let mut join_errors = Vec::new();
    for t in threads {
        match t.join() {
            Ok(Ok(tally)) => {
                fps.push(tally.frames as f64 / args.load.secs);
                audio.push(tally.audio as f64 / args.load.secs);
                kbit.push(tally.bytes as f64 * 8.0 / 1000.0 / args.load.secs);
                delays.extend(tally.delays_ms);
            }
            Ok(Err(e)) => join_errors.push(e),
            Err(_) => join_errors.push("viewer thread panicked".to_owned()),
        }
    }
    delays.sort_by(f32::total_cmp);
    let min = |v: &[f64]| v.iter().copied().reduce(f64::min);
    let out = serde_json::json!({
        "viewers": args.load.viewers,
        "connected": fps.len(),
        "fps_min": min(&fps),
        "fps_median": median(fps.clone()),
        "audio_fps_min": min(&audio),
        "kbit_s_median": median(kbit),
        "delay_p50_ms": percentile(&delays, 0.5),
        "delay_p95_ms": percentile(&delays, 0.95),
        "server_cpu_pct": if args.load.pids.is_empty() { None } else { Some(cpu_pct) },
        "server_rss_kib": rss,
        "join_errors": join_errors,
    });
    println!("{out}");
    Ok(())
}
