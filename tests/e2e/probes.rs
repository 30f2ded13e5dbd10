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

/// How a scripted endpoint answers.
#[derive(Clone, Copy)]
enum Answer {
    /// These bytes, then the connection is closed.
    Bytes(&'static [u8]),
    /// A 200 head announcing a chunked body, then chunks without end.
    Endless,
    /// Nothing: the request is read and the connection held open.
    Silent,
}

/// An endpoint on a loopback port that answers every connection as `answer` says; returns
/// the port and a channel of the requests it read (their first 4 KiB).
async fn scripted_server(answer: Answer) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = tcp.read(&mut buf).await.unwrap_or(0);
                let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
                match answer {
                    Answer::Bytes(bytes) => {
                        let _ = tcp.write_all(bytes).await;
                    }
                    Answer::Endless => {
                        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                        let mut sent = tcp.write_all(head).await;
                        while sent.is_ok() {
                            sent = tcp.write_all(b"400\r\n").await;
                            if sent.is_ok() {
                                sent = tcp.write_all(&[b'x'; 0x400]).await;
                            }
                            if sent.is_ok() {
                                sent = tcp.write_all(b"\r\n").await;
                            }
                        }
                    }
                    Answer::Silent => tokio::time::sleep(std::time::Duration::from_secs(30)).await,
                }
            });
        }
    });
    (port, rx)
}

/// Healthy is a 2xx or 3xx status within the timeout, read from the head alone; everything
/// else (an error status, bytes that are not HTTP, a head past hyper's bound, silence) is a
/// failed probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_probe_judges_the_status_and_nothing_else() {
    let cases: [(&str, Answer, bool); 6] = [
        (
            "200",
            Answer::Bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            true,
        ),
        (
            "302",
            Answer::Bytes(b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"),
            true,
        ),
        (
            "503",
            Answer::Bytes(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"),
            false,
        ),
        ("not HTTP", Answer::Bytes(b"SSH-2.0-OpenSSH_9.2\r\n"), false),
        ("endless body", Answer::Endless, true),
        ("silent", Answer::Silent, false),
    ];
    for (label, answer, healthy) in cases {
        let (port, _) = scripted_server(answer).await;
        let mut probe = http(format!("http://127.0.0.1:{port}/healthz"));
        probe.timeout_ms = 500;
        assert_eq!(probe_with(&probe, None).await, healthy, "{label}");
    }

    // A head larger than hyper's bound is refused, not read without end.
    let mut huge = b"HTTP/1.1 200 OK\r\nX-Padding: ".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 64 * 1024));
    huge.extend(b"\r\nContent-Length: 0\r\n\r\n");
    let (port, _) = scripted_server(Answer::Bytes(Box::leak(huge.into_boxed_slice()))).await;
    assert!(!probe_with(&http(format!("http://127.0.0.1:{port}/")), None).await);
}

/// The request is an ordinary GET: path and query as written, `Host` with the port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_probe_sends_the_path_query_and_host() {
    let (port, mut requests) =
        scripted_server(Answer::Bytes(b"HTTP/1.1 204 No Content\r\n\r\n")).await;
    let probe = http(format!("http://127.0.0.1:{port}/healthz?deep=1"));
    assert!(probe_with(&probe, None).await);
    let request = requests.recv().await.expect("the request");
    let lower = request.to_ascii_lowercase();
    assert!(
        request.starts_with("GET /healthz?deep=1 HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        lower.contains(&format!("host: 127.0.0.1:{port}\r\n")),
        "{request}"
    );
    assert!(
        lower.contains("user-agent: regionctl-probe\r\n"),
        "{request}"
    );
}
