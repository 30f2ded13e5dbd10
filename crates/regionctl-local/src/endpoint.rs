//! A stub HTTP endpoint standing in for one region's service: every request is answered
//! 200 while the region is up, 503 otherwise. It serves until the process exits.

use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A stub endpoint on 127.0.0.1.
#[derive(Debug)]
pub struct StubEndpoint {
    /// Its port on 127.0.0.1.
    pub port: u16,
    up: Arc<AtomicBool>,
}

impl StubEndpoint {
    /// Starts serving (up) on a free port.
    ///
    /// # Errors
    /// When no port can be bound.
    pub fn start() -> Result<StubEndpoint> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding an endpoint")?;
        let port = listener.local_addr()?.port();
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
                let _written = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Ok(StubEndpoint { port, up })
    }

    /// From now on answer 200 (`true`) or 503 (`false`).
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}
