//! An observer's own probes of a region's endpoints (HTTP GET or TCP connect).
//!
//! # Limitations
//! `http://` targets get a real HTTP/1.1 GET (2xx and 3xx are healthy). For `https://`
//! targets the probe checks that a TCP connection to the port opens; it does not complete a
//! TLS handshake yet.

use regionctl_core::policy::Probe;
use regionctl_core::policy::raw::ProbeProtocol;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most response bytes read to find the status line.
const MAX_STATUS_BYTES: usize = 1024;

/// True when the target answered within its timeout.
pub async fn probe(p: &Probe) -> bool {
    let timeout = Duration::from_millis(p.timeout_ms);
    tokio::time::timeout(timeout, run(p)).await.unwrap_or(false)
}

async fn run(p: &Probe) -> bool {
    match p.protocol {
        ProbeProtocol::Tcp => TcpStream::connect(&p.target).await.is_ok(),
        ProbeProtocol::Http => {
            let Some((tls, host, port, path)) = parse_url(&p.target) else {
                return false;
            };
            let Ok(mut stream) = TcpStream::connect((host.as_str(), port)).await else {
                return false;
            };
            if tls {
                return true;
            }
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
    }
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
