//! Serving the admin [`Router`](axum::Router): the accept loop, and the limits every
//! connection and request meets.
//!
//! # Design
//! axum's own `serve` accepts every connection it is offered and gives hyper no timer, so a
//! client that opens connections and sends nothing holds them for ever. The accept loop is
//! therefore here, on hyper-util's glue (ADR 0013):
//! - at most [`Limits::max_connections`] connections at a time; the slot is taken *before*
//!   `accept`, so the next client waits in the kernel's listen backlog until one frees
//!   (it is not refused), and each connection frees its slot within
//!   [`Limits::connection_timeout`];
//! - one request per connection (no keep-alive), as the hand-written server did: a
//!   connection is a request, so the connection cap is the request cap too;
//! - the request head must arrive within [`Limits::request_timeout`] and fit
//!   [`MAX_HEAD_BYTES`]; a body over [`Limits::max_body_bytes`] is refused with 413
//!   (no endpoint reads one); an answer not ready within the request timeout is a 503;
//! - an accept error that is not about one connection (out of file descriptors, say) is
//!   reported and followed by a pause of [`Limits::accept_error_pause`], never a spin;
//! - every response carries `X-Content-Type-Options: nosniff` and
//!   [`CONTENT_SECURITY_POLICY`].

use axum::Router;
use axum::http::header::{CONTENT_SECURITY_POLICY as CSP, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// The status page's policy: nothing may load or run but the page's own inline `<style>`;
/// no scripts, no frames around it, no forms, no `<base>`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     script-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Largest request head (request line and headers) hyper reads; also the least it allows.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// The limits the admin server enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time for the request head to arrive, and for the answer to be ready.
    pub request_timeout: Duration,
    /// Longest a connection is kept, whatever the client does (reading slowly, say).
    pub connection_timeout: Duration,
    /// Largest request body accepted (no endpoint reads one).
    pub max_body_bytes: usize,
    /// Pause after an accept error that is not about one connection.
    pub accept_error_pause: Duration,
}

impl Limits {
    /// The controller's limits: a handful of scrapers and operators, never a crowd.
    pub const DEFAULT: Limits = Limits {
        max_connections: 32,
        request_timeout: Duration::from_secs(5),
        connection_timeout: Duration::from_secs(10),
        max_body_bytes: 1024,
        accept_error_pause: Duration::from_secs(1),
    };
}

/// `router` with the per-request limits and the security headers (on every response,
/// refusals by the limits included).
pub fn with_limits(router: Router, limits: &Limits) -> Router {
    router
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            CSP,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
}

/// Serves `router` (with [`with_limits`]) on `listener` until the process ends;
/// `accept_failed` hears each accept error that pauses the loop.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    accept_failed: impl Fn(&std::io::Error),
) {
    let accept = || async { listener.accept().await.map(|(stream, _)| stream) };
    serve_accepted(accept, router, limits, accept_failed).await;
}

/// The accept loop of [`serve`], over any source of connections (`accept`), so that its
/// pacing can be tested with accept errors a real listener cannot be made to produce.
async fn serve_accepted<S, F, Fut>(
    accept: F,
    router: Router,
    limits: Limits,
    accept_failed: impl Fn(&std::io::Error),
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = std::io::Result<S>>,
{
    let router = with_limits(router, &limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        // Never closed, so never an error; ending the loop would be the safe answer anyway.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match accept().await {
            Ok(stream) => stream,
            // The client gave up before we accepted: nothing is wrong with the listener.
            Err(e) if about_one_connection(&e) => continue,
            Err(e) => {
                accept_failed(&e);
                tokio::time::sleep(limits.accept_error_pause).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.request_timeout)
                .keep_alive(false)
                .max_buf_size(MAX_HEAD_BYTES);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            // A failed or timed-out connection only loses itself.
            let _served = tokio::time::timeout(limits.connection_timeout, connection).await;
            drop(slot);
        });
    }
}

/// Accept errors that concern one connection only (it was reset or aborted before it was
/// accepted); retrying at once is right, since the next `accept` is about another one.
fn about_one_connection(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use tokio::net::TcpStream;

    /// Goal: a listener that keeps failing (out of file descriptors) is retried once per
    /// pause, not in a spin, and every failure is reported; a reset connection is not a
    /// listener failure. Method: a scripted accept in paused (virtual) time for 10 s.
    #[tokio::test(start_paused = true)]
    async fn accept_errors_pause_the_loop_instead_of_spinning() {
        let calls = Cell::new(0u32);
        let reported = Cell::new(0u32);
        let accept = || {
            calls.set(calls.get() + 1);
            // A spinning loop never lets virtual time advance: fail instead of hanging.
            assert!(calls.get() < 100, "the accept loop spins");
            // Every 4th call a reset connection, otherwise "too many open files" (EMFILE).
            let error = if calls.get().is_multiple_of(4) {
                std::io::Error::from(std::io::ErrorKind::ConnectionReset)
            } else {
                std::io::Error::from_raw_os_error(24)
            };
            std::future::ready(Err::<TcpStream, _>(error))
        };
        let serving = serve_accepted(accept, Router::new(), Limits::DEFAULT, |_| {
            reported.set(reported.get() + 1);
        });
        // Half a second short of 10 s, so that no pause ends exactly as the test does.
        let run_for = Duration::from_millis(9_500);
        let _still_serving = tokio::time::timeout(run_for, serving).await;
        // One pause of 1 s per EMFILE, at 0, 1, …, 9 s: 10 of them, plus the 3 resets
        // between them, retried at once.
        assert_eq!(reported.get(), 10);
        assert_eq!(calls.get(), 13);
    }

    #[test]
    fn only_a_lost_connection_is_retried_at_once() {
        use std::io::{Error, ErrorKind};
        for kind in [ErrorKind::ConnectionReset, ErrorKind::ConnectionAborted] {
            assert!(about_one_connection(&Error::from(kind)), "{kind:?}");
        }
        assert!(!about_one_connection(&Error::from_raw_os_error(24)));
        assert!(!about_one_connection(&Error::from(ErrorKind::Other)));
    }
}
