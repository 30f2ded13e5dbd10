//! A stub HTTP endpoint standing in for one region's service: every request is answered
//! 200 while the region is up, 503 otherwise. It serves, on hyper, from a thread of its own
//! until the process exits.

use anyhow::{Context, Result};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
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
    /// When no port can be bound or no runtime can be built for it.
    pub fn start() -> Result<StubEndpoint> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding an endpoint")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        // Its own runtime on its own thread: callers are plain threads and async code
        // alike, and the endpoint must outlive neither's runtime.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .context("a runtime for a stub endpoint")?;
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        std::thread::Builder::new()
            .name(format!("stub-endpoint-{port}"))
            .spawn(move || runtime.block_on(serve(listener, flag)))
            .context("a thread for a stub endpoint")?;
        Ok(StubEndpoint { port, up })
    }

    /// From now on answer 200 (`true`) or 503 (`false`).
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

/// Accepts until the process exits; each connection is served on its own task.
async fn serve(listener: std::net::TcpListener, up: Arc<AtomicBool>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: a stand-in pauses rather than spins.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let up = up.clone();
        tokio::spawn(async move {
            let answer = service_fn(move |_: Request<Incoming>| {
                let up = up.load(Ordering::SeqCst);
                async move { Ok::<_, Infallible>(reply(up)) }
            });
            // A client that goes away mid-request is no concern of a stand-in.
            let _served = http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), answer)
                .await;
        });
    }
}

/// 200 `ok` while up, 503 `down` otherwise.
fn reply(up: bool) -> Response<Full<Bytes>> {
    let (status, body) = if up {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "down")
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
