//! Text rendering of plans, for people (`regionctl plan`, `explain`, game-day reports), and
//! the small text helpers other renderers share ([`clock`], [`escape_markup`]).
//!
//! Writing to a `String` cannot fail, so `let _ = writeln!(..)` discards an always-`Ok`.
#![allow(clippy::let_underscore_must_use)]

use super::{Action, Disposition, Plan, Plane, Reason, ShiftPurpose, Step};
use crate::grid::Grid;
use crate::live::LiveState;
use crate::policy::raw::SignalRole;
use crate::policy::{Bundle, Service};
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Renders a plan: steps in order with reasons, then the traffic once it has completed.
pub fn text(bundle: &Bundle, live: &LiveState, plan: &Plan, scenario: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for bundle {} ({} services) — scenario: {scenario}",
        bundle.short_hash(),
        bundle.services.len()
    );
    if let Some(p) = &plan.paused {
        let _ = writeln!(
            out,
            "PAUSED by {} ({}): nothing will be applied.",
            p.who, p.why
        );
    }
    if plan.steps.is_empty() {
        let _ = writeln!(
            out,
            "\nNo changes. The live state already matches the policies."
        );
    }
    let mut number = BTreeMap::new();
    for (i, step) in plan.steps.iter().enumerate() {
        number.insert(step.id, i + 1);
    }
    for sp in &plan.services {
        let service = &bundle.services[sp.service];
        let steps: Vec<&Step> = plan.steps_of(sp.service).collect();
        if steps.is_empty() && sp.notes.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{} — {}, tier {}, mode {}{}: {}",
            service.name,
            service.strategy.as_str(),
            service.tier,
            service.mode.as_str(),
            if service.mode_defaulted {
                " (tier default)"
            } else {
                ""
            },
            disposition(sp.disposition, steps.is_empty())
        );
        for step in steps {
            render_step(&mut out, bundle, service, step, &number);
        }
        for note in &sp.notes {
            let _ = writeln!(out, "     note: {note}");
        }
    }
    if !plan.alerts.is_empty() {
        let _ = writeln!(out, "\nAlerts:");
        for a in &plan.alerts {
            let _ = writeln!(
                out,
                "  ! {} [{}]: {}",
                a.service,
                a.kind.as_str(),
                a.message
            );
        }
    }
    let _ = writeln!(
        out,
        "\nTraffic once the plan has completed (percent of each cell):"
    );
    for sp in &plan.services {
        let service = &bundle.services[sp.service];
        let before = live.services[sp.service].weights.map(|w| w.unwrap_or(0));
        render_traffic(&mut out, service, &before, &sp.target_weights);
    }
    out
}

/// How a Route 53 step's time to take effect adds up, for people.
fn effect_breakdown(service: &Service, plane: Plane) -> String {
    let ttl = service.routing.ttl_secs;
    match (plane, &service.routing.switch) {
        (Plane::CloudWatchDataPlane, Some(sw)) => format!(
            "alarm period {}s + health check {}s × {} + TTL {ttl}s; holds without the Route 53 control plane",
            sw.period_secs, sw.interval_secs, sw.failure_threshold
        ),
        _ => format!(
            "propagation ~{}s + TTL {ttl}s; needs the Route 53 control plane (us-east-1)",
            crate::switch::ROUTE53_PROPAGATION_SECS
        ),
    }
}

fn disposition(d: Disposition, empty: bool) -> &'static str {
    if empty {
        return "nothing to do";
    }
    match d {
        Disposition::Apply => "would apply automatically",
        Disposition::RecordOnly => "observe mode, recorded only",
        Disposition::AwaitApproval => "propose mode, waits for `regionctl approve`",
        Disposition::Paused => "paused, recorded only",
    }
}

fn render_step(
    out: &mut String,
    bundle: &Bundle,
    service: &Service,
    step: &Step,
    number: &BTreeMap<usize, usize>,
) {
    let n = number.get(&step.id).copied().unwrap_or(0);
    let (kind, what) = describe(service, &step.action);
    let _ = writeln!(out, "  {n:>2}. {kind:<7} {what}");
    let _ = writeln!(
        out,
        "      plane: {}{}",
        step.plane.as_str(),
        if step.discretionary {
            " · discretionary (step limit and cooldown apply)"
        } else {
            ""
        }
    );
    if let Some(secs) = step.takes_effect_secs {
        let _ = writeln!(
            out,
            "      takes effect: within ~{secs}s ({})",
            effect_breakdown(service, step.plane)
        );
    }
    if let Action::SetWeights { changes, .. } = &step.action {
        for line in summarize_changes(service, changes) {
            let _ = writeln!(out, "      {line}");
        }
    }
    for reason in &step.reasons {
        let _ = writeln!(out, "      why: {}", reason_text(bundle, service, reason));
    }
    if matches!(
        step.action,
        Action::SetWeights {
            purpose: ShiftPurpose::Evacuate,
            ..
        }
    ) {
        let _ = writeln!(
            out,
            "      why: evacuating an unhealthy region is exempt from step limits and cooldown"
        );
    }
    if !step.after.is_empty() {
        let after: Vec<String> = step
            .after
            .iter()
            .map(|a| number.get(a).copied().unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(out, "      after: step {}", after.join(", "));
    }
}

/// A step's kind and a one-line description.
pub fn describe(service: &Service, action: &Action) -> (&'static str, String) {
    let region = |r: usize| service.regions.get(r).map_or("?", |x| x.name.as_str());
    match action {
        Action::Scale { r, from, to } => {
            let target = service.ecs.as_ref().map_or(String::new(), |e| {
                format!(" {}/{}", e.clusters[*r], e.services[*r])
            });
            (
                "scale",
                format!("ECS {}{}: desired {from} → {to}", region(*r), target),
            )
        }
        Action::WaitForCapacity {
            r,
            running,
            needed,
            timeout_secs,
        } => (
            "wait",
            format!(
                "until ECS {} runs {needed} tasks (running {running}), at most {timeout_secs}s",
                region(*r)
            ),
        ),
        Action::SetWeights { purpose, changes } => {
            let what = match purpose {
                ShiftPurpose::Evacuate => "evacuate",
                ShiftPurpose::Partial => "partial shift",
                ShiftPurpose::Failback => "failback",
            };
            (
                "shift",
                format!(
                    "Route 53 zone {}: {what}, {} record(s)",
                    service.routing.hosted_zone_id,
                    changes.len()
                ),
            )
        }
        Action::SetAlb { r, from, to } => (
            "alb",
            format!(
                "ALB {}: Fargate/Lambda {} → {}/{}",
                region(*r),
                from.map_or("?/?".into(), |f| format!("{}/{}", f.fargate, f.lambda)),
                to.fargate,
                to.lambda
            ),
        ),
        Action::RestoreRequired { r } => (
            "restore",
            format!(
                "{} needs a restore from backup; traffic is not moved",
                region(*r)
            ),
        ),
        Action::SetSwitch { r, cell, from, on } => {
            let scope = cell
                .and_then(|c| service.cells.get(c as usize))
                .map_or(String::new(), |c| format!(" cell {}", c.id));
            let state = |b: bool| if b { "on" } else { "off" };
            let alarm_region = service
                .routing
                .switch
                .as_ref()
                .and_then(|sw| sw.alarm_regions.get(*r))
                .map_or("?", String::as_str);
            (
                "switch",
                format!(
                    "data-plane switch {}{scope}: {} → {} (metric published to {alarm_region})",
                    region(*r),
                    from.map_or("unset", state),
                    state(*on)
                ),
            )
        }
    }
}

fn summarize_changes(service: &Service, changes: &[super::WeightChange]) -> Vec<String> {
    let mut groups: BTreeMap<(u16, Option<u8>, u8), Vec<u32>> = BTreeMap::new();
    for ch in changes {
        groups
            .entry((ch.r, ch.from, ch.to))
            .or_default()
            .push(ch.cell);
    }
    groups
        .into_iter()
        .map(|((r, from, to), cells)| {
            let region = service
                .regions
                .get(usize::from(r))
                .map_or("?", |x| x.name.as_str());
            let first = &service.cells[cells[0] as usize];
            let sample = if cells.len() == 1 {
                format!(
                    "{} ({})",
                    first.record_name,
                    service.cells[cells[0] as usize].set_identifiers[usize::from(r)]
                )
            } else {
                format!("{} records, e.g. {}", cells.len(), first.record_name)
            };
            format!(
                "{region}: weight {} → {to}  [{sample}]",
                from.map_or("missing".into(), |f| f.to_string())
            )
        })
        .collect()
}

/// One reason, for people.
pub fn reason_text(bundle: &Bundle, service: &Service, reason: &Reason) -> String {
    let region = |r: usize| {
        service
            .regions
            .get(r)
            .map_or("?".to_string(), |x| x.name.clone())
    };
    match reason {
        Reason::RegionUnhealthy {
            r,
            verdict,
            since,
            evidence,
            cells,
        } => {
            let mut parts = Vec::new();
            if evidence.probes_failing > 0 || evidence.probes_ok > 0 {
                parts.push(format!(
                    "probes failing from {} of {} observers (quorum {})",
                    evidence.probes_failing,
                    evidence.probes_failing + evidence.probes_ok,
                    evidence.quorum
                ));
            }
            if evidence.critical_probes_failing > 0 {
                parts.push(format!(
                    "critical probes failing from {} observer(s) (each enough alone)",
                    evidence.critical_probes_failing
                ));
            }
            if !evidence.alarms_in_alarm.is_empty() {
                let names: Vec<String> = evidence
                    .alarms_in_alarm
                    .iter()
                    .take(3)
                    .filter_map(|b| service.health.alarms.get(*b as usize))
                    .map(|a| match a.role {
                        SignalRole::Critical => format!("{} (critical)", a.name),
                        _ => a.name.clone(),
                    })
                    .collect();
                let more = evidence.alarms_in_alarm.len().saturating_sub(3);
                parts.push(format!(
                    "alarms in ALARM: {}{}",
                    names.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ));
            }
            let evidence = if parts.is_empty() {
                String::new()
            } else {
                format!(" — {}", parts.join("; "))
            };
            format!(
                "{} is {} since {} in {cells} cell(s){evidence}",
                region(*r),
                verdict.as_str(),
                clock(*since)
            )
        }
        Reason::RegionUnknown { r, cells } => format!(
            "{} health is unknown in {cells} cell(s): never route into unknown",
            region(*r)
        ),
        Reason::OverrideDrain { r, who, why, until } => format!(
            "{} drained by {who} until {}: {why}",
            region(*r),
            clock(*until)
        ),
        Reason::PreScale {
            r,
            share_from,
            share_to,
        } => format!(
            "pre-scale {} for its new share ({share_from}% → {share_to}% of the service); never scaled down during an incident",
            region(*r)
        ),
        Reason::CapacityFirst { strategy } => format!(
            "{} moves capacity first: traffic waits for running tasks (bounded)",
            strategy.as_str()
        ),
        Reason::SourceHardDown { r } => format!(
            "{} is hard down: shift at once, capacity or not",
            region(*r)
        ),
        Reason::CapacityTimeout { r, running, needed } => format!(
            "{} capacity did not arrive in time ({running}/{needed} running): shift what it can carry",
            region(*r)
        ),
        Reason::LambdaCover { r, running, needed } => format!(
            "Lambda covers {} until Fargate is ready ({running}/{needed} running)",
            region(*r)
        ),
        Reason::Load { r, in_alarm } => {
            if *in_alarm {
                format!("load alarm in {}: burst to Lambda", region(*r))
            } else {
                format!(
                    "load back to normal in {}: traffic returns to Fargate",
                    region(*r)
                )
            }
        }
        Reason::Failback {
            r,
            stage_percent,
            healthy_since,
        } => format!(
            "{} healthy since {}: failback stage {stage_percent}% of its share",
            region(*r),
            clock(*healthy_since)
        ),
        Reason::IncidentOver => "incident over: capacity returns to steady state".to_string(),
        Reason::SwitchOn { r } => format!(
            "{} is eligible again: Route 53 may answer it (its weights decide the share)",
            region(*r)
        ),
        Reason::RestoreRequired { r } => format!(
            "{} must be restored from backup by people (runbooks/restore-from-backup.md)",
            region(*r)
        ),
        Reason::DependsOn { service } => {
            let _ = bundle;
            format!("after the steps of its dependency `{service}`")
        }
    }
}

/// `s` as text in HTML or SVG (the controller's status page, the game-day chart): `&`, `<`,
/// `>` and `"` escaped.
pub fn escape_markup(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `HH:MM:SSZ` of a timestamp (UTC), without a date library.
pub fn clock(t: Timestamp) -> String {
    let secs = t.millis().div_euclid(1000);
    let day = secs.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}Z", day / 3600, (day / 60) % 60, day % 60)
}

fn render_traffic(out: &mut String, service: &Service, before: &Grid<u8>, after: &Grid<u8>) {
    let nr = service.regions.len();
    let mut groups: BTreeMap<(Vec<u32>, Vec<u32>), Vec<&str>> = BTreeMap::new();
    for (c, cell) in service.cells.iter().enumerate() {
        let b: Vec<u32> = (0..nr)
            .map(|r| u32::from(before.get(c, r).copied().unwrap_or(0)))
            .collect();
        let a: Vec<u32> = (0..nr)
            .map(|r| u32::from(after.get(c, r).copied().unwrap_or(0)))
            .collect();
        groups
            .entry((
                crate::traffic::percent_split(&b),
                crate::traffic::percent_split(&a),
            ))
            .or_default()
            .push(&cell.id);
    }
    let header: Vec<String> = service
        .regions
        .iter()
        .map(|r| format!("{:>14}", r.name))
        .collect();
    let _ = writeln!(
        out,
        "  {:<34}{}",
        format!("{} ({} cells)", service.name, service.cells.len()),
        header.join("")
    );
    for ((b, a), cells) in groups {
        let label = if cells.len() == 1 {
            cells[0].to_string()
        } else {
            format!("{} cells: {}, …", cells.len(), cells[0])
        };
        let cols: Vec<String> = (0..nr)
            .map(|r| {
                if b[r] == a[r] {
                    format!("{:>14}", a[r])
                } else {
                    format!("{:>14}", format!("{} → {}", b[r], a[r]))
                }
            })
            .collect();
        let _ = writeln!(out, "    {label:<32}{}", cols.join(""));
    }
}
