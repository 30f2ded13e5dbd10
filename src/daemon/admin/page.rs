//! The status page (`GET /`): one table per service, cells × regions, health colour and
//! weight, and its signals per region (role, what each said, which decided), then the
//! recent decisions. Styles are inline in the page's `<style>` element
//! and there is no script: the Content-Security-Policy the server sends
//! ([`super::server::CONTENT_SECURITY_POLICY`]) allows exactly that.

use super::super::state::State;
use regionctl_core::plan::render::escape_markup;
use regionctl_core::time::Timestamp;

/// The HTML status page: one table per service, cells × regions, health colour and weight.
pub fn page(state: &State) -> String {
    let st = &state.status;
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>regionctl</title><style>\
         body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
         table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em;font-size:.9em}\
         .healthy{background:#d7f5d7}.degraded{background:#ffe4b3}.down{background:#ffc9c9}.unknown{background:#e6e6e6}\
         .alert{color:#a00;font-weight:bold}\
         .signals .shadow td{color:#666;font-style:italic}.signals .decided td{font-weight:bold}</style></head><body>",
    );
    html.push_str(&format!(
        "<h1>regionctl — controller {}</h1><p>policy bundle <code>{}</code> · passes {} · quorum {}</p>",
        escape_markup(&state.region),
        escape_markup(state.bundle_hash.get(..12).unwrap_or(&state.bundle_hash)),
        state.passes,
        if state.quorum == 1 { "yes" } else { "no (standing down)" }
    ));
    let alarms = &st["alarms"];
    html.push_str(&format!(
        "<p>alarms: stalest state used {} s · full re-read every {} s · {} with no state known</p>",
        alarms["oldest_secs"].as_u64().unwrap_or_default(),
        alarms["resync_secs"].as_u64().unwrap_or_default(),
        alarms["unread"].as_u64().unwrap_or_default()
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
        signals(&mut html, svc);
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

/// One service's signals (`services[].signals` of the status document): per region, each
/// signal with its role and what it said, the evidence that decided marked, then what
/// decided and whether the served veto held. Shadow rows say they never act.
fn signals(html: &mut String, svc: &serde_json::Value) {
    let Some(regions) = svc["signals"].as_array().filter(|r| !r.is_empty()) else {
        return;
    };
    html.push_str(
        "<table class=\"signals\"><tr><th>region</th><th>signal</th><th>role</th>\
         <th>said</th><th>decided</th></tr>",
    );
    for reg in regions {
        let region = escape_markup(reg["region"].as_str().unwrap_or_default());
        for row in reg["rows"].as_array().into_iter().flatten() {
            let decided = row["decided"].as_bool().unwrap_or(false);
            html.push_str(&format!(
                "<tr class=\"{}{}\"><td>{region}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape_markup(row["role"].as_str().unwrap_or_default()),
                if decided { " decided" } else { "" },
                escape_markup(row["signal"].as_str().unwrap_or_default()),
                escape_markup(row["label"].as_str().unwrap_or_default()),
                escape_markup(row["text"].as_str().unwrap_or_default()),
                if decided { "◀ decided" } else { "" }
            ));
        }
        let veto = match reg["served_veto"].as_bool() {
            Some(true) => " · served veto: held",
            Some(false) => " · served veto: not held",
            None => "",
        };
        html.push_str(&format!(
            "<tr><td>{region}</td><td colspan=\"4\">decided by: {}{veto}</td></tr>",
            escape_markup(reg["decided_by_text"].as_str().unwrap_or_default())
        ));
    }
    html.push_str("</table>");
}
