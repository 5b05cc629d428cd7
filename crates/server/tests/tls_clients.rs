//! A `--tls-self-signed` server and the MJPEG client (`homestream watch`): refused with a clear
//! error by default, accepted with the server's certificate as `--cacert`, or `--insecure`; the
//! certificate is kept in the state folder and used again by the next start.

use homestream_mjpeg::{Client, Error, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_trusts_a_self_signed_server_only_when_told_to() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let start = || {
        homestream_server::start(homestream_server::ServeConfig {
            paths: vec![dir.path().to_path_buf()],
            bind: Some(std::net::Ipv4Addr::LOCALHOST.into()),
            port: Some(0),
            live: vec!["demo=test:160x120@10".parse().unwrap()],
            tls: homestream_server::Tls::SelfSigned,
            state_dir: Some(state.path().to_path_buf()),
            ..Default::default()
        })
    };
    let first = start().await.unwrap();
    let (kept_at, made_now) = first.self_signed_kept.clone().unwrap();
    assert!(made_now);
    let pem = first.self_signed_cert.clone().expect("a PEM certificate");
    assert_eq!(std::fs::read_to_string(&kept_at).unwrap(), pem);
    first.shutdown().await;
    // The next start serves the same certificate, so a browser that accepted it is not asked
    // again.
    let server = start().await.unwrap();
    assert_eq!(server.self_signed_kept, Some((kept_at.clone(), false)));
    assert_eq!(server.self_signed_cert.as_deref(), Some(pem.as_str()));
    let url = format!("https://{}/live/demo/stream.mjpg", server.local_addr);

    let plain = Client::new(Options::new(&url)).unwrap();
    match plain.connect().await {
        Err(e @ Error::Untrusted { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("--cacert") && text.contains("--insecure"),
                "{text}"
            );
        }
        other => panic!(
            "an untrusted certificate must be refused: {:?}",
            other.err()
        ),
    }

    let mut with_ca = Options::new(&url);
    with_ca.ca_pem = Some(std::fs::read(&kept_at).unwrap());
    let mut insecure = Options::new(&url);
    insecure.insecure = true;
    for opts in [with_ca, insecure] {
        let mut stream = Client::new(opts).unwrap().connect().await.unwrap();
        for _ in 0..2 {
            let frame = stream.next_frame().await.expect("a frame").unwrap();
            assert!(frame.data.starts_with(&[0xff, 0xd8]), "a JPEG");
        }
    }

    let mut bad = Options::new(&url);
    bad.ca_pem = Some(b"not a certificate".to_vec());
    assert!(matches!(Client::new(bad), Err(Error::Config(_))));
    server.shutdown().await;
}

/// HTTPS offers HTTP/2 by ALPN (and still HTTP/1.1): curl gets the live playlist over h2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_speaks_http2_and_http1() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let server = homestream_server::start(homestream_server::ServeConfig {
        paths: vec![dir.path().to_path_buf()],
        bind: Some(std::net::Ipv4Addr::LOCALHOST.into()),
        port: Some(0),
        live: vec!["demo=test:160x120@10".parse().unwrap()],
        tls: homestream_server::Tls::SelfSigned,
        state_dir: Some(state.path().to_path_buf()),
        ..Default::default()
    })
    .await
    .unwrap();
    let url = format!("https://{}/live/demo/index.m3u8", server.local_addr);
    for (flag, want) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let out = tokio::process::Command::new("curl")
            .args([
                "-sk",
                "--max-time",
                "20",
                flag,
                "-o",
                "/dev/null",
                "-w",
                "%{http_version} %{http_code}",
            ])
            .arg(&url)
            .output()
            .await
            .expect("curl is installed");
        let got = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(got, format!("{want} 200"), "curl {flag}");
    }
    server.shutdown().await;
}
