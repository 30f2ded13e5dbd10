//! `journaled`: every applied change belongs to a decision whose intent is in the journal
//! (intent before effects, so a crash mid-apply can be rolled forward). Checked once per
//! service a pass changed; no grace, no exemption.

use super::{Checker, JOURNALED};
use crate::world::{Effect, World};
use regionctl_controller::reconcile::PassReport;
use std::collections::BTreeSet;

impl Checker {
    /// Journal: every effect's service has a decision this pass whose intent is recorded.
    pub(super) fn check_journaled(
        &mut self,
        t: u64,
        region: &str,
        report: &PassReport,
        effects: &[Effect],
        world: &World,
    ) {
        let journal = world.journal.replicas.get(region);
        let union_has = |svc: &str, id: &str| {
            let key = (format!("DECISION#{svc}"), format!("{id}#INTENT"));
            journal.is_some_and(|j| j.contains_key(&key))
                || world
                    .journal
                    .replicas
                    .values()
                    .any(|j| j.contains_key(&key))
        };
        let mut seen_services = BTreeSet::new();
        for e in effects {
            let Some((s, _)) = self.effect_service(&e.what) else {
                continue;
            };
            if !seen_services.insert(s) {
                continue;
            }
            self.check(JOURNALED);
            let name = self.bundle.services[s].name.clone();
            let ok = report
                .decisions
                .iter()
                .any(|d| d.service == name && union_has(&name, &d.id));
            if !ok {
                self.violate(
                    JOURNALED,
                    format!("{name}@{t}/{region}"),
                    t,
                    format!(
                        "controller {region} changed {name} with no decision intent in the journal"
                    ),
                );
            }
        }
    }
}
