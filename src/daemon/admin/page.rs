//! The status page (`GET /`): one table per service, cells × regions, health colour and
//! weight, and its signals per region (role, what each said, which decided), then the
//! recent decisions. Styles are inline in the page's `<style>` element
//! and there is no script: the Content-Security-Policy the server sends
//! ([`super::server::CONTENT_SECURITY_POLICY`]) allows exactly that.

use super::super::state::{RecentDecision, State};
use super::super::status::{LastPass, ServiceDoc, StatusDoc};
use regionctl_core::plan::render::escape_markup;
use regionctl_core::time::Timestamp;
use std::collections::VecDeque;

/// The page's heading: what the state says of the controller, copied out under its lock.
pub struct Head {
    region: String,
    bundle_hash: String,
    passes: u64,
    quorum: bool,
}

impl Head {
    /// The heading of `state`'s controller.
    pub fn of(state: &State) -> Head {
        Head {
            region: state.region.clone(),
            bundle_hash: state.bundle_hash.clone(),
            passes: state.passes,
            quorum: state.quorum == 1,
        }
    }
}

/// The HTML status page: one table per service, cells × regions, health colour and weight.
pub fn page(head: &Head, last: Option<&LastPass>, recent: &VecDeque<RecentDecision>) -> String {
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
        escape_markup(&head.region),
        escape_markup(head.bundle_hash.get(..12).unwrap_or(&head.bundle_hash)),
        head.passes,
        if head.quorum { "yes" } else { "no (standing down)" }
    ));
    match last {
        Some(last) => pass(&mut html, &last.document(recent)),
        None => html.push_str("<p>No reconcile pass yet.</p>"),
    }
    decisions(&mut html, recent);
    html.push_str("</body></html>");
    html
}

/// The last pass: its alarms' currency, stand-down and alerts, then every service.
fn pass(html: &mut String, st: &StatusDoc<'_>) {
    let alarms = &st.alarms;
    html.push_str(&format!(
        "<p>alarms: stalest state used {} s · full re-read every {} s · {} with no state known</p>",
        alarms.oldest_secs, alarms.resync_secs, alarms.unread
    ));
    if let Some(s) = &st.stand_down {
        html.push_str(&format!(
            "<p class=\"alert\">Standing down: {}</p>",
            escape_markup(s)
        ));
    }
    for a in st.alerts {
        html.push_str(&format!(
            "<p class=\"alert\">Alert: {}</p>",
            escape_markup(a)
        ));
    }
    for svc in &st.services {
        service(html, svc);
    }
}

/// One service: its heading, last decision, and its cells × regions table.
fn service(html: &mut String, svc: &ServiceDoc<'_>) {
    html.push_str(&format!(
        "<h2>{} <small>{} · mode {}</small></h2>",
        escape_markup(svc.service),
        escape_markup(svc.strategy),
        escape_markup(svc.mode)
    ));
    if let Some(d) = &svc.last_decision {
        html.push_str(&format!(
            "<p>last decision <code>{}</code>: {}</p>",
            escape_markup(d.id),
            escape_markup(&d.status.to_string())
        ));
    }
    html.push_str("<table><tr><th>cell</th>");
    for r in svc.cells.first().map_or(&[][..], |c| c.regions.as_slice()) {
        html.push_str(&format!("<th>{}</th>", escape_markup(r.region)));
    }
    html.push_str("</tr>");
    for cell in &svc.cells {
        html.push_str(&format!("<tr><td>{}</td>", escape_markup(cell.cell)));
        for r in &cell.regions {
            let weight = r.weight.map_or("–".to_string(), |w| w.to_string());
            let switch = match r.switch {
                Some(true) => " · switch on",
                Some(false) => " · <b>switch off</b>",
                None => "",
            };
            html.push_str(&format!(
                "<td class=\"{}\">{} · weight {}{switch}</td>",
                escape_markup(r.health),
                escape_markup(r.health),
                weight
            ));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    signals(html, svc);
}

/// The recent decisions this controller took part in, newest first.
fn decisions(html: &mut String, recent: &VecDeque<RecentDecision>) {
    html.push_str("<h2>Recent decisions</h2>");
    if recent.is_empty() {
        html.push_str("<p>None yet.</p>");
        return;
    }
    html.push_str("<table id=\"decisions\"><tr><th>at (UTC)</th><th>service</th><th>decision</th><th>status</th></tr>");
    for d in recent {
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

/// One service's signals (`services[].signals` of the status document): per region, each
/// signal with its role and what it said, the evidence that decided marked, then what
/// decided and whether the served veto held. Shadow rows say they never act.
fn signals(html: &mut String, svc: &ServiceDoc<'_>) {
    if svc.signals.is_empty() {
        return;
    }
    html.push_str(
        "<table class=\"signals\"><tr><th>region</th><th>signal</th><th>role</th>\
         <th>said</th><th>decided</th></tr>",
    );
    for reg in &svc.signals {
        let region = escape_markup(reg.region);
        for row in &reg.rows {
            let decided = row.row.decided;
            html.push_str(&format!(
                "<tr class=\"{}{}\"><td>{region}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape_markup(row.row.role.as_str()),
                if decided { " decided" } else { "" },
                escape_markup(&row.row.signal),
                escape_markup(row.label),
                escape_markup(&row.text),
                if decided { "◀ decided" } else { "" }
            ));
        }
        let veto = match reg.served_veto {
            Some(true) => " · served veto: held",
            Some(false) => " · served veto: not held",
            None => "",
        };
        html.push_str(&format!(
            "<tr><td>{region}</td><td colspan=\"4\">decided by: {}{veto}</td></tr>",
            escape_markup(reg.decided_by_text)
        ));
    }
    html.push_str("</table>");
}
