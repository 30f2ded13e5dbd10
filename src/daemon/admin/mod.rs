//! Admin HTTP: `/healthz`, `/readyz`, `/metrics`, `/status`, `/` (an HTML status page), and
//! token-protected `POST /pause?why=...` and `POST /resume`.
//!
//! [`router`] is the routes, as an axum `Router`; [`server`] serves it with the limits every
//! connection and request meets (ADR 0013); [`token`] holds the bearer token's rules;
//! [`page`] renders the status page.
//!
//! # Design
//! axum wants handlers whose futures are `Send`, so what they share with the loop is too:
//! the [`State`] behind an `Arc<Mutex<…>>` (locked only to read it, never across an await;
//! the last pass is rendered after the lock is let go) and the world behind an `Arc`. Everything still runs on the daemon's one thread.

pub mod page;
pub mod server;
pub mod token;

use super::state::{RecentDecision, State};
use super::status::LastPass;
use crate::aws_world::{AwsWorld, now_millis};
use axum::Router;
use axum::extract::{RawQuery, State as Shared};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use regionctl_controller::journal;
use regionctl_controller::ports::Journal as _;
use regionctl_core::controls::Pause;
use regionctl_core::time::Timestamp;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use token::AdminToken;

const TEXT: &str = "text/plain; charset=utf-8";

/// What the routes need.
pub struct Admin {
    /// The shared state.
    pub state: Arc<Mutex<State>>,
    /// Bearer token for mutating endpoints (`None`: they are refused).
    pub token: Option<AdminToken>,
    /// The world, to write pause/resume to the journal.
    pub world: Arc<AwsWorld>,
}

impl Admin {
    /// The last pass and the recent decisions, taken out of the state so that rendering
    /// them (tens of milliseconds at fleet scale) does not hold its lock against the loop.
    fn last_pass(&self) -> (Option<Arc<LastPass>>, VecDeque<RecentDecision>) {
        let state = self.state();
        (state.last.clone(), state.recent.clone())
    }

    /// The state, read under the lock. A panic elsewhere while it was held cannot leave it
    /// half-updated in a way that matters to a page, so a poisoned lock is read anyway.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The routes. Any other path or method answers `404 not found`, as before axum.
pub fn router(admin: Arc<Admin>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { text(StatusCode::OK, "ok\n") }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/", get(status_page))
        .route("/pause", post(pause))
        .route("/resume", post(resume))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(admin)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(CONTENT_TYPE, TEXT)], body.into()).into_response()
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "not found\n")
}

async fn readyz(Shared(admin): Shared<Arc<Admin>>) -> Response {
    if admin.state().ready() {
        text(StatusCode::OK, "ready\n")
    } else {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            "no recent reconcile pass\n",
        )
    }
}

async fn metrics(Shared(admin): Shared<Arc<Admin>>) -> Response {
    let body = admin.state().metrics();
    (
        StatusCode::OK,
        [(CONTENT_TYPE, super::metrics::CONTENT_TYPE)],
        body,
    )
        .into_response()
}

async fn status(Shared(admin): Shared<Arc<Admin>>) -> Response {
    let (last, recent) = admin.last_pass();
    let body = crate::daemon::status::json(last.as_deref(), &recent);
    (StatusCode::OK, [(CONTENT_TYPE, "application/json")], body).into_response()
}

async fn status_page(Shared(admin): Shared<Arc<Admin>>) -> Response {
    let body = {
        let (last, recent) = admin.last_pass();
        let head = page::Head::of(&admin.state());
        page::page(&head, last.as_deref(), &recent)
    };
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The two mutating endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Pause,
    Resume,
}

async fn pause(
    Shared(admin): Shared<Arc<Admin>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    control(
        &admin,
        &headers,
        query.as_deref().unwrap_or_default(),
        Control::Pause,
    )
    .await
}

async fn resume(
    Shared(admin): Shared<Arc<Admin>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    control(
        &admin,
        &headers,
        query.as_deref().unwrap_or_default(),
        Control::Resume,
    )
    .await
}

/// The bearer token presented, if any: the `Authorization` value, trimmed, after `Bearer `.
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    headers
        .get(AUTHORIZATION)?
        .as_bytes()
        .trim_ascii()
        .strip_prefix(b"Bearer ")
}

/// `POST /pause` and `/resume`: checks the token, then writes the `PAUSE` control item
/// (a `null` body resumes).
async fn control(admin: &Admin, headers: &HeaderMap, query: &str, action: Control) -> Response {
    let Some(token) = &admin.token else {
        return text(
            StatusCode::FORBIDDEN,
            "mutating endpoints are disabled: start the controller with REGIONCTL_ADMIN_TOKEN or --admin-token-file\n",
        );
    };
    if !bearer(headers).is_some_and(|b| token.matches(b)) {
        return text(StatusCode::UNAUTHORIZED, "missing or wrong bearer token\n");
    }
    let region = admin.state().region.clone();
    let why = query_param(query, "why").unwrap_or_else(|| "paused over the admin API".into());
    let who = query_param(query, "who").unwrap_or_else(|| "admin-api".into());
    let mut item = journal::pause_item(
        &Pause {
            who: who.clone(),
            why: why.clone(),
            at: Timestamp(now_millis()),
        },
        &region,
    );
    if action == Control::Resume {
        item.body = serde_json::Value::Null;
    }
    match admin.world.put(&item).await {
        Ok(()) if action == Control::Pause => {
            text(StatusCode::OK, format!("paused by {who}: {why}\n"))
        }
        Ok(()) => text(StatusCode::OK, format!("resumed by {who}\n")),
        Err(e) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("journal write failed: {}\n", e.display_chain()),
        ),
    }
}

/// A query parameter, with `+` and `%20` read as spaces (enough for a reason string).
fn query_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.replace('+', " ").replace("%20", " "))
}

#[cfg(test)]
mod tests;
