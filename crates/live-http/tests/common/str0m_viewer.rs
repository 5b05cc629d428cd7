//! A WHEP viewer on str0m, as a browser joins (offer, POST, answer, ICE, DTLS, SRTP), that
//! hands over RTP packets as they arrive: no jitter buffer, no depacketizing, no decoding, so
//! that a hundred of them leave the cores to the server. The load client
//! (examples/whep_load.rs) and the IPv6 test (tests/whep.rs) use it.

#![allow(dead_code)]

use anyhow::{Context, anyhow, bail};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

/// A viewer that has joined: drive it with [`drive`].
pub struct Joined {
    pub rtc: Rtc,
    pub sock: UdpSocket,
    pub local: SocketAddr,
    /// Unix ms of RTP time 0 on the server's clock.
    pub epoch_ms: f64,
    /// The Opus payload type of the answer: every other RTP packet is video.
    pub opus_pt: u8,
    /// The session's URL (the answer's `Location`), for the DELETE.
    pub session_url: String,
    /// The answer's SDP, as the server sent it.
    pub answer: String,
}

/// The wall clock in Unix ms.
pub fn unix_ms_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The payload type the answer gives `opus/48000`.
fn opus_pt(answer: &str) -> Option<u8> {
    answer.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("a=rtpmap:")?;
        let (pt, codec) = rest.split_once(' ')?;
        codec
            .to_ascii_lowercase()
            .starts_with("opus/")
            .then(|| pt.parse().ok())?
    })
}

/// Offer, POST, answer; then ICE and DTLS until str0m says connected.
pub fn join(
    http: &reqwest::blocking::Client,
    url: &str,
    timeout: Duration,
) -> anyhow::Result<Joined> {
    // The server's address family and interface: loopback to loopback, IPv6 for [::1].
    let ip: IpAddr = reqwest::Url::parse(url)?
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| anyhow!("{url}: the host must be an IP address"))?;
    let sock = UdpSocket::bind(SocketAddr::new(ip, 0)).context("binding a UDP socket")?;
    let local = sock.local_addr()?;
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        // Like a browser: offer the playout-delay extension the server's answer sets.
        .set_extension(12, str0m::rtp::Extension::PlayoutDelay)
        .build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| anyhow!("{e}"))?);
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
    api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let (offer, pending) = api.apply().ok_or_else(|| anyhow!("str0m made no offer"))?;
    let resp = http
        .post(url)
        .header("Content-Type", "application/sdp")
        .body(offer.to_sdp_string())
        .send()
        .context("POST of the offer")?;
    let status = resp.status();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let epoch_ms: f64 = header("x-media-epoch-ms")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("answer {status} has no X-Media-Epoch-Ms"))?;
    let location = header("location").unwrap_or_default();
    let body = resp.text().context("reading the answer")?;
    if status.as_u16() != 201 {
        bail!("server answered {status}: {}", body.trim());
    }
    let opus_pt = opus_pt(&body).ok_or_else(|| anyhow!("the answer has no Opus"))?;
    let answer_sdp = body.clone();
    let answer = SdpAnswer::from_sdp_string(&body).map_err(|e| anyhow!("answer: {e}"))?;
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .map_err(|e| anyhow!("answer not taken: {e}"))?;
    let session_url = match reqwest::Url::parse(url).and_then(|u| u.join(&location)) {
        Ok(u) => u.to_string(),
        Err(_) => String::new(),
    };
    let mut joined = Joined {
        rtc,
        sock,
        local,
        epoch_ms,
        opus_pt,
        session_url,
        answer: answer_sdp,
    };
    let deadline = Instant::now() + timeout;
    let mut connected = false;
    drive(&mut joined, deadline, &mut |e, _| {
        if matches!(e, Event::Connected) {
            connected = true;
        }
        connected
    })?;
    if !connected {
        bail!("not connected within {timeout:?}");
    }
    Ok(joined)
}

/// The run loop of one peer until `until` or until `on_event` returns true: str0m's output is
/// sent or handed to `on_event` (with the time it came), input is whatever the socket reads
/// before str0m's next timeout.
pub fn drive(
    j: &mut Joined,
    until: Instant,
    on_event: &mut dyn FnMut(Event, Instant) -> bool,
) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 2000];
    loop {
        let timeout = match j.rtc.poll_output().map_err(|e| anyhow!("str0m: {e}"))? {
            Output::Timeout(t) => t,
            Output::Transmit(t) => {
                // Loopback: a send can only fail on a full buffer, which is a lost packet.
                let _ = j.sock.send_to(&t.contents, t.destination);
                continue;
            }
            Output::Event(Event::IceConnectionStateChange(IceConnectionState::Disconnected)) => {
                bail!("ICE disconnected")
            }
            Output::Event(e) => {
                if on_event(e, Instant::now()) {
                    return Ok(());
                }
                continue;
            }
        };
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        let wait = timeout.min(until).saturating_duration_since(now);
        if wait.is_zero() {
            j.rtc
                .handle_input(Input::Timeout(now))
                .map_err(|e| anyhow!("str0m: {e}"))?;
            continue;
        }
        j.sock.set_read_timeout(Some(wait))?;
        match j.sock.recv_from(&mut buf) {
            Ok((n, source)) => {
                let now = Instant::now();
                if let Ok(r) = Receive::new(Protocol::Udp, source, j.local, &buf[..n]) {
                    j.rtc
                        .handle_input(Input::Receive(now, r))
                        .map_err(|e| anyhow!("str0m: {e}"))?;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                j.rtc
                    .handle_input(Input::Timeout(Instant::now()))
                    .map_err(|e| anyhow!("str0m: {e}"))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
