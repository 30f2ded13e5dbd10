//! HTTP on 127.0.0.1 for tests: a client for controllers' admin endpoints and a stub
//! endpoint for probes, from [`regionctl_local`] (the moto game-day target uses the same),
//! and [`exchange`], which sends bytes exactly as written.

use std::io::{Read, Write};
use std::time::Duration;

pub use regionctl_local::endpoint::StubEndpoint;
pub use regionctl_local::http::get;

/// A free TCP port on 127.0.0.1 (free when this returns; a test binds it soon after).
pub fn free_port() -> u16 {
    regionctl_local::http::free_port().expect("a free port on 127.0.0.1")
}

/// Sends `request` as it is to `127.0.0.1:port` and returns what came back before the
/// server closed the connection (or reset it, or 5 s passed without data); `None` when
/// nothing listens. Raw on purpose: the admin server's tests send requests no HTTP client
/// would (oversized heads, bad tokens in odd places) and read the reply byte for byte.
pub fn exchange(port: u16, request: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut reply = String::new();
    // A reset after the reply (the server closing on an unread body) still leaves it.
    let _clean_end = stream.read_to_string(&mut reply);
    Some(reply)
}
