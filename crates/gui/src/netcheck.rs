//! The background internet check: can this computer open a TCP connection to a well-known
//! address within a few seconds? No answer in time counts as offline. It runs on its own
//! thread and never holds up the window; the server works on the LAN either way.
//!
//! `HOMESTREAM_NET_CHECK` replaces the addresses (`host:port,host:port`; `off` disables the
//! check), so that tests never reach beyond loopback.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long the check waits for an answer.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Public anycast resolvers' HTTPS ports: addresses, so that no DNS lookup is needed first.
const DEFAULT_TARGETS: [&str; 2] = ["1.1.1.1:443", "8.8.8.8:443"];

/// What to try, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetCheck {
    /// Any one answering means online; empty means the check is off.
    pub targets: Vec<String>,
    /// Per attempt.
    pub timeout: Duration,
}

impl Default for NetCheck {
    fn default() -> Self {
        NetCheck {
            targets: DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect(),
            timeout: TIMEOUT,
        }
    }
}

impl NetCheck {
    /// The defaults, or what `HOMESTREAM_NET_CHECK` says.
    pub fn from_env() -> NetCheck {
        match std::env::var("HOMESTREAM_NET_CHECK") {
            Ok(v) => NetCheck::parse(&v),
            Err(_) => NetCheck::default(),
        }
    }

    /// `host:port,host:port` or `off`.
    pub fn parse(v: &str) -> NetCheck {
        let targets = if v.trim() == "off" {
            Vec::new()
        } else {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        };
        NetCheck {
            targets,
            ..NetCheck::default()
        }
    }

    /// Whether there is anything to check.
    pub fn enabled(&self) -> bool {
        !self.targets.is_empty()
    }

    /// Blocks for at most `timeout` per address: true when one accepts a connection.
    pub fn run(&self) -> bool {
        self.targets.iter().any(|t| {
            let addrs: Vec<SocketAddr> =
                t.to_socket_addrs().map(|a| a.collect()).unwrap_or_default();
            addrs
                .iter()
                .any(|a| TcpStream::connect_timeout(a, self.timeout).is_ok())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Instant;

    #[test]
    fn answers_from_loopback_only() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap();
        assert!(NetCheck::parse(&open.to_string()).run());
        drop(listener);
        // A refused connection means offline, at once.
        let t = Instant::now();
        assert!(!NetCheck::parse(&format!("{open}")).run());
        assert!(t.elapsed() < TIMEOUT);
        let off = NetCheck::parse("off");
        assert!(!off.enabled());
        assert_eq!(NetCheck::parse(" a:1 ,b:2,").targets, vec!["a:1", "b:2"]);
    }
}
