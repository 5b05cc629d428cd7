//! Helpers shared by the integration tests: ffmpeg as the oracle decoder.

#![allow(dead_code)]

pub mod ogg;

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `program args...` with `input` on stdin and returns stdout. Panics (fails the test) if
/// the program is missing: these tests must never pass without their oracle.
pub fn run_with_stdin(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{program} is not installed: this test decodes with it. Run `bash scripts/test.sh`, \
             which installs it (Debian package ffmpeg)."
        ),
        Err(e) => panic!("cannot run {program}: {e}"),
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        // ffmpeg may stop reading early on an error; its stderr says why.
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for ffmpeg");
    writer.join().expect("stdin writer");
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// PSNR in dB of `b` against `a` (8-bit samples).
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let se: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = se / a.len() as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}
