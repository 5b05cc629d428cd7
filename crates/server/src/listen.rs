//! Binding the listening socket (with the default port's fallback) and telling the user where
//! the server can be reached.

use crate::Error;
use crate::config::{DEFAULT_PORT, PORT_TRIES};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::TcpListener;

/// Binds as configured. An explicit port that is taken is an error; the default port falls
/// back to the next free one, up to [`PORT_TRIES`] in all.
pub async fn bind(ip: Option<IpAddr>, port: Option<u16>) -> Result<TcpListener, Error> {
    if let Some(port) = port {
        return bind_one(ip, port).await.map_err(|e| match e {
            BindError::InUse => Error::PortTaken { port },
            BindError::Other(addr, source) => Error::Bind { addr, source },
        });
    }
    bind_from(ip, DEFAULT_PORT, PORT_TRIES).await
}

/// Tries `first` and the following ports, `tries` in all.
async fn bind_from(ip: Option<IpAddr>, first: u16, tries: u16) -> Result<TcpListener, Error> {
    let last = first.saturating_add(tries - 1);
    for port in first..=last {
        match bind_one(ip, port).await {
            Ok(l) => {
                if port != first {
                    tracing::warn!("port {first} is in use; took port {port} instead");
                }
                return Ok(l);
            }
            Err(BindError::InUse) => continue,
            Err(BindError::Other(addr, source)) => return Err(Error::Bind { addr, source }),
        }
    }
    Err(Error::NoFreePort { first, last })
}

enum BindError {
    InUse,
    Other(SocketAddr, std::io::Error),
}

async fn bind_one(ip: Option<IpAddr>, port: u16) -> Result<TcpListener, BindError> {
    let classify = |addr, e: std::io::Error| {
        if e.kind() == ErrorKind::AddrInUse {
            BindError::InUse
        } else {
            BindError::Other(addr, e)
        }
    };
    match ip {
        Some(ip) => {
            let addr = SocketAddr::new(ip, port);
            TcpListener::bind(addr).await.map_err(|e| classify(addr, e))
        }
        None => {
            // `[::]` accepts IPv4 too on Linux (bindv6only=0); hosts without IPv6 get 0.0.0.0.
            let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
            match TcpListener::bind(v6).await {
                Ok(l) => Ok(l),
                Err(e) if e.kind() == ErrorKind::AddrInUse => Err(BindError::InUse),
                Err(_) => {
                    let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
                    TcpListener::bind(v4).await.map_err(|e| classify(v4, e))
                }
            }
        }
    }
}

/// Every URL the server can be reached at: LAN addresses first (phones need those), then this
/// computer's loopback. For a specific bind address, just that one.
pub fn lan_urls(local: SocketAddr, scheme: &str) -> Vec<String> {
    let port = local.port();
    let url = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => format!("{scheme}://{v4}:{port}/"),
        IpAddr::V6(v6) => format!("{scheme}://[{v6}]:{port}/"),
    };
    if !local.ip().is_unspecified() {
        return vec![url(local.ip())];
    }
    let want_v6 = local.is_ipv6();
    let mut lan: Vec<IpAddr> = local_ip_address::list_afinet_netifas()
        .map(|l| l.into_iter().map(|(_, ip)| ip).collect())
        .unwrap_or_default();
    lan.retain(|ip| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local(),
        // Link-local IPv6 needs a zone id that browsers do not accept in URLs.
        IpAddr::V6(v6) => want_v6 && !v6.is_loopback() && !v6.is_unicast_link_local(),
    });
    lan.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    lan.dedup();
    let mut urls: Vec<String> = lan.into_iter().map(url).collect();
    urls.push(url(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    urls
}

/// A QR code of `text` drawn with Unicode half blocks, for a terminal.
pub fn qr_text(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn explicit_taken_port_is_an_error() {
        let held = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = held.local_addr().unwrap().port();
        let err = bind(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), Some(port))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::PortTaken { port: p } if p == port));
        assert!(err.to_string().contains("--port"));
    }

    #[tokio::test]
    async fn default_port_falls_back_to_the_next_free_one() {
        let lo = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let held = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = held.local_addr().unwrap().port();
        let got = bind_from(lo, port, 10).await.unwrap();
        let took = got.local_addr().unwrap().port();
        assert!(took > port && took < port + 10, "took {took} after {port}");
        let err = bind_from(lo, port, 1).await.unwrap_err();
        assert!(matches!(err, Error::NoFreePort { .. }));
    }

    #[test]
    fn urls_for_specific_address() {
        let urls = lan_urls("127.0.0.1:8123".parse().unwrap(), "http");
        assert_eq!(urls, vec!["http://127.0.0.1:8123/"]);
        let all = lan_urls("[::]:8123".parse().unwrap(), "http");
        assert_eq!(all.last().unwrap(), "http://127.0.0.1:8123/");
    }

    /// Reads the terminal drawing back into modules (each character is two rows: the drawn
    /// half is a light module, since the code is drawn light-on-dark for a dark terminal) and
    /// decodes it with a QR reader.
    fn decode(drawing: &str) -> String {
        let rows: Vec<Vec<char>> = drawing.lines().map(|l| l.chars().collect()).collect();
        let width = rows.iter().map(Vec::len).max().unwrap();
        const SCALE: usize = 4;
        let dark = |x: usize, y: usize| {
            let c = rows[y / 2].get(x).copied().unwrap_or(' ');
            let light = match (c, y % 2) {
                ('█', _) | ('▀', 0) | ('▄', 1) => true,
                (' ' | '▀' | '▄', _) => false,
                (c, _) => panic!("unexpected character {c:?} in the QR drawing"),
            };
            !light
        };
        let mut img = rqrr::PreparedImage::prepare_from_bitmap(
            width * SCALE,
            rows.len() * 2 * SCALE,
            |x, y| dark(x / SCALE, y / SCALE),
        );
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code in:\n{drawing}");
        grids[0].decode().expect("the QR code decodes").1
    }

    #[test]
    fn qr_renders() {
        for url in ["http://192.168.1.2:8000/", "https://[fd00::1]:8443/"] {
            let q = qr_text(url).unwrap();
            assert_eq!(decode(&q), url);
        }
    }
}
