//! Socket settings for connections that carry live streams.
//!
//! A live stream must not queue in the kernel either: with `TCP_NOTSENT_LOWAT` the socket
//! reports "writable" only while little unsent data is waiting, so a slow viewer's connection
//! stops polling the hub instead of piling frames into a send buffer that autotuning can grow
//! to megabytes (the frames then arrive seconds late). `TCP_NODELAY` sends each part at once.

/// Unsent bytes a live connection may hold in the kernel before it stops taking frames.
pub const NOTSENT_LOWAT: u32 = 16 * 1024;

/// Applies `TCP_NODELAY` and (on Linux) `TCP_NOTSENT_LOWAT` to an accepted connection. Errors
/// are ignored: both are optimisations, not requirements.
pub fn tune_stream_socket(tcp: &tokio::net::TcpStream) {
    let _ = tcp.set_nodelay(true);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = socket2::SockRef::from(tcp).set_tcp_notsent_lowat(NOTSENT_LOWAT);
    }
}
