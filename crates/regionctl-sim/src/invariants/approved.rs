//! `approved-in-episode`: a `propose` service's change is applied only with an approval
//! an operator gave in the same incident (issue 17, items 2 and 8). An approval names one
//! decision; a decision's id includes the start of its episode, so the identical
//! evacuation in a later incident is another decision and waits for its own approval.
//!
//! # Incidents, from ground truth
//! A service's **incident** begins the first second some (cell, region) of it is failing
//! after the whole world was quiet (no fault in force at all) for longer than every
//! controller's view needs to turn healthy again: the service's `recover_after_secs`,
//! four ticks and the margin. A failure after a shorter quiet, or while anything else is
//! going on, belongs to the incident before (lenient: a view may still be unhealthy, and
//! then the episode legitimately goes on).
//!
//! A new incident is current only once its failure can be confirmed, `fail_after_secs`
//! after it began: until then no controller can have seen it (hysteresis), so a change
//! applied in that window on an approval of the incident before is still that incident's
//! (seed 2089: a failback stage approved at 36:46 and applied at 36:54, while an alarm that
//! began failing at 36:48 was six seconds old).
//!
//! # Rule
//! After each pass, for every `propose` service the pass changed: each applied decision
//! of it must have an approval in the journal (any replica) given no earlier than the
//! start of the service's current incident. No exemption.

use super::{APPROVED_IN_EPISODE, Checker, MARGIN_SECS};
use crate::world::{Effect, World};
use regionctl_controller::journal::Approval;
use regionctl_controller::reconcile::PassReport;
use regionctl_controller::status::OutcomeStatus;
use regionctl_core::policy::raw::Mode;
use regionctl_core::time::Timestamp;
use std::collections::BTreeSet;

/// What the checker knows of one service's incidents.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Incident {
    /// When the current (or last) incident began.
    start: Option<u64>,
    /// When the incident before it began, if there was one.
    previous: Option<u64>,
}

impl Incident {
    /// The start of the incident a change applied at `t` belongs to: the newest one once
    /// its failure can be confirmed (`fail_after` seconds in), the one before until then.
    fn current_at(&self, t: u64, fail_after: u64) -> Option<u64> {
        let start = self.start?;
        if t < start.saturating_add(fail_after) {
            self.previous.or(Some(start))
        } else {
            Some(start)
        }
    }
}

impl Checker {
    /// Incidents: a failure of service `s` after a long enough quiet begins a new one.
    /// `quiet_since` is when the world last became quiet, as of the second before.
    pub(super) fn track_incident(&mut self, s: usize, failing: bool, t: u64) {
        if !failing {
            return;
        }
        let svc = &self.bundle.services[s];
        let join = svc.health.recover_after_secs + 4 * self.tick + MARGIN_SECS;
        let long_quiet = self.quiet_since.is_some_and(|q| t.saturating_sub(q) > join);
        let incident = self.incidents.entry(s).or_default();
        if incident.start.is_none() || long_quiet {
            incident.previous = incident.start;
            incident.start = Some(t);
        }
    }

    /// The rule, after a pass that made `effects`.
    pub(super) fn check_approved_in_episode(
        &mut self,
        t: u64,
        region: &str,
        report: &PassReport,
        effects: &[Effect],
        world: &World,
    ) {
        let changed: BTreeSet<usize> = effects
            .iter()
            .filter_map(|e| self.effect_service(&e.what).map(|(s, _)| s))
            .filter(|s| self.bundle.services[*s].mode == Mode::Propose)
            .collect();
        for s in changed {
            let name = self.bundle.services[s].name.clone();
            let fail_after = self.bundle.services[s].health.fail_after_secs;
            let start = self
                .incidents
                .get(&s)
                .and_then(|i| i.current_at(t, fail_after));
            let applied: Vec<String> = report
                .decisions
                .iter()
                .filter(|d| d.service == name && d.status == OutcomeStatus::Applied)
                .map(|d| d.id.clone())
                .collect();
            if !applied.is_empty() {
                self.approved_moves.insert(s);
            }
            for id in applied {
                self.check(APPROVED_IN_EPISODE);
                let newest = approvals(world, &self.controllers, &id).max();
                let began = start.map(|b| Timestamp(world.now().millis() - secs_ms(t - b)));
                let why = match (newest, began) {
                    (None, _) => "with no approval in the journal".to_string(),
                    (Some(at), Some(began)) if at < began => format!(
                        "with an approval given {}s before this incident began (an approval authorises its own incident only)",
                        (began.millis() - at.millis()) / 1000
                    ),
                    _ => continue,
                };
                self.violate(
                    APPROVED_IN_EPISODE,
                    format!("{name}/{id}"),
                    t,
                    format!("controller {region} applied {name} decision {id} {why}"),
                );
            }
        }
    }
}

/// When each approval of decision `id` was given, in any controller's replica.
fn approvals<'a>(
    world: &'a World,
    controllers: &'a [String],
    id: &'a str,
) -> impl Iterator<Item = Timestamp> + 'a {
    let prefix = format!("{id}#");
    controllers.iter().flat_map(move |c| {
        world
            .journal
            .query(c, "APPROVAL", &prefix)
            .into_iter()
            .filter_map(|item| serde_json::from_value::<Approval>(item.body).ok())
            .map(|a| a.at)
    })
}

/// Seconds as milliseconds.
fn secs_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::Incident;

    #[test]
    fn a_new_incident_is_current_only_once_its_failure_can_be_confirmed() {
        let first = Incident {
            start: Some(100),
            previous: None,
        };
        // The first incident has nothing before it: it is the one, from its first second.
        assert_eq!(first.current_at(110, 60), Some(100));
        let second = Incident {
            start: Some(2_000),
            previous: Some(100),
        };
        assert_eq!(second.current_at(2_006, 60), Some(100));
        assert_eq!(second.current_at(2_059, 60), Some(100));
        assert_eq!(second.current_at(2_060, 60), Some(2_000));
        assert_eq!(Incident::default().current_at(5, 60), None);
    }
}
