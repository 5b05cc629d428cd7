//! TLS server configuration (rustls with the aws-lc-rs provider).
//!
//! Browsers give camera, microphone and some media features only to secure pages, so
//! `serve` can run over TLS with a given certificate ([`load`]) or a self-signed one made
//! for the LAN addresses ([`self_signed`]; browsers will ask the user to accept it once).
//! The provider is named explicitly so the config never depends on which rustls
//! provider features other crates in the build happen to enable. ALPN offers only
//! `http/1.1`: WebSocket upgrades (`/live/*/ws`) need HTTP/1.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
pub use rustls::{self, ServerConfig};

use crate::{Error, Result};

fn config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Tls(format!("certificate and key do not fit together: {e}")))?;
    // HTTP/2 first (RFC 7301 ALPN; hyper's auto builder serves either): a page with several
    // live images, or an HLS player fetching parts while a blocking reload is held, is not
    // held to a browser's six HTTP/1.1 connections.
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Loads a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub fn load(cert_path: &Path, key_path: &Path) -> Result<ServerConfig> {
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| Error::Tls(format!("{}: {e}", cert_path.display())))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!(
            "{}: no certificate in PEM file",
            cert_path.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| Error::Tls(format!("{}: {e}", key_path.display())))?;
    config(certs, key)
}

/// Makes a self-signed certificate for `names` (host names and/or IP addresses, e.g. every
/// LAN address plus `localhost`) and returns the server config and the certificate as PEM
/// (to print its fingerprint or save it for clients that pin it).
pub fn self_signed(names: &[String]) -> Result<(ServerConfig, String)> {
    let (cfg, pem, _key) = generate(names)?;
    Ok((cfg, pem))
}

/// A new certificate for `names`: the config, the certificate and the key as PEM.
fn generate(names: &[String]) -> Result<(ServerConfig, String, String)> {
    if names.is_empty() {
        return Err(Error::Tls(
            "self-signed certificate needs at least one name".into(),
        ));
    }
    let ck = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| Error::Tls(format!("making a self-signed certificate: {e}")))?;
    let key = PrivateKeyDer::try_from(ck.signing_key.serialize_der())
        .map_err(|e| Error::Tls(e.to_string()))?;
    let cfg = config(vec![ck.cert.der().clone()], key)?;
    Ok((cfg, ck.cert.pem(), ck.signing_key.serialize_pem()))
}

/// A self-signed certificate kept between runs (see [`self_signed_kept`]).
pub struct Kept {
    /// The server config to serve it with.
    pub config: ServerConfig,
    /// The certificate, PEM.
    pub pem: String,
    /// Where the certificate is (give it to clients as a CA: `homestream watch --cacert`).
    pub cert_path: PathBuf,
    /// Whether it was made now (first run, or the addresses changed) or kept from before.
    pub made_now: bool,
}

/// File names inside the kept directory.
const CERT: &str = "self-signed.pem";
const KEY: &str = "self-signed.key";
const NAMES: &str = "self-signed.names";

/// Like [`self_signed`], but keeps the certificate and key in `dir` and uses them again while
/// they cover `names`: a browser that accepted the certificate once is not asked again after
/// every restart. The key is written with mode 0600, each file atomically; a new certificate
/// is made when the addresses change.
pub fn self_signed_kept(dir: &Path, names: &[String]) -> Result<Kept> {
    let (cert_path, key_path, names_path) = (dir.join(CERT), dir.join(KEY), dir.join(NAMES));
    let kept_names: Option<Vec<String>> = std::fs::read_to_string(&names_path)
        .ok()
        .map(|t| t.lines().map(str::to_owned).collect());
    if let Some(kept) = kept_names
        && names.iter().all(|n| kept.contains(n))
        && let Ok(config) = load(&cert_path, &key_path)
        && let Ok(pem) = std::fs::read_to_string(&cert_path)
    {
        return Ok(Kept {
            config,
            pem,
            cert_path,
            made_now: false,
        });
    }
    let (config, pem, key) = generate(names)?;
    make_private_dir(dir)?;
    crate::private_file::write(&key_path, key.as_bytes())?;
    crate::private_file::write(&cert_path, pem.as_bytes())?;
    crate::private_file::write(&names_path, names.join("\n").as_bytes())?;
    Ok(Kept {
        config,
        pem,
        cert_path,
        made_now: true,
    })
}

fn make_private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| Error::io(dir, e))
}

/// SHA-256 fingerprint of the first certificate in `cert_pem`, as `AB:CD:...` (what
/// browsers show in their certificate viewer), so users can check it on first visit.
pub fn fingerprint(cert_pem: &str) -> Result<String> {
    use sha2::{Digest, Sha256};
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| Error::Tls(e.to_string()))?;
    let d = Sha256::digest(der.as_ref());
    Ok(d.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_for_lan_names_then_load_back() {
        let names = vec![
            "localhost".to_string(),
            "192.168.1.20".to_string(),
            "::1".to_string(),
        ];
        let (cfg, pem) = self_signed(&names).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(
            cfg.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        assert_eq!(fingerprint(&pem).unwrap().len(), 32 * 3 - 1);

        // Same certificate and key through the file loader.
        let ck = rcgen::generate_simple_self_signed(names).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, ck.cert.pem()).unwrap();
        std::fs::write(&k, ck.signing_key.serialize_pem()).unwrap();
        load(&c, &k).unwrap();

        // Mismatched key, missing file, empty file: clear errors.
        let other = rcgen::generate_simple_self_signed(vec!["x".to_string()]).unwrap();
        std::fs::write(&k, other.signing_key.serialize_pem()).unwrap();
        assert!(load(&c, &k).unwrap_err().to_string().contains("do not fit"));
        assert!(load(&dir.path().join("nope"), &k).is_err());
        std::fs::write(&c, "").unwrap();
        assert!(
            load(&c, &k)
                .unwrap_err()
                .to_string()
                .contains("no certificate")
        );
        assert!(self_signed(&[]).is_err());
    }

    /// Handshakes in memory: a rustls client that trusts only `pem` connects as `name`,
    /// sends a request line, and the server reads it.
    fn handshake(
        server_cfg: ServerConfig,
        pem: &str,
        name: &str,
    ) -> std::result::Result<(), rustls::Error> {
        use rustls::pki_types::ServerName;
        use std::io::{Read, Write};

        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let client_cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(client_cfg), name)?;
        let mut server = rustls::ServerConnection::new(Arc::new(server_cfg))?;
        client
            .writer()
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .unwrap();
        for _ in 0..10 {
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets()?;
            let mut buf = Vec::new();
            server.write_tls(&mut buf).unwrap();
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets()?;
        }
        assert!(!client.is_handshaking() && !server.is_handshaking());
        let mut got = [0u8; 18];
        server.reader().read_exact(&mut got).unwrap();
        assert_eq!(&got, b"GET / HTTP/1.1\r\n\r\n");
        Ok(())
    }

    #[test]
    fn self_signed_handshakes_for_its_names_only() {
        let names = ["localhost".to_string(), "192.168.1.20".to_string()];
        let (cfg, pem) = self_signed(&names).unwrap();
        handshake(cfg, &pem, "192.168.1.20").unwrap();
        let (cfg, pem) = self_signed(&names).unwrap();
        handshake(cfg, &pem, "localhost").unwrap();
        let (cfg, pem) = self_signed(&names).unwrap();
        let e = handshake(cfg, &pem, "10.0.0.9").unwrap_err();
        assert!(e.to_string().contains("certificate"), "{e}");
    }

    #[test]
    fn kept_certificate_is_used_again_until_the_names_change() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let keep = dir.path().join("state/tls");
        let names = ["localhost".to_string(), "192.168.1.20".to_string()];
        let first = self_signed_kept(&keep, &names).unwrap();
        assert!(first.made_now);
        assert_eq!(first.cert_path, keep.join(CERT));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keep.join(KEY)), 0o600, "the key is private");
        assert_eq!(mode(&keep), 0o700);

        // Same names, or fewer: the same certificate, with the key that fits it.
        let again = self_signed_kept(&keep, &names[1..]).unwrap();
        assert!(!again.made_now);
        assert_eq!(again.pem, first.pem);
        handshake(again.config, &first.pem, "192.168.1.20").unwrap();

        // A new address: a new certificate for it.
        let moved = ["localhost".to_string(), "192.168.1.99".to_string()];
        let next = self_signed_kept(&keep, &moved).unwrap();
        assert!(next.made_now);
        assert_ne!(next.pem, first.pem);
        handshake(next.config, &next.pem, "192.168.1.99").unwrap();

        // A damaged key is replaced, not an error.
        std::fs::write(keep.join(KEY), "junk").unwrap();
        let fixed = self_signed_kept(&keep, &moved).unwrap();
        assert!(fixed.made_now);
        handshake(fixed.config, &fixed.pem, "localhost").unwrap();
    }
}
