//! A hand-written SVG line chart: each region's answered traffic share of one service over
//! time, with fault (red), recovery (green) and decision (blue) markers.

use crate::duration::clock;
use crate::report::Report;
use regionctl_core::plan::render::escape_markup;

const W: f64 = 960.0;
const H: f64 = 440.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 50.0;
const COLORS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
];

/// The chart.
pub fn chart(report: &Report) -> String {
    let t = &report.traffic;
    let span = report.ran_secs.max(1) as f64;
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let x = |secs: f64| LEFT + secs / span * pw;
    let y = |pct: f64| TOP + (1.0 - pct / 100.0) * ph;
    let mut s = String::new();
    wl!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">"#
    );
    wl!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    wl!(
        s,
        r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{} — answered traffic share of {} ({} cells, mean)</text>"#,
        escape_markup(&report.scenario),
        escape_markup(&t.service),
        t.cells
    );
    wl!(
        s,
        r##"<text x="{LEFT}" y="36" fill="#555">seed {} · {} · red: fault · green: recovery · blue: decision</text>"##,
        report.seed,
        if report.passed { "PASSED" } else { "FAILED" }
    );
    // Grid and axes.
    for pct in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let yy = y(pct);
        wl!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{pct}%</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    let step = if span > 3600.0 {
        600
    } else if span > 1200.0 {
        300
    } else {
        60
    };
    let mut tick = 0u64;
    while tick as f64 <= span {
        let xx = x(tick as f64);
        wl!(
            s,
            r##"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="#999"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + ph,
            TOP + ph + 4.0,
            TOP + ph + 18.0,
            clock(tick)
        );
        tick += step;
    }
    wl!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw:.1}" height="{ph:.1}" fill="none" stroke="#333"/>"##
    );
    wl!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time since start (mm:ss)</text>"#,
        LEFT + pw / 2.0,
        H - 12.0
    );
    // Markers.
    for e in &report.timeline {
        let color = match e.kind.as_str() {
            "fault" => "#d62728",
            "recover" => "#2ca02c",
            _ => continue,
        };
        let xx = x(e.t as f64);
        wl!(
            s,
            r#"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="{color}" stroke-dasharray="4 3"><title>{} {}: {}</title></line>"#,
            TOP + ph,
            clock(e.t),
            escape_markup(e.kind.as_str()),
            escape_markup(&e.text)
        );
    }
    for d in report.decisions.iter().filter(|d| d.service == t.service) {
        let xx = x(d.t as f64);
        wl!(
            s,
            r##"<path d="M{:.1},{:.1} l5,-8 l-10,0 z" fill="#1f3fbf"><title>{} decision {}: {}</title></path>"##,
            xx,
            TOP + ph - 2.0,
            clock(d.t),
            escape_markup(&d.id),
            escape_markup(&d.reasons.first().cloned().unwrap_or_default())
        );
    }
    // Lines.
    for (r, region) in t.regions.iter().enumerate() {
        let color = COLORS[r % COLORS.len()];
        let points: Vec<String> = t
            .samples
            .iter()
            .filter_map(|row| {
                Some(format!(
                    "{:.1},{:.1}",
                    x(*row.first()?),
                    y(*row.get(r + 1)?)
                ))
            })
            .collect();
        wl!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let ly = TOP + 14.0 + r as f64 * 18.0;
        let lx = LEFT + pw + 14.0;
        wl!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0,
            escape_markup(region)
        );
    }
    s.push_str("</svg>\n");
    s
}
