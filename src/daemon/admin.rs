//! Admin HTTP: `/healthz`, `/readyz`, `/metrics`, `/status`, `/` (an HTML status page), and
//! token-protected `POST /pause?why=...` and `POST /resume`.
//!
//! A deliberately small HTTP/1.1 server (one request per connection, bounded request size):
//! the controller needs five read-only pages, not a web framework in its build.
//!
//! # Limits
//! Requests larger than [`MAX_REQUEST_BYTES`] or slower than [`REQUEST_TIMEOUT`] are
//! dropped.

use super::state::State;
use crate::aws_world::{AwsWorld, now_millis};
use regionctl_controller::journal;
use regionctl_controller::ports::Journal as _;
use regionctl_core::controls::Pause;
use regionctl_core::plan::render::escape_markup;
use regionctl_core::time::Timestamp;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request accepted.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Slowest request accepted.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What the server needs besides the state.
pub struct Admin {
    /// The shared state.
    pub state: Rc<RefCell<State>>,
    /// Bearer token for mutating endpoints (`None`: they are refused).
    pub token: Option<String>,
    /// The world, to write pause/resume to the journal.
    pub world: Rc<AwsWorld>,
}

/// Serves until the listener fails.
pub async fn serve(listener: TcpListener, admin: Rc<Admin>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let admin = admin.clone();
        tokio::task::spawn_local(async move {
            // A slow or broken client only loses its own connection.
            let _finished: Option<()> =
                tokio::time::timeout(REQUEST_TIMEOUT, handle(stream, admin))
                    .await
                    .ok()
                    .and_then(Result::ok);
        });
    }
}

async fn handle(mut stream: TcpStream, admin: Rc<Admin>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > MAX_REQUEST_BYTES {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let bearer = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.trim().strip_prefix("Bearer ").map(str::to_string));
    let (status, content_type, body) = route(method, path, query, bearer.as_deref(), &admin).await;
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

async fn route(
    method: &str,
    path: &str,
    query: &str,
    bearer: Option<&str>,
    admin: &Admin,
) -> (&'static str, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let state = &admin.state;
    match (method, path) {
        ("GET", "/healthz") => ("200 OK", TEXT, "ok\n".into()),
        ("GET", "/readyz") => {
            if state.borrow().ready() {
                ("200 OK", TEXT, "ready\n".into())
            } else {
                ("503 Service Unavailable", TEXT, "no recent reconcile pass\n".into())
            }
        }
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4", state.borrow().metrics()),
        ("GET", "/status") => ("200 OK", "application/json", state.borrow().status.to_string()),
        ("GET", "/") => ("200 OK", "text/html; charset=utf-8", page(&state.borrow())),
        ("POST", "/pause" | "/resume") => match (admin.token.as_deref(), bearer) {
            (None, _) => ("403 Forbidden", TEXT, "mutating endpoints are disabled: start the controller with REGIONCTL_ADMIN_TOKEN or --admin-token-file\n".into()),
            (Some(t), Some(b)) if t == b => {
                let region = state.borrow().region.clone();
                let why = query_param(query, "why").unwrap_or_else(|| "paused over the admin API".into());
                let who = query_param(query, "who").unwrap_or_else(|| "admin-api".into());
                let mut item = journal::pause_item(&Pause { who: who.clone(), why: why.clone(), at: Timestamp(now_millis()) }, &region);
                if path == "/resume" {
                    item.body = serde_json::Value::Null;
                }
                match admin.world.put(&item).await {
                    Ok(()) if path == "/pause" => ("200 OK", TEXT, format!("paused by {who}: {why}\n")),
                    Ok(()) => ("200 OK", TEXT, format!("resumed by {who}\n")),
                    Err(e) => ("503 Service Unavailable", TEXT, format!("journal write failed: {}\n", e.display_chain())),
                }
            }
            _ => ("401 Unauthorized", TEXT, "missing or wrong bearer token\n".into()),
        },
        _ => ("404 Not Found", TEXT, "not found\n".into()),
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

/// The HTML status page: one table per service, cells × regions, health colour and weight.
pub fn page(state: &State) -> String {
    let st = &state.status;
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>regionctl</title><style>\
         body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
         table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em;font-size:.9em}\
         .healthy{background:#d7f5d7}.degraded{background:#ffe4b3}.down{background:#ffc9c9}.unknown{background:#e6e6e6}\
         .alert{color:#a00;font-weight:bold}</style></head><body>",
    );
    html.push_str(&format!(
        "<h1>regionctl — controller {}</h1><p>policy bundle <code>{}</code> · passes {} · quorum {}</p>",
        escape_markup(&state.region),
        escape_markup(state.bundle_hash.get(..12).unwrap_or(&state.bundle_hash)),
        state.passes,
        if state.quorum == 1 { "yes" } else { "no (standing down)" }
    ));
    if let Some(s) = st["stand_down"].as_str() {
        html.push_str(&format!(
            "<p class=\"alert\">Standing down: {}</p>",
            escape_markup(s)
        ));
    }
    for a in st["alerts"].as_array().into_iter().flatten() {
        html.push_str(&format!(
            "<p class=\"alert\">Alert: {}</p>",
            escape_markup(a.as_str().unwrap_or_default())
        ));
    }
    for svc in st["services"].as_array().into_iter().flatten() {
        html.push_str(&format!(
            "<h2>{} <small>{} · mode {}</small></h2>",
            escape_markup(svc["service"].as_str().unwrap_or_default()),
            escape_markup(svc["strategy"].as_str().unwrap_or_default()),
            escape_markup(svc["mode"].as_str().unwrap_or_default())
        ));
        if let Some(d) = svc["last_decision"].as_object() {
            html.push_str(&format!(
                "<p>last decision <code>{}</code>: {}</p>",
                escape_markup(d.get("id").and_then(|v| v.as_str()).unwrap_or_default()),
                escape_markup(d.get("status").and_then(|v| v.as_str()).unwrap_or_default())
            ));
        }
        let regions: Vec<String> = svc["cells"][0]["regions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["region"].as_str().map(escape_markup))
            .collect();
        html.push_str("<table><tr><th>cell</th>");
        for r in &regions {
            html.push_str(&format!("<th>{r}</th>"));
        }
        html.push_str("</tr>");
        for cell in svc["cells"].as_array().into_iter().flatten() {
            html.push_str(&format!(
                "<tr><td>{}</td>",
                escape_markup(cell["cell"].as_str().unwrap_or_default())
            ));
            for r in cell["regions"].as_array().into_iter().flatten() {
                let health = r["health"].as_str().unwrap_or("unknown");
                let weight = r["weight"]
                    .as_u64()
                    .map_or("–".to_string(), |w| w.to_string());
                let switch = match r["switch"].as_bool() {
                    Some(true) => " · switch on",
                    Some(false) => " · <b>switch off</b>",
                    None => "",
                };
                html.push_str(&format!(
                    "<td class=\"{}\">{} · weight {}{switch}</td>",
                    escape_markup(health),
                    escape_markup(health),
                    weight
                ));
            }
            html.push_str("</tr>");
        }
        html.push_str("</table>");
    }
    if st.is_null() {
        html.push_str("<p>No reconcile pass yet.</p>");
    }
    html.push_str("<h2>Recent decisions</h2>");
    if state.recent.is_empty() {
        html.push_str("<p>None yet.</p>");
    } else {
        html.push_str("<table id=\"decisions\"><tr><th>at (UTC)</th><th>service</th><th>decision</th><th>status</th></tr>");
        for d in &state.recent {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape_markup(&regionctl_core::plan::render::clock(Timestamp(d.at_ms))),
                escape_markup(&d.service),
                escape_markup(&d.id),
                escape_markup(&d.status)
            ));
        }
        html.push_str("</table><p>Details: <code>regionctl explain &lt;decision&gt; --region &lt;region&gt;</code></p>");
    }
    html.push_str("</body></html>");
    html
}
