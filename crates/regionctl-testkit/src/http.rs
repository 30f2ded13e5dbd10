//! Minimal HTTP/1.1 on 127.0.0.1: a client for controllers' admin endpoints and a stub
//! endpoint for probes (the tests need no HTTP library for this).

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `GET path` on `127.0.0.1:port`: the status code and the body, or `None` when nothing
/// answers (yet) or the reply is cut short.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let (reply, complete) = send(port, &request)?;
    if !complete {
        return None;
    }
    let code = reply.split_whitespace().nth(1)?.parse().ok()?;
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

/// Sends `request` as it is to `127.0.0.1:port` and returns what came back before the
/// server closed the connection (or reset it, or 5 s passed without data); `None` when
/// nothing listens.
pub fn exchange(port: u16, request: &str) -> Option<String> {
    send(port, request).map(|(reply, _)| reply)
}

/// The reply, and whether it was read to a clean end.
fn send(port: u16, request: &str) -> Option<(String, bool)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut reply = String::new();
    let complete = stream.read_to_string(&mut reply).is_ok();
    Some((reply, complete))
}

/// A free TCP port on 127.0.0.1 (free when this returns; a test binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A tiny HTTP endpoint standing in for one region's service: answers every request with
/// 200 while up, 503 otherwise. It serves until the process exits.
#[derive(Debug)]
pub struct StubEndpoint {
    /// Its port on 127.0.0.1.
    pub port: u16,
    up: Arc<AtomicBool>,
}

impl StubEndpoint {
    /// Starts serving (up) on a free port.
    pub fn start() -> StubEndpoint {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind endpoint");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut buf = [0u8; 1024];
                // Whatever arrived (or failed to): the request does not matter.
                let _request = stream.read(&mut buf);
                let status = if flag.load(Ordering::SeqCst) {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                };
                write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .ok();
            }
        });
        StubEndpoint { port, up }
    }

    /// From now on answer 200 (`true`) or 503 (`false`).
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}
