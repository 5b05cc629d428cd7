//! `--ice-server URL`: STUN and TURN servers for viewers' WebRTC beyond the LAN, told to
//! players as WHEP does (draft-ietf-wish-whep §4.6: `Link: <URL>; rel="ice-server"` with
//! `username`, `credential` and `credential-type` for TURN, RFC 8288 link parameters), on the
//! endpoint's `OPTIONS` and on each `201`. The live page reads them from `OPTIONS` before it
//! makes its RTCPeerConnection.
//!
//! URLs are RFC 7064 (`stun:`, `stuns:`) and RFC 7065 (`turn:`, `turns:`, `?transport=`). Those
//! have no user part, so a TURN login is given as `turn:USER:PASSWORD@HOST[:PORT]` and moved
//! into the link's parameters.

use axum::http::HeaderValue;

/// One STUN or TURN server, as a player's `RTCIceServer` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:host:port`, `turn:host:port?transport=udp`, ...
    pub url: String,
    /// TURN login.
    pub username: Option<String>,
    /// TURN password.
    pub credential: Option<String>,
}

impl std::str::FromStr for IceServer {
    type Err = String;

    fn from_str(s: &str) -> Result<IceServer, String> {
        let (scheme, rest) = s.split_once(':').ok_or_else(|| {
            format!("{s:?}: an ICE server is stun:HOST[:PORT] or turn:[USER:PASSWORD@]HOST[:PORT]")
        })?;
        let scheme = scheme.to_ascii_lowercase();
        let turn = match scheme.as_str() {
            "stun" | "stuns" => false,
            "turn" | "turns" => true,
            _ => {
                return Err(format!(
                    "{s:?}: the scheme must be stun:, stuns:, turn: or turns:"
                ));
            }
        };
        // Characters a header parameter or the URL's <...> could be broken out of with.
        if s.chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';' | ' ' | '\\'))
        {
            return Err(format!(
                "{s:?}: spaces, quotes, <, >, commas, semicolons and backslashes are not allowed"
            ));
        }
        let (login, host) = match rest.rsplit_once('@') {
            Some((login, host)) if turn => (Some(login), host),
            Some(_) => return Err(format!("{s:?}: a STUN server takes no login")),
            None => (None, rest),
        };
        if host.is_empty() || host.starts_with('?') || host.starts_with(':') {
            return Err(format!("{s:?}: no host"));
        }
        let (username, credential) = match login {
            Some(l) => {
                let (u, p) = l
                    .split_once(':')
                    .ok_or_else(|| format!("{s:?}: a TURN login is USER:PASSWORD@"))?;
                (Some(u.to_string()), Some(p.to_string()))
            }
            None => (None, None),
        };
        Ok(IceServer {
            url: format!("{scheme}:{host}"),
            username,
            credential,
        })
    }
}

impl IceServer {
    /// The `Link` header value (draft-ietf-wish-whep §4.6).
    pub fn link(&self) -> HeaderValue {
        let mut v = format!("<{}>; rel=\"ice-server\"", self.url);
        if let (Some(u), Some(c)) = (&self.username, &self.credential) {
            v.push_str(&format!(
                "; username=\"{u}\"; credential=\"{c}\"; credential-type=\"password\""
            ));
        }
        // FromStr refused every byte a header value cannot hold.
        HeaderValue::from_str(&v)
            .unwrap_or_else(|_| HeaderValue::from_static("<>; rel=\"ice-server\""))
    }
}

#[cfg(test)]
mod tests {
    use super::IceServer;

    #[test]
    fn stun_and_turn_become_link_headers() {
        let s: IceServer = "stun:stun.example.net:3478".parse().unwrap();
        assert_eq!(s.link(), "<stun:stun.example.net:3478>; rel=\"ice-server\"");
        let t: IceServer = "TURN:alice:s3cret@turn.example.net:3478?transport=udp"
            .parse()
            .unwrap();
        assert_eq!(t.url, "turn:turn.example.net:3478?transport=udp");
        assert_eq!(
            t.link(),
            "<turn:turn.example.net:3478?transport=udp>; rel=\"ice-server\"; username=\"alice\"; credential=\"s3cret\"; credential-type=\"password\""
        );
    }

    #[test]
    fn bad_ones_are_refused_with_a_reason() {
        for bad in [
            "stun.example.net",
            "http://x",
            "stun:",
            "stun:a@b",
            "turn:alice@b",
            "turn:a:b@",
            "stun:x\"; rel=evil",
            "stun:x>, <y",
            "stun:x\r\nSet-Cookie: a",
        ] {
            assert!(bad.parse::<IceServer>().is_err(), "{bad:?} accepted");
        }
    }
}
