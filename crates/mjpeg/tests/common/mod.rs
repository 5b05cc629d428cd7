//! A tiny MJPEG server for the tests: raw HTTP/1.1 over loopback TCP, so that every byte
//! (chunked coding, status, headers) is under the test's control.

#![allow(dead_code)]

use homestream_mjpeg::writer;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running test server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    /// Request heads received, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves each connection with `handler(socket, request_head, connection_index)`.
pub async fn spawn<F, Fut>(handler: F) -> Server
where
    F: Fn(TcpStream, String, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let reqs = requests.clone();
    let handler = Arc::new(handler);
    let task = tokio::spawn(async move {
        let mut conns = Vec::new();
        for i in 0.. {
            let Ok((mut s, _)) = listener.accept().await else {
                break;
            };
            let handler = handler.clone();
            let reqs = reqs.clone();
            conns.push(tokio::spawn(async move {
                let head = read_head(&mut s).await;
                reqs.lock().unwrap().push(head.clone());
                handler(s, head, i).await;
            }));
        }
    });
    Server {
        addr,
        requests,
        task,
    }
}

/// Reads a request head (bounded to 16 KiB).
pub async fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 << 10 {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Deterministic JPEG-like bytes: SOI, `len` bytes (with CR, LF and dashes), EOI.
pub fn jpeg(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = vec![0xFF, 0xD8];
    v.extend((0..len).map(|i| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i % 97 == 5 { b'\n' } else { x as u8 }
    }));
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

pub fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| jpeg(i as u64, 2000 + (i * 37) % 3000))
        .collect()
}

/// Writes a 200 answer with homestream's writer, `frames` at `fps` (timestamped), then closes.
pub async fn send_writer_stream(mut s: TcpStream, frames: &[Vec<u8>], fps: f64) {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n",
        writer::content_type()
    );
    if s.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / fps));
    for f in frames {
        tick.tick().await;
        let part = writer::part_head("image/jpeg", f.len(), Some(SystemTime::now()));
        let ok = s.write_all(&part).await.is_ok()
            && s.write_all(f).await.is_ok()
            && s.write_all(writer::PART_END).await.is_ok();
        if !ok {
            return;
        }
    }
    let _ = s.shutdown().await;
}

/// Writes a plain answer (status line and body).
pub async fn send_status(mut s: TcpStream, status: &str, content_type: &str, body: &str) {
    let r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(r.as_bytes()).await;
    let _ = s.shutdown().await;
}
