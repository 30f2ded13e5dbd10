//! A client for controllers' admin endpoints on 127.0.0.1, on `ureq` (a maintained,
//! blocking HTTP client: the game-day fleet and the test kit poll from plain threads and
//! from inside async code, where a runtime's `block_on` would panic).

use std::sync::OnceLock;
use std::time::Duration;

/// Longest a request may take, connect to last body byte.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Largest body read: a status page of a generated 1,000-service fleet is about 17 MiB.
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// `GET path` on `127.0.0.1:port`: the status code and the body, or `None` when nothing
/// answers (yet), the reply is cut short or it is not HTTP.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut response = agent()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .call()
        .ok()?;
    let code = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_string()
        .ok()?;
    Some((code, body))
}

/// The one agent: every status is an answer (a 503 from `/readyz` is what a caller waits
/// on, not an error), no redirects, and no proxy from the environment, so a request meant
/// for 127.0.0.1 never leaves the machine.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(TIMEOUT))
            .build()
            .into()
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::StubEndpoint;

    #[test]
    fn get_reads_the_status_and_body_of_any_answer() {
        let endpoint = StubEndpoint::start().expect("an endpoint");
        assert_eq!(
            get(endpoint.port, "/healthz"),
            Some((200, "ok".to_string()))
        );
        endpoint.set_up(false);
        assert_eq!(
            get(endpoint.port, "/healthz"),
            Some((503, "down".to_string()))
        );
        let closed = free_port().expect("a port");
        assert_eq!(get(closed, "/"), None);
    }
}
