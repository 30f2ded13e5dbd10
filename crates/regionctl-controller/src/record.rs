//! Decision records: what a decision says for people and peers (inputs, steps with their
//! reasons, resulting traffic, alerts), and its content-hash id. Pure.

use crate::journal::{DecisionRecord, StepRecord};
use regionctl_core::grid::Grid;
use regionctl_core::health::explain;
use regionctl_core::plan::{self, Inputs, Plan, ServicePlan, render};
use regionctl_core::policy::{Bundle, Service};
use regionctl_core::time::Timestamp;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What a decision record is made from.
#[derive(Debug, Clone, Copy)]
pub struct RecordInput<'a> {
    /// What the plan was made from (bundle, health view, live state, controls, now).
    pub inputs: &'a Inputs<'a>,
    /// The start of the service's episode (none: steady, e.g. a scale-down afterwards).
    pub episode: Option<Timestamp>,
    /// The region recording it.
    pub region: &'a str,
    /// The plan.
    pub plan: &'a Plan,
    /// The service's part of it.
    pub sp: &'a ServicePlan,
    /// The service's steps, in plan order (all of them, whoever applies them).
    pub steps: &'a [&'a plan::Step],
}

/// The intent of one service's decision.
pub fn decision_record(input: &RecordInput<'_>) -> DecisionRecord {
    let RecordInput {
        inputs, plan, sp, ..
    } = *input;
    let bundle = inputs.bundle;
    let service = &bundle.services[sp.service];
    DecisionRecord {
        id: decision_id(&service.name, &bundle.hash, input.episode, sp),
        episode: input.episode,
        service: service.name.clone(),
        bundle_hash: bundle.hash.clone(),
        at: inputs.now,
        recorded_by: input.region.to_string(),
        mode: sp.mode.as_str().to_string(),
        disposition: format!("{:?}", sp.disposition).to_lowercase(),
        health: health_lines(service, &inputs.health.services[sp.service]),
        steps: step_records(bundle, service, input.steps),
        traffic: traffic_change(service, sp, &inputs.live.services[sp.service].weights),
        alerts: plan
            .alerts
            .iter()
            .filter(|a| a.service == service.name)
            .map(|a| format!("{}: {}", a.kind.as_str(), a.message))
            .collect(),
        notes: sp.notes.clone(),
        discretionary: input.steps.iter().any(|s| s.discretionary),
    }
}

/// The steps with rendered reasons; `after` by step number (1-based) within the decision.
fn step_records(bundle: &Bundle, service: &Service, steps: &[&plan::Step]) -> Vec<StepRecord> {
    let number: BTreeMap<usize, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id, i + 1))
        .collect();
    steps
        .iter()
        .map(|st| {
            let (kind, description) = render::describe(service, &st.action);
            StepRecord {
                kind: kind.to_string(),
                description,
                plane: st.plane.as_str().to_string(),
                reasons: st
                    .reasons
                    .iter()
                    .map(|r| render::reason_text(bundle, service, r))
                    .collect(),
                after: st
                    .after
                    .iter()
                    .filter_map(|a| number.get(a).copied())
                    .collect(),
            }
        })
        .collect()
}

/// Traffic once applied, for the cells whose weights change: cell → region → percent.
fn traffic_change(
    service: &Service,
    sp: &ServicePlan,
    live_weights: &Grid<Option<u8>>,
) -> serde_json::Value {
    let before = live_weights.map(|w| w.unwrap_or(0));
    let mut traffic = serde_json::Map::new();
    for (c, cell) in service.cells.iter().enumerate() {
        let after = sp.target_weights.row(c);
        if before.row(c) != after {
            let w: Vec<u32> = after.iter().map(|w| u32::from(*w)).collect();
            let pct = regionctl_core::traffic::percent_split(&w);
            let split: serde_json::Map<String, serde_json::Value> = service
                .regions
                .iter()
                .zip(pct)
                .map(|(r, p)| (r.name.clone(), p.into()))
                .collect();
            traffic.insert(cell.id.clone(), split.into());
        }
    }
    traffic.into()
}

/// Per region: its verdicts, counted over cells (`eu-west-1: healthy 3, down 1`), and
/// where roles are in play, which signal said what.
fn health_lines(service: &Service, sh: &regionctl_core::health::ServiceHealth) -> Vec<String> {
    service
        .regions
        .iter()
        .enumerate()
        .map(|(r, region)| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for entry in sh.entries.column(r) {
                *counts.entry(entry.verdict.as_str()).or_default() += 1;
            }
            let parts: Vec<String> = counts.iter().map(|(v, n)| format!("{v} {n}")).collect();
            // Which signal said what: only where signal roles are in play, so records of
            // policies without them read as before (ADR 0015).
            let signals = sh
                .evidence
                .get(r)
                .filter(|ev| explain::has_role_evidence(ev))
                .map(|ev| format!(" — {}", explain::signals_line(service, r, ev)))
                .unwrap_or_default();
            format!("{}: {}{signals}", region.name, parts.join(", "))
        })
        .collect()
}

/// Content hash of (service, bundle hash, episode start, target state): the same decision
/// reached twice in one incident, by one controller or two, has the same id; the same
/// target state in another incident has another (and needs its own approval).
pub fn decision_id(
    service: &str,
    bundle_hash: &str,
    episode: Option<Timestamp>,
    sp: &ServicePlan,
) -> String {
    let mut h = Sha256::new();
    h.update(service.as_bytes());
    h.update([0]);
    h.update(bundle_hash.as_bytes());
    h.update([0]);
    #[cfg(feature = "planted-bugs")]
    let episode = episode
        .filter(|_| !regionctl_core::planted::active(regionctl_core::planted::Bug::EpisodeNotInId));
    if let Some(start) = episode {
        h.update(start.millis().to_le_bytes());
        h.update([0]);
    }
    h.update(sp.target_weights.as_slice());
    for d in &sp.target_desired {
        h.update(d.unwrap_or(u32::MAX).to_le_bytes());
    }
    // Only services with switches hash them, so other services' ids stay as they were.
    if !sp.target_switches.is_empty() {
        h.update([0]);
        h.update(
            sp.target_switches
                .iter()
                .map(|on| u8::from(*on))
                .collect::<Vec<u8>>(),
        );
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}
