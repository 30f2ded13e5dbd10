//! An observer's own probes of a region's endpoints (HTTP(S) GET or TCP connect).
//!
//! `http://` and `https://` targets get a real HTTP/1.1 GET; 2xx and 3xx are healthy. For
//! `https://` the TLS handshake is complete and verified (server name and chain) against the
//! system's trust roots, plus the PEM certificates in `REGIONCTL_PROBE_CA_FILE` if it is set
//! (for endpoints behind a private CA). A certificate that does not verify is a failed probe:
//! users would fail the same way.

use regionctl_core::policy::Probe;
use regionctl_core::policy::raw::ProbeProtocol;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Most response bytes read to find the status line.
const MAX_STATUS_BYTES: usize = 1024;

/// Environment variable naming a PEM file of extra CA certificates for HTTPS probes.
pub const CA_FILE_ENV: &str = "REGIONCTL_PROBE_CA_FILE";

/// True when the target answered within its timeout.
pub async fn probe(p: &Probe) -> bool {
    probe_with(p, connector().as_ref()).await
}

/// [`probe`] with a given TLS client (`None`: HTTPS probes fail).
pub async fn probe_with(p: &Probe, tls: Option<&TlsConnector>) -> bool {
    let timeout = Duration::from_millis(p.timeout_ms);
    tokio::time::timeout(timeout, run(p, tls))
        .await
        .unwrap_or(false)
}

async fn run(p: &Probe, connector: Option<&TlsConnector>) -> bool {
    match p.protocol {
        ProbeProtocol::Tcp => TcpStream::connect(&p.target).await.is_ok(),
        ProbeProtocol::Http => {
            let Some((tls, host, port, path)) = parse_url(&p.target) else {
                return false;
            };
            let Ok(stream) = TcpStream::connect((host.as_str(), port)).await else {
                return false;
            };
            if !tls {
                return http_get(stream, &host, &path).await;
            }
            let (Some(connector), Ok(name)) = (connector, ServerName::try_from(host.clone()))
            else {
                return false;
            };
            match connector.connect(name, stream).await {
                Ok(tls_stream) => http_get(tls_stream, &host, &path).await,
                Err(_) => false,
            }
        }
    }
}

/// One GET over `stream`; true for a 2xx or 3xx status.
async fn http_get<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    path: &str,
) -> bool {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: regionctl-probe\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = vec![0u8; MAX_STATUS_BYTES];
    let Ok(n) = stream.read(&mut buf).await else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..n]);
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok());
    code.is_some_and(|c| (200..400).contains(&c))
}

/// The TLS client every HTTPS probe shares, built once: system roots plus the extra CA
/// file. `None` when no root could be loaded at all (every HTTPS probe then fails, loudly
/// in the controller's log, rather than trusting anything).
fn connector() -> Option<TlsConnector> {
    static CONNECTOR: OnceLock<Option<TlsConnector>> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            let extra = std::env::var(CA_FILE_ENV).ok();
            tls_connector(true, extra.as_deref().map(std::path::Path::new))
        })
        .clone()
}

/// A TLS client trusting the system roots (if `system`) and the PEM certificates in
/// `extra_ca`; `None` (with an error logged) when it would trust nothing.
pub fn tls_connector(system: bool, extra_ca: Option<&std::path::Path>) -> Option<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    let mut trusted = 0;
    if system {
        let native = rustls_native_certs::load_native_certs();
        trusted += roots.add_parsable_certificates(native.certs).0;
    }
    if let Some(path) = extra_ca {
        match CertificateDer::pem_file_iter(path) {
            Ok(certs) => {
                let certs: Vec<CertificateDer<'static>> = certs.flatten().collect();
                trusted += roots.add_parsable_certificates(certs).0;
            }
            Err(e) => tracing::error!("CA file {}: {e}", path.display()),
        }
    }
    if trusted == 0 {
        tracing::error!(
            "No trusted CA certificates (system store or {CA_FILE_ENV}): HTTPS probes will fail."
        );
        return None;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(TlsConnector::from(Arc::new(config)))
}

/// `(tls, host, port, path)` of an http(s) URL.
fn parse_url(url: &str) -> Option<(bool, String, u16, String)> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().ok()?),
        None => (authority.to_string(), if tls { 443 } else { 80 }),
    };
    Some((tls, host, port, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/healthz"),
            Some((false, "127.0.0.1".into(), 8080, "/healthz".into()))
        );
        assert_eq!(
            parse_url("https://a.example.com"),
            Some((true, "a.example.com".into(), 443, "/".into()))
        );
        assert_eq!(parse_url("ftp://x"), None);
    }
}
