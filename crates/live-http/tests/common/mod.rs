//! Shared by the integration tests: an in-process server on loopback and stream readers.

#![allow(dead_code)]

pub mod mjpeg_reader;
pub mod ws_reader;

use homestream_live::{LiveOptions, LiveRegistry, LiveSpec};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Serves the registry's routes on 127.0.0.1:0.
pub async fn serve(
    specs: &[&str],
    grace: Duration,
) -> (SocketAddr, Arc<LiveRegistry>, tokio::task::JoinHandle<()>) {
    serve_on("127.0.0.1:0".parse().expect("addr"), specs, grace).await
}

/// Serves the registry's routes on `addr` (a fixed port: a server that restarts).
pub async fn serve_on(
    addr: SocketAddr,
    specs: &[&str],
    grace: Duration,
) -> (SocketAddr, Arc<LiveRegistry>, tokio::task::JoinHandle<()>) {
    let specs: Vec<LiveSpec> = specs.iter().map(|s| s.parse().expect("spec")).collect();
    let reg = LiveRegistry::start_with(&specs, LiveOptions { grace }).expect("registry");
    let app = homestream_live_http::router(&reg);
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        use axum::serve::ListenerExt;
        let l = listener.tap_io(|tcp| homestream_live::net::tune_stream_socket(tcp));
        let _ = axum::serve(l, app).await;
    });
    (addr, reg, task)
}

/// Resident set size of this process, bytes. Panics when it cannot be read: a "memory stays
/// flat" check must not pass on a zero.
pub fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .filter(|b| *b > 0)
        .expect("VmRSS in /proc/self/status")
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// Decodes a JPEG to RGB with zune-jpeg: (width, height, pixels).
pub fn decode_rgb(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(jpeg), opts);
    let px = d.decode().expect("decodable JPEG");
    let (w, h) = d.dimensions().expect("dimensions");
    (w, h, px)
}

/// Like [`serve`] but on a runtime of its own, so that shutting that runtime down closes every
/// connection at once (an upstream that dies).
pub fn serve_detached(specs: &[&str]) -> (SocketAddr, tokio::runtime::Runtime) {
    serve_detached_on("127.0.0.1:0".parse().expect("addr"), specs)
}

/// [`serve_detached`] on a given address (a server that comes back on the same port).
pub fn serve_detached_on(
    addr: SocketAddr,
    specs: &[&str],
) -> (SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
    let addr = rt.block_on(async move {
        let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
        let (addr, _reg, _task) = serve_on(addr, &specs, Duration::from_secs(1)).await;
        addr
    });
    (addr, rt)
}
