//! The `/status` document and what the status page shows: typed, borrowed from the last
//! pass, and built only when someone asks.
//!
//! # Why not a JSON tree every pass
//! The document was a `serde_json::Value` built at the end of every pass. At the fleet
//! benchmark's size (1,000 services × 30 cells × 5 regions) that took 714 ms of each 10 s
//! tick and held 374 MiB while it lived, six times the controller's memory budget, for a
//! page most passes nobody reads (`cargo bench -p regionctl --bench reaction --
//! --memory-only`, docs/PERFORMANCE.md "The status document"). Now the pass hands its
//! report and what the page shows of its health view to [`LastPass`], and the document is a tree of
//! borrowing structs serialised straight to text on request: nothing per pass but the copy,
//! and per request the text alone.

use super::state::RecentDecision;
use regionctl_controller::alarm_view::AlarmPass;
use regionctl_controller::reconcile::PassReport;
use regionctl_controller::status::OutcomeStatus;
use regionctl_core::grid::Grid;
use regionctl_core::health::explain::{self, Decider, SignalRow};
use regionctl_core::health::{HealthView, RegionEvidence, Verdict};
use regionctl_core::policy::{Bundle, Service};
use regionctl_core::switch::slot_of_cell;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;

/// What the last pass leaves for the status page: the bundle it ran on, its report and
/// its health view.
pub struct LastPass {
    /// The bundle the pass ran on.
    pub bundle: Arc<Bundle>,
    /// The pass's report (its plan and live state among it).
    pub report: PassReport,
    /// What the page shows of the health view the pass planned from.
    pub health: HealthShown,
}

/// What the status page shows of a health view: each (cell, region)'s verdict and each
/// region's evidence. A whole copy (every verdict's times and hysteresis state too) was
/// 5.8 MiB at the fleet benchmark's size, over the controller's memory budget by itself.
pub struct HealthShown {
    services: Vec<ServiceShown>,
}

struct ServiceShown {
    verdicts: Grid<Verdict>,
    evidence: Vec<RegionEvidence>,
}

impl HealthShown {
    /// The part of `view` the page shows.
    pub fn of(view: &HealthView) -> HealthShown {
        HealthShown {
            services: (view.services.iter())
                .map(|h| ServiceShown {
                    verdicts: h.entries.map(|e| e.verdict),
                    evidence: h.evidence.clone(),
                })
                .collect(),
        }
    }
}

/// `/status`: the controller, its alarms' currency, and per service its cells × regions
/// with health, weights and switches, its signals, its last decision and notes.
#[derive(Serialize)]
pub struct StatusDoc<'a> {
    /// The controller's region.
    pub region: &'a str,
    /// When the pass ran (epoch milliseconds).
    pub at_ms: i64,
    /// The bundle's hash.
    pub bundle_hash: &'a str,
    /// Why it stands down, if it does.
    pub stand_down: Option<String>,
    /// The pass's alerts.
    pub alerts: &'a [String],
    /// How current the alarms are (`regionctl_controller::alarm_view`).
    pub alarms: AlarmsDoc,
    /// The fleet's regions.
    pub regions: &'a [String],
    /// Every service of the bundle.
    pub services: Vec<ServiceDoc<'a>>,
    /// The recent decisions, newest first.
    pub recent_decisions: &'a VecDeque<RecentDecision>,
}

/// `/status` `alarms`: the stalest state used, the bound when events are lost, those with
/// no state known, and this pass's events and reads.
#[derive(Serialize)]
pub struct AlarmsDoc {
    /// The age of the stalest alarm state used.
    pub oldest_secs: u64,
    /// How often every alarm is read again (the bound when events are lost).
    pub resync_secs: u64,
    /// Alarms with no state known.
    pub unread: usize,
    /// Alarm events applied this pass.
    pub events_applied: usize,
    /// Alarm read calls this pass.
    pub read_calls: u32,
}

/// One service of `/status`.
#[derive(Serialize)]
pub struct ServiceDoc<'a> {
    /// The service's name.
    pub service: &'a str,
    /// Its strategy.
    pub strategy: &'static str,
    /// Its mode (enforce, propose, ...).
    pub mode: &'static str,
    /// Its cells.
    pub cells: Vec<CellDoc<'a>>,
    /// Its signals per region.
    pub signals: Vec<SignalsDoc<'a>>,
    /// Its decision this pass, if any.
    pub last_decision: Option<DecisionDoc<'a>>,
    /// The planner's notes on it.
    pub notes: &'a [String],
}

/// One cell: each region's health, answered weight and data-plane switch.
#[derive(Serialize)]
pub struct CellDoc<'a> {
    /// The cell's id.
    pub cell: &'a str,
    /// Each region of the service in this cell.
    pub regions: Vec<CellRegionDoc<'a>>,
}

/// One (cell, region).
#[derive(Serialize)]
pub struct CellRegionDoc<'a> {
    /// The region.
    pub region: &'a str,
    /// Its verdict in this cell.
    pub health: &'static str,
    /// The live weight; null when it could not be read.
    pub weight: Option<u8>,
    /// The data-plane switch guarding this record: on, off, or null (no switch, or never
    /// published).
    pub switch: Option<bool>,
}

/// The service's decision this pass.
#[derive(Serialize)]
pub struct DecisionDoc<'a> {
    /// The decision's id (for `regionctl explain`).
    pub id: &'a str,
    /// Its outcome here.
    pub status: OutcomeStatus,
}

/// `services[].signals`: per region, each signal with its role, what it said and whether it
/// decided ([`explain::signal_rows`], the rows `explain`'s line is built from), what
/// decided, the `served` reading and whether the served veto held (ADR 0015).
#[derive(Serialize)]
pub struct SignalsDoc<'a> {
    /// The region.
    pub region: &'a str,
    /// The evidence that decided.
    pub decided_by: Decider,
    /// The same, in words.
    pub decided_by_text: &'static str,
    /// The `served` reading.
    pub served: &'static str,
    /// Null without a `served` signal: there is no veto to hold.
    pub served_veto: Option<bool>,
    /// Each signal.
    pub rows: Vec<SignalRowDoc>,
}

/// One signal row with its role's label and what it said in words.
#[derive(Serialize)]
pub struct SignalRowDoc {
    #[serde(flatten)]
    /// The row.
    pub row: SignalRow,
    /// The role as the page labels it.
    pub label: &'static str,
    /// What it said, in words.
    pub text: String,
}

impl LastPass {
    /// The document of this pass, with the controller's `recent` decisions.
    pub fn document<'a>(&'a self, recent: &'a VecDeque<RecentDecision>) -> StatusDoc<'a> {
        let report = &self.report;
        let alarms = &report.alarms;
        StatusDoc {
            region: &report.region,
            at_ms: report.at.millis(),
            bundle_hash: &self.bundle.hash,
            stand_down: report.stand_down.as_ref().map(ToString::to_string),
            alerts: &report.alerts,
            alarms: alarms_doc(alarms),
            regions: &self.bundle.regions,
            services: (self.bundle.services.iter().enumerate())
                .map(|(s, service)| self.service(s, service))
                .collect(),
            recent_decisions: recent,
        }
    }

    fn service<'a>(&'a self, s: usize, service: &'a Service) -> ServiceDoc<'a> {
        let report = &self.report;
        let notes = (report.plan.as_ref())
            .and_then(|p| p.services.iter().find(|sp| sp.service == s))
            .map_or(&[][..], |sp| sp.notes.as_slice());
        let evidence = (self.health.services.get(s)).map_or(&[][..], |h| h.evidence.as_slice());
        ServiceDoc {
            service: &service.name,
            strategy: service.strategy.as_str(),
            mode: service.mode.as_str(),
            cells: (0..service.cells.len())
                .map(|c| self.cell(s, service, c))
                .collect(),
            signals: signals(service, evidence),
            last_decision: (report.decisions.iter())
                .find(|d| d.service == service.name)
                .map(|d| DecisionDoc {
                    id: &d.id,
                    status: d.status,
                }),
            notes,
        }
    }

    fn cell<'a>(&'a self, s: usize, service: &'a Service, c: usize) -> CellDoc<'a> {
        let live = (self.report.live.as_ref()).and_then(|l| l.services.get(s));
        let health = self.health.services.get(s);
        let slot = slot_of_cell(service, c);
        let regions = (service.regions.iter().enumerate())
            .map(|(r, region)| CellRegionDoc {
                region: &region.name,
                health: health
                    .and_then(|h| h.verdicts.get(c, r))
                    .map_or("unknown", |v| v.as_str()),
                weight: live.and_then(|l| l.weights.get(c, r).copied().flatten()),
                switch: live.and_then(|l| l.switches.get(slot, r).copied().flatten()),
            })
            .collect();
        CellDoc {
            cell: &service.cells[c].id,
            regions,
        }
    }
}

/// The `/status` document as served: `null` before the first pass.
pub fn json(last: Option<&LastPass>, recent: &VecDeque<RecentDecision>) -> String {
    let Some(last) = last else {
        return "null".to_string();
    };
    serde_json::to_string(&last.document(recent))
        .unwrap_or_else(|e| format!("{{\"error\":\"status not serialised: {e}\"}}"))
}

fn alarms_doc(alarms: &AlarmPass) -> AlarmsDoc {
    AlarmsDoc {
        oldest_secs: alarms.oldest_secs,
        resync_secs: alarms.resync_secs,
        unread: alarms.unread,
        events_applied: alarms.events,
        read_calls: alarms.calls,
    }
}

fn signals<'a>(service: &'a Service, evidence: &[RegionEvidence]) -> Vec<SignalsDoc<'a>> {
    (service.regions.iter().zip(evidence).enumerate())
        .map(|(r, (region, ev))| {
            let decided_by = explain::decider(ev);
            SignalsDoc {
                region: &region.name,
                decided_by,
                decided_by_text: decided_by.as_str(),
                served: ev.served.as_str(),
                served_veto: (!ev.served.is_absent()).then_some(ev.vetoed),
                rows: explain::signal_rows(service, r, ev)
                    .into_iter()
                    .map(|row| SignalRowDoc {
                        label: explain::role_label(row.role),
                        text: row.said.text(),
                        row,
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use regionctl_core::live::LiveState;
    use regionctl_core::time::Timestamp;

    #[test]
    fn the_document_is_null_before_a_pass_and_lists_every_cell_and_region_after() {
        assert_eq!(json(None, &VecDeque::new()), "null");
        let bundle = Arc::new(regionctl_testkit::example::example_bundle());
        let mut report = PassReport::new("eu-west-1", Timestamp::from_secs(1_800_000_000));
        report.live = Some(LiveState::steady(&bundle));
        let last = LastPass {
            health: HealthShown::of(&HealthView::unknown(&bundle)),
            bundle: Arc::clone(&bundle),
            report,
        };
        let doc: serde_json::Value =
            serde_json::from_str(&json(Some(&last), &VecDeque::new())).expect("JSON");
        assert_eq!(doc["region"], "eu-west-1");
        assert_eq!(doc["at_ms"], 1_800_000_000_000_i64);
        let services = doc["services"].as_array().expect("services");
        assert_eq!(services.len(), bundle.services.len());
        for (service, doc) in bundle.services.iter().zip(services) {
            let cells = doc["cells"].as_array().expect("cells");
            assert_eq!(cells.len(), service.cells.len(), "{}", service.name);
            let steady = LiveState::steady(&bundle);
            let s = bundle.services.iter().position(|x| x.name == service.name);
            let live = &steady.services[s.expect("service")];
            for (c, cell) in cells.iter().enumerate() {
                assert_eq!(cell["cell"], service.cells[c].id.as_str());
                for (r, region) in cell["regions"]
                    .as_array()
                    .expect("regions")
                    .iter()
                    .enumerate()
                {
                    assert_eq!(region["region"], service.regions[r].name.as_str());
                    assert_eq!(region["health"], "unknown");
                    let weight = live.weights.get(c, r).copied().flatten();
                    assert_eq!(region["weight"], serde_json::json!(weight));
                }
            }
        }
    }
}
