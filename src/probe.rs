//! An observer's own probes of a region's endpoints (HTTP(S) GET or TCP connect).
//!
//! `http://` and `https://` targets get a real HTTP/1.1 GET through hyper's client
//! connection (the hyper the AWS SDK and the admin server already build); 2xx and 3xx are
//! healthy. Only the response head is read, never the body, and hyper bounds the head it
//! will parse, so an endpoint that streams without end costs one bounded buffer. For
//! `https://` the TLS handshake is complete and verified (server name and chain) against
//! the system's trust roots, plus the PEM certificates in `REGIONCTL_PROBE_CA_FILE` if it is
//! set (for endpoints behind a private CA). A certificate that does not verify is a failed
//! probe: users would fail the same way. The whole probe, connect to status, runs under the
//! probe's own timeout; an answer after it is no answer.

use http_body_util::Empty;
use hyper::Uri;
use hyper::client::conn::http1;
use hyper::header::{HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use regionctl_core::policy::Probe;
use regionctl_core::policy::raw::ProbeProtocol;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Most bytes of response head hyper reads before it gives up on the response (its
/// smallest allowed read buffer is 8 KiB): a status line and ordinary headers fit many
/// times over.
const MAX_HEAD_BYTES: usize = 8 * 1024;

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
            let Some(target) = Target::parse(&p.target) else {
                return false;
            };
            let Ok(stream) = TcpStream::connect((target.host.as_str(), target.port)).await else {
                return false;
            };
            if !target.tls {
                return http_get(stream, &target).await;
            }
            let (Some(connector), Ok(name)) =
                (connector, ServerName::try_from(target.host.clone()))
            else {
                return false;
            };
            match connector.connect(name, stream).await {
                Ok(tls_stream) => http_get(tls_stream, &target).await,
                Err(_) => false,
            }
        }
    }
}

/// An `http://` or `https://` probe target, parsed by `http::Uri`.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    tls: bool,
    /// The host to connect to and to verify the certificate for (an IPv6 literal without
    /// its brackets).
    host: String,
    port: u16,
    /// What the `Host` header says: the URL's authority as written.
    authority: String,
    /// Path and query, `/` when the URL has none.
    path: String,
}

impl Target {
    /// `None` for anything but an absolute http(s) URL with a host.
    fn parse(url: &str) -> Option<Self> {
        let uri: Uri = url.parse().ok()?;
        let tls = match uri.scheme_str()? {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let authority = uri.authority()?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        // A port that is written must be a port: `Uri` keeps `:99999` as text (its
        // `port()` is then `None`), and defaulting it would probe an endpoint nobody named.
        let after_host = authority
            .as_str()
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, host_port)| host_port);
        let after_host = after_host
            .rsplit_once(']')
            .map_or(after_host, |(_, rest)| rest);
        let port = match after_host.rsplit_once(':') {
            Some((_, written)) => written.parse().ok()?,
            None if tls => 443,
            None => 80,
        };
        if host.is_empty() {
            return None;
        }
        Some(Target {
            tls,
            host: host.to_string(),
            port,
            authority: authority.as_str().to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string()),
        })
    }
}

/// One GET over `stream`; true for a 2xx or 3xx status. The connection is dropped as soon
/// as the head is in (`Connection: close`; the body is never read).
async fn http_get<S>(stream: S, target: &Target) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handshake = http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .handshake::<_, Empty<&'static [u8]>>(TokioIo::new(stream))
        .await;
    let Ok((mut sender, connection)) = handshake else {
        return false;
    };
    // The connection task drives the socket; it ends when the response (or an error) is
    // in and `sender` is dropped, or with the probe's timeout, which drops this future.
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get(target.path.as_str())
        .header(HOST, target.authority.as_str())
        .header(USER_AGENT, "regionctl-probe")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::new());
    let healthy = match request {
        Ok(request) => sender.send_request(request).await.is_ok_and(|response| {
            response.status().is_success() || response.status().is_redirection()
        }),
        Err(_) => false,
    };
    driver.abort();
    healthy
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

#[cfg(test)]
mod tests {
    use super::*;

    fn target(tls: bool, host: &str, port: u16, authority: &str, path: &str) -> Target {
        Target {
            tls,
            host: host.into(),
            port,
            authority: authority.into(),
            path: path.into(),
        }
    }

    #[test]
    fn parses_urls() {
        assert_eq!(
            Target::parse("http://127.0.0.1:8080/healthz?deep=1"),
            Some(target(
                false,
                "127.0.0.1",
                8080,
                "127.0.0.1:8080",
                "/healthz?deep=1"
            ))
        );
        assert_eq!(
            Target::parse("https://a.example.com"),
            Some(target(true, "a.example.com", 443, "a.example.com", "/"))
        );
        assert_eq!(
            Target::parse("http://[::1]:9000/"),
            Some(target(false, "::1", 9000, "[::1]:9000", "/"))
        );
        assert_eq!(
            Target::parse("http://probe:secret@10.0.0.1/"),
            Some(target(false, "10.0.0.1", 80, "probe:secret@10.0.0.1", "/"))
        );
        assert_eq!(Target::parse("ftp://x"), None);
        assert_eq!(Target::parse("/healthz"), None);
        assert_eq!(Target::parse("http://a.example.com:99999/"), None);
    }
}
