//! Minimal HTTP/1.1 on 127.0.0.1: a client for controllers' admin endpoints and a stub
//! endpoint for probes (the tests need no HTTP library for this), from [`regionctl_local`]
//! (the moto game-day target uses the same).

pub use regionctl_local::endpoint::StubEndpoint;
pub use regionctl_local::http::{exchange, get};

/// A free TCP port on 127.0.0.1 (free when this returns; a test binds it soon after).
pub fn free_port() -> u16 {
    regionctl_local::http::free_port().expect("a free port on 127.0.0.1")
}
