//! Observers' probes against real local servers: an HTTPS probe completes and verifies the
//! TLS handshake (a certificate from an untrusted CA, or a port that does not speak TLS, is
//! a failed probe), and an HTTP probe reads the status line.
//!
//! Certificates are made per test with the `openssl` command line (installed with Debian's
//! base system); a missing `openssl` fails the test and says so.

use regionctl::probe::{probe_with, tls_connector};
use regionctl_core::policy::Probe;
use regionctl_core::policy::raw::ProbeProtocol;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs the `openssl` command (apt-get install openssl): {e}")
        });
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a `localhost` server certificate it signed, in a fresh directory:
/// (ca.pem, server.pem, server.key). (A self-signed certificate cannot stand in for both:
/// it carries CA:TRUE, which a verifier rightly refuses on a server.)
fn test_pki(label: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("regionctl-probe-{}-{label}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=regionctl test CA",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(&ca, &dir);
    let mut csr = vec!["req", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&csr, &dir);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost\n").expect("ext");
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
        &dir,
    );
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// Serves `HTTP/1.1 200 OK` over TLS with `cert`/`key` on a loopback port; returns the port.
async fn tls_server(cert: &Path, key: &Path) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .expect("cert")
        .flatten()
        .collect();
    let key = PrivateKeyDer::from_pem_file(key).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut buf = [0u8; 1024];
                    let _ = tls.read(&mut buf).await;
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    port
}

/// Answers plain-text `HTTP/1.1 200 OK` to anything; returns the port.
async fn plain_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            });
        }
    });
    port
}

fn http(target: String) -> Probe {
    Probe {
        protocol: ProbeProtocol::Http,
        target,
        timeout_ms: 3000,
        role: regionctl_core::policy::raw::SignalRole::Failure,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_probes_complete_and_verify_the_tls_handshake() {
    let (ca, cert, key) = test_pki("trusted");
    let (other_ca, _, _) = test_pki("other");
    let port = tls_server(&cert, &key).await;
    let target = http(format!("https://localhost:{port}/healthz"));

    let trusting = tls_connector(false, Some(&ca)).expect("a connector trusting the test CA");
    assert!(
        probe_with(&target, Some(&trusting)).await,
        "trusted certificate"
    );

    let other = tls_connector(false, Some(&other_ca)).expect("a connector trusting another CA");
    assert!(
        !probe_with(&target, Some(&other)).await,
        "a certificate from an untrusted CA must fail the probe"
    );
    assert!(
        tls_connector(false, None).is_none(),
        "a connector that trusts nothing is refused"
    );
    assert!(
        !probe_with(&target, None).await,
        "no TLS client: probe fails"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_probe_to_a_port_without_tls_fails_and_http_reads_the_status() {
    let (ca, _, _) = test_pki("plain");
    let port = plain_server().await;
    let trusting = tls_connector(false, Some(&ca)).expect("connector");
    assert!(
        !probe_with(&http(format!("https://localhost:{port}/")), Some(&trusting)).await,
        "an open port that does not speak TLS is not a healthy HTTPS endpoint"
    );
    assert!(probe_with(&http(format!("http://127.0.0.1:{port}/")), None).await);
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    assert!(!probe_with(&http(format!("http://127.0.0.1:{closed_port}/")), None).await);
}
