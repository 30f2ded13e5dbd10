//! Minimal HTTP/1.1 on 127.0.0.1, for controllers' admin endpoints (no HTTP library needed
//! for this).

use std::io::{Read, Write};
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

/// A free TCP port on 127.0.0.1 (free when this returns; the caller binds it soon after).
///
/// # Errors
/// When no port can be bound.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
