//! A strictly paced origin for bench/funnel/run.sh: deterministic pseudo-random bytes generated
//! on the fly (nothing on disk), each response paced at `--rate` bytes/s from its first byte
//! (nginx's limit_rate lets an initial burst through; this does not).
//!
//! `paced_origin --size 1G --rate 1M --port 18081` serves `/file.bin`;
//! `paced_origin --size 1G --sha` prints the SHA-256 of the content and exits.

#[path = "../tests/common/origin.rs"]
mod origin;

use clap::Parser;
use homestream_funnel::parse_size;
use sha2::{Digest, Sha256};

#[derive(Parser)]
struct Args {
    /// Content size (8M, 1G...)
    #[arg(long, value_parser = parse_size)]
    size: u64,
    /// Per-connection rate in bytes/s (8M, 512K...); omit for unlimited
    #[arg(long, value_parser = parse_size)]
    rate: Option<u64>,
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Print the content's SHA-256 and exit
    #[arg(long)]
    sha: bool,
    /// Write the content to FILE and exit (a reference copy for byte checks)
    #[arg(long, value_name = "FILE")]
    write: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    if let Some(path) = &a.write {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create file"));
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0;
        while off < a.size {
            let n = (a.size - off).min(buf.len() as u64) as usize;
            origin::fill(1, off, &mut buf[..n]);
            f.write_all(&buf[..n]).expect("write");
            off += n as u64;
        }
        f.flush().expect("flush");
        return;
    }
    if a.sha {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut off = 0;
        while off < a.size {
            let n = (a.size - off).min(buf.len() as u64) as usize;
            origin::fill(1, off, &mut buf[..n]);
            h.update(&buf[..n]);
            off += n as u64;
        }
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        println!("{hex}");
        return;
    }
    let o = origin::TestOrigin::start_with(a.size, a.rate.unwrap_or(0), None, "video/mp4", a.port)
        .await;
    println!("listening on {}", o.addr);
    let _ = tokio::signal::ctrl_c().await;
}
