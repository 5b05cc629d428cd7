//! Times the hot paths of a live stream at 1280x720 and 48 kHz, in a release build:
//!
//! ```sh
//! cargo run --release -p homestream-codec --example bench
//! OPENH264_NO_ASM=1 CARGO_TARGET_DIR=target/noasm cargo run --release -p homestream-codec --example bench
//! ```
//!
//! The second line builds OpenH264 without its nasm kernels (what a machine without nasm gets).
//!
//! Each line reports wall time and, on Linux, the CPU time this thread actually ran
//! (`/proc/thread-self/schedstat`), which stays honest when other builds share the cores.

use homestream_codec::pixels::{rgb_to_i420, rgb_to_i420_into};
use homestream_codec::{
    AudioEncoder, Denoiser, H264Config, H264Encoder, I420, OpusConfig, OpusEncoder, VideoEncoder,
};
use std::time::{Duration, Instant};

const W: usize = 1280;
const H: usize = 720;

/// A camera-like picture: a textured background panning 3 px per frame and a moving square.
fn picture(frame: usize, rgb: &mut [u8]) {
    for y in 0..H {
        for x in 0..W {
            let u = x + frame * 3;
            let tex = ((u * 7 + y * 13) ^ (u * y / 97)) as u8;
            let mut px = [tex / 2 + 40, (tex / 3) + (y / 6) as u8, 255 - tex / 2];
            let (sx, sy) = ((frame * 9) % (W - 200), (frame * 4) % (H - 200));
            if (sx..sx + 200).contains(&x) && (sy..sy + 200).contains(&y) {
                px = [230, 200, 40];
            }
            rgb[(y * W + x) * 3..][..3].copy_from_slice(&px);
        }
    }
}

/// Nanoseconds this thread has spent on a CPU, where Linux tells.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Runs `f` `n` times; prints wall-time statistics and the mean CPU time per run.
fn measure(name: &str, n: usize, mut f: impl FnMut(usize)) {
    let cpu0 = cpu_ns();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i);
        times.push(t.elapsed());
    }
    let cpu = cpu_ns()
        .zip(cpu0)
        .map(|(b, a)| format!(", CPU {:.2} ms/run", (b - a) as f64 / n as f64 / 1e6))
        .unwrap_or_default();
    summary(name, times, &cpu);
}

fn summary(name: &str, mut times: Vec<Duration>, cpu: &str) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = times.iter().map(|&d| ms(d)).sum::<f64>() / times.len() as f64;
    println!(
        "{name}: wall mean {mean:.2} ms, median {:.2} ms, p95 {:.2} ms ({} runs){cpu}",
        ms(times[times.len() / 2]),
        ms(times[times.len() * 95 / 100]),
        times.len()
    );
}

fn main() {
    let frames = 150;
    let mut rgb = vec![0u8; W * H * 3];
    let mut pictures = Vec::new();
    for i in 0..frames {
        picture(i, &mut rgb);
        pictures.push(rgb.clone());
    }

    let mut out = I420::black(W, H).unwrap();
    measure("rgb_to_i420 1280x720", 300, |i| {
        rgb_to_i420_into(&pictures[i % frames], W, H, &mut out).unwrap()
    });

    let i420: Vec<I420> = pictures
        .iter()
        .map(|p| rgb_to_i420(p, W, H).unwrap())
        .collect();
    let mut enc = H264Encoder::new(H264Config::default()).unwrap();
    let mut bytes = 0;
    measure("H.264 encode 1280x720", frames, |i| {
        bytes += enc.encode(&i420[i], false).unwrap().annexb.len();
    });
    let secs = frames as f64 / 30.0;
    println!(
        "H.264 1280x720@30, target 2500 kbit/s: {:.0} kbit/s achieved",
        bytes as f64 * 8.0 / secs / 1000.0
    );

    let seconds = 10;
    let pcm: Vec<f32> = (0..seconds * 48_000)
        .map(|i| 0.3 * (i as f32 * 0.05).sin() + 0.05 * ((i * 7919 % 1000) as f32 / 500.0 - 1.0))
        .collect();
    let mut opus = OpusEncoder::new(OpusConfig::default()).unwrap();
    measure("Opus 64 kbit/s mono, 1 s of audio", seconds, |i| {
        for block in pcm[i * 48_000..(i + 1) * 48_000].chunks_exact(960) {
            opus.encode(block).unwrap();
        }
    });

    let mut d = Denoiser::new();
    let mut out = Vec::new();
    measure("RNNoise, 1 s of audio", seconds, |i| {
        d.process(&pcm[i * 48_000..(i + 1) * 48_000], &mut out)
    });
}
