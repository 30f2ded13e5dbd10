//! `journaled`: every applied change belongs to a decision of the pass whose intent was in
//! the journal **before** the change (intent before effects, so a crash mid-apply can be
//! rolled forward, and nothing is applied unrecorded: ADR 0012 §1, issue 17 item 1).
//! "In the journal" means written to some replica (by this controller or a peer) before
//! the effect, in the world's order of events ([`World::intents_recorded`]): an intent
//! written after the effect, or never, is a violation. Checked once per service a pass
//! changed; no grace, no exemption.

use super::{Checker, JOURNALED};
use crate::world::{Effect, World};
use regionctl_controller::reconcile::PassReport;
use std::collections::BTreeMap;

impl Checker {
    /// Journal: every effect's service has a decision this pass whose intent was recorded
    /// before the service's first effect of the pass.
    pub(super) fn check_journaled(
        &mut self,
        t: u64,
        region: &str,
        report: &PassReport,
        effects: &[Effect],
        world: &World,
    ) {
        // Per service: the first effect's sequence number.
        let mut first: BTreeMap<usize, u64> = BTreeMap::new();
        for e in effects {
            if let Some((s, _)) = self.effect_service(&e.what) {
                first.entry(s).or_insert(e.seq);
            }
        }
        for (s, seq) in first {
            self.check(JOURNALED);
            let name = self.bundle.services[s].name.clone();
            let recorded: Vec<u64> = report
                .decisions
                .iter()
                .filter(|d| d.service == name)
                .filter_map(|d| {
                    let key = (format!("DECISION#{name}"), format!("{}#INTENT", d.id));
                    world.intents_recorded.get(&key).copied()
                })
                .collect();
            let why = if recorded.is_empty() {
                "with no decision intent in the journal"
            } else if recorded.iter().all(|r| *r >= seq) {
                "before its decision's intent was in the journal"
            } else {
                continue;
            };
            self.violate(
                JOURNALED,
                format!("{name}@{t}/{region}"),
                t,
                format!("controller {region} changed {name} {why}"),
            );
        }
    }
}
