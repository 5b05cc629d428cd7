//! `homestream serve` (and `homestream` with no arguments).

use homestream_live::LiveSpec;
use homestream_server::{ServeConfig, Tls, qr_text};
use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Share folders of videos and live streams.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Folders to share, or single files (a file is shared with its subtitles, without its
    /// neighbours) [default: the current folder]
    pub paths: Vec<PathBuf>,
    /// Address to listen on [default: every interface]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
    /// Port [default: 8000, or the next free one up to 8009]; a taken explicit port is an error
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// A live stream, NAME=SOURCE: test[:WxH@FPS], jpegs:DIR[@FPS], camera:INDEX|NAME[@WxH@FPS],
    /// mjpeg:URL; add sound with +mic:NAME|default[?denoise=on], H.264 options with
    /// ?bitrate=2M&keyint=1 (repeatable)
    #[arg(long = "live", value_name = "NAME=SOURCE")]
    pub live: Vec<LiveSpec>,
    /// Require a login; accounts come from this users file (make it with `homestream user add`)
    #[arg(long, value_name = "USERS_FILE")]
    pub auth: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate made now for this computer's addresses (browsers grant
    /// camera, microphone and some media features only to secure pages)
    #[arg(long)]
    pub tls_self_signed: bool,
    /// Copy library files through memory instead of sending them with sendfile (for file
    /// systems where sendfile misbehaves, as some network and VM shares do)
    #[arg(long)]
    pub no_sendfile: bool,
    /// UDP port for WebRTC viewers, all sessions on it (open it in a firewall) [default: a free
    /// one, printed at start]
    #[arg(long, value_name = "N")]
    pub webrtc_port: Option<u16>,
    /// This server's public address (a router forwarding the WebRTC port to it), offered to
    /// WebRTC viewers beyond the LAN (repeatable)
    #[arg(long = "public-ip", value_name = "ADDR")]
    pub public_ip: Vec<IpAddr>,
    /// A STUN or TURN server for viewers' browsers, for WebRTC beyond the LAN (behind NAT or a
    /// firewall; a LAN needs none): stun:HOST[:PORT] or turn:USER:PASSWORD@HOST[:PORT]
    /// (repeatable)
    #[arg(long = "ice-server", value_name = "URL")]
    pub ice_server: Vec<homestream_live_http::ice_server::IceServer>,
    /// ffmpeg, for files the browser cannot play (AVI, MKV, MPEG-TS...: remuxed or transcoded
    /// to HLS as they play) and posters; ffprobe is taken from beside it [default: from PATH]
    #[arg(long, value_name = "PATH")]
    pub ffmpeg: Option<PathBuf>,
    /// Never remux or transcode (files the browser cannot play are offered for download)
    #[arg(long, conflicts_with = "ffmpeg")]
    pub no_transcode: bool,
    /// At most N ffmpeg jobs at once for playing files [default: one per core]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub transcode_jobs: Option<u16>,
}

impl ServeArgs {
    /// What `homestream` with no arguments does: the current folder and a test stream.
    pub fn default_demo() -> ServeArgs {
        ServeArgs {
            paths: Vec::new(),
            bind: None,
            port: None,
            live: vec![LiveSpec {
                name: "demo".into(),
                source: "test".into(),
            }],
            auth: None,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            no_sendfile: false,
            webrtc_port: None,
            public_ip: Vec::new(),
            ice_server: Vec::new(),
            ffmpeg: None,
            no_transcode: false,
            transcode_jobs: None,
        }
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![std::env::current_dir()?]
    } else {
        args.paths
    };
    let tls = match (args.tls_cert, args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), _) => Tls::Files { cert, key },
        (_, _, true) => Tls::SelfSigned,
        _ => Tls::Off,
    };
    let config = ServeConfig {
        paths: paths.clone(),
        bind: args.bind,
        port: args.port,
        live: args.live,
        auth: args.auth,
        auth_config: Default::default(),
        tls,
        no_sendfile: args.no_sendfile,
        state_dir: homestream_server::default_state_dir(),
        webrtc: homestream_live_http::whep::WhepConfig {
            port: args.webrtc_port,
            addrs: None,
            public_ips: args.public_ip,
            ice_servers: args.ice_server,
        },
        ffmpeg: args.ffmpeg,
        no_transcode: args.no_transcode,
        transcode_jobs: args.transcode_jobs.map(usize::from),
    };
    let server = homestream_server::start(config).await?;
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    println!(
        "homestream {} is serving {}",
        env!("CARGO_PKG_VERSION"),
        shown.join(", ")
    );
    for url in &server.urls {
        let note = if url.contains("://127.0.0.1") || url.contains("://[::1]") {
            "  (this computer)"
        } else {
            ""
        };
        println!("  {url}{note}");
    }
    for s in server.state.live.list() {
        let base = server.urls.first().map_or("/", |u| u.as_str());
        println!("  live: {base}live/{}/  ({})", s.name, s.description);
    }
    if let Some(w) = &server.state.webrtc {
        println!(
            "  webrtc: UDP port {} for every viewer (fix it with --webrtc-port)",
            w.port
        );
    }
    let stdout_tty = std::io::stdout().is_terminal();
    if stdout_tty
        && let Some(first_lan) = server.urls.first().filter(|u| !u.contains("://127."))
        && let Some(qr) = qr_text(first_lan)
    {
        println!("Scan to open {first_lan} on a phone:\n{qr}");
    }
    match &server.auth {
        None => eprintln!("{}", homestream_auth::http::open_server_warning()),
        Some(auth) => println!("Login required (users from {}).", auth.path().display()),
    }
    if let Some(pem) = &server.self_signed_cert
        && let Ok(fp) = homestream_auth::tls::fingerprint(pem)
    {
        println!("Self-signed certificate, SHA-256 fingerprint {fp}");
        if let Some((path, made_now)) = &server.self_signed_kept {
            let when = if *made_now {
                "made now"
            } else {
                "kept from an earlier run: browsers that accepted it will not ask again"
            };
            println!(
                "  {} ({when}; `homestream watch --cacert` takes it)",
                path.display()
            );
        }
    }
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    eprintln!("stopping...");
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
