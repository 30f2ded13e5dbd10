//! What a pass did, for the daemon, `run --once`, game-days and the simulator:
//! [`PassReport`], one [`DecisionSummary`] per decision, and a summary for people.

use crate::admit::Rejected;
use crate::fleet::StandDown;
use crate::pending::PendingWrite;
use crate::status::OutcomeStatus;
use regionctl_core::live::LiveState;
use regionctl_core::plan::{Plan, render};
use regionctl_core::time::Timestamp;

/// One service's decision in this pass.
#[derive(Debug, Clone)]
pub struct DecisionSummary {
    /// Service.
    pub service: String,
    /// Decision id.
    pub id: String,
    /// True when this pass recorded the intent (false: another controller had).
    pub new: bool,
    /// Outcome status.
    pub status: OutcomeStatus,
    /// Side effects in order.
    pub log: Vec<String>,
    /// AWS calls made applying it.
    pub calls: u32,
    /// Switches its steps published: ((slot, local region), on).
    pub switched: Vec<((usize, usize), bool)>,
    /// Records written and verified: (zone, record name, set identifier, weight).
    pub written: Vec<(String, String, String, u8)>,
    /// What could not be recorded or published.
    pub warnings: Vec<String>,
    /// Records the journal refused after the effects were made (outcome, last move):
    /// the pass keeps them in memory and writes them again next pass.
    pub unwritten: Vec<PendingWrite>,
    /// Set when the intent could not be recorded: nothing was applied, and why.
    pub unrecorded: Option<String>,
    /// Alerts raised deciding it (the guard holding its steps just before applying them).
    pub alerts: Vec<String>,
    /// When this pass made a discretionary move for the service (the cooldown's start).
    pub moved_at: Option<Timestamp>,
}

/// What a pass did.
#[derive(Debug, Clone)]
pub struct PassReport {
    /// Controller region.
    pub region: String,
    /// When.
    pub at: Timestamp,
    /// Why it stood down, if it did.
    pub stand_down: Option<StandDown>,
    /// Decisions (one per service with steps).
    pub decisions: Vec<DecisionSummary>,
    /// Regions whose CloudWatch could not be read.
    pub alarm_read_failures: Vec<String>,
    /// The alarm stage: events applied, calls, staleness ([`crate::alarm_view`]).
    pub alarms: crate::alarm_view::AlarmPass,
    /// Alerts raised by planning.
    pub alerts: Vec<String>,
    /// Notes from planning.
    pub notes: Vec<String>,
    /// Live-state read failures.
    pub read_failures: Vec<String>,
    /// Journal items (or fields of them) not believed ([`crate::admit`]).
    pub rejected: Vec<Rejected>,
    /// The plan (for `explain` and tests).
    pub plan: Option<Plan>,
    /// The live state the plan was made from (for status pages).
    pub live: Option<LiveState>,
    /// Data-plane switch values republished this pass (DESIGN.md §6).
    pub switches_published: usize,
}

impl PassReport {
    /// The report of a pass by `region` at `at` that has done nothing yet.
    pub fn new(region: &str, at: Timestamp) -> Self {
        PassReport {
            region: region.to_string(),
            at,
            stand_down: None,
            decisions: Vec::new(),
            alarm_read_failures: Vec::new(),
            alarms: Default::default(),
            alerts: Vec::new(),
            notes: Vec::new(),
            read_failures: Vec::new(),
            rejected: Vec::new(),
            plan: None,
            live: None,
            switches_published: 0,
        }
    }

    /// A short summary for people.
    pub fn summary(&self) -> String {
        let mut out = format!("controller {} at {}: ", self.region, render::clock(self.at));
        if let Some(s) = &self.stand_down {
            out.push_str(&format!("standing down ({s}); changed nothing\n"));
        } else if self.decisions.is_empty() {
            out.push_str("nothing to do; changed nothing\n");
        } else {
            out.push_str(&format!("{} decision(s)\n", self.decisions.len()));
        }
        for d in &self.decisions {
            for w in &d.warnings {
                out.push_str(&format!("  warning: {} {}: {w}\n", d.service, d.id));
            }
            out.push_str(&format!(
                "  {} decision {} ({}): {}{}\n",
                d.service,
                d.id,
                if d.new { "new" } else { "already recorded" },
                d.status,
                if d.log.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", d.log.join(", "))
                }
            ));
        }
        for r in &self.alarm_read_failures {
            out.push_str(&format!(
                "  warning: CloudWatch in {r} could not be read (no alarm evidence)\n"
            ));
        }
        for r in &self.read_failures {
            out.push_str(&format!("  warning: {r}\n"));
        }
        for a in &self.alerts {
            out.push_str(&format!("  alert: {a}\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("  note: {n}\n"));
        }
        out
    }
}
