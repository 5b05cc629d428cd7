use std::net::SocketAddr;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "port {port} is already in use (--port {port}); choose another port or leave out --port"
    )]
    PortTaken { port: u16 },
    #[error("ports {first}-{last} are all in use; pass a free one with --port")]
    NoFreePort { first: u16, last: u16 },
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Library(#[from] homestream_library::Error),
    #[error("live stream: {0}")]
    Live(String),
    #[error(transparent)]
    Auth(#[from] homestream_auth::Error),
    #[error(
        "WebRTC: cannot bind UDP port {port} (--webrtc-port {port}); choose another or leave it out"
    )]
    WebrtcPort { port: u16, source: std::io::Error },
}
