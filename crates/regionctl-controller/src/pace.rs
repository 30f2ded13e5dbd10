//! Route 53 at the pace of its account rate (issue 18).
//!
//! Route 53 allows about five requests per second per account, reads and writes together,
//! every tool in the account sharing them. Losing a region of 1,000 services, each in its
//! own zone, every controller re-read every zone and wrote every service in one pass:
//! 593 calls/s in the fleet benchmark, nearly all throttled. With the real adapter each
//! throttled call is retried for seconds and its client-side bucket waits for tokens, so
//! such a pass would run for many minutes, past its heartbeat's life: the controller
//! would leave the quorum in the middle of the evacuation it was making.
//!
//! So a pass spends at most its share of the account rate over one tick on Route 53
//! changes and the reads before them ([`calls_per_pass`]), services in plan order
//! (dependencies first) until the share is spent ([`select`]); the services left are not
//! decided this pass. Once Route 53 throttles a call of the pass, it makes no more changes
//! ([`Route53Pace::note`]): the services with weights still to write wait too. A service
//! that waits is not forgotten: the next pass plans it again (level-triggered), the
//! evacuated ones no longer among them. The first service of a pass is always taken,
//! whatever its cost, so that every pass moves something; services whose steps cost no
//! Route 53 call (capacity, switches) are never held back by it.

use crate::memory::ROUTE53_ACCOUNT_RATE;
use crate::ports::{ErrorClass, PortError};
use regionctl_core::plan::{Action, Disposition, Plan, Step};
use regionctl_core::policy::Bundle;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Changes per `ChangeResourceRecordSets` call (an UPSERT counts twice): Route 53's limit.
const CHANGES_PER_CALL: usize = 1_000;

/// Route 53 calls one pass may spend on changes and the reads just before them: this
/// controller's share of the account's rate over one tick, rounded down (three
/// controllers at 10 s: 16, the fleet 4.8 calls/s). While writes wait, the zone copies'
/// round reads stop ([`crate::memory::ZoneCache::round_reads`]), so an evacuation takes the
/// account's whole rate: other tools in the account are throttled for its duration.
pub fn calls_per_pass(bundle: &Bundle) -> usize {
    let controllers = bundle
        .controller
        .as_ref()
        .map_or(1, |c| c.regions.len().max(1)) as u64;
    let share = bundle.tick_secs() * ROUTE53_ACCOUNT_RATE / controllers;
    usize::try_from(share).unwrap_or(usize::MAX).max(1)
}

/// Which services this pass decides, and which zones it reads again first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Zones to read again before writing (taken from the copy), in plan order.
    pub refresh: Vec<String>,
    /// Zones from the copy that are not read again: nothing is written to them this pass.
    pub unconfirmed: BTreeSet<String>,
    /// Services (indices) that wait whole for a later pass.
    pub deferred: BTreeSet<usize>,
    /// The last service calls were spent on: the next pass starts after it.
    pub last: Option<usize>,
}

/// What one service's steps would cost in Route 53 calls this pass.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    /// It applies a step now (not only waits for capacity, and not recorded only or
    /// paused): its zone must be read afresh first.
    acts: bool,
    /// Calls of its weight steps (applied without a person, not after a wait).
    writes: usize,
}

/// Each service's cost, in plan order.
///
/// Steps after a wait for capacity of their own service (a decision applies only its own
/// steps, so only those block it) most likely wait too, the plan having been made from
/// counts read this pass: they cost nothing now, and a service that only waits is not
/// read again (counting them let one warm standby waiting for its tasks take every pass's
/// share while the services behind it waited). Should its wait end within the pass, its
/// weights wait one more pass (its zone is unconfirmed). A decision awaiting approval
/// costs its read, not its writes: an approval arriving this pass overruns the estimate by
/// one service's calls.
fn costs(plan: &Plan) -> Vec<(usize, Cost)> {
    let disposition: BTreeMap<usize, Disposition> = plan
        .services
        .iter()
        .map(|sp| (sp.service, sp.disposition))
        .collect();
    let mut order: Vec<(usize, Cost)> = Vec::new();
    let mut position: BTreeMap<usize, usize> = BTreeMap::new();
    let mut after_wait: BTreeMap<usize, usize> = BTreeMap::new();
    for step in &plan.steps {
        let s = step.service;
        let at = *position.entry(s).or_insert_with(|| {
            order.push((s, Cost::default()));
            order.len() - 1
        });
        let waits = matches!(step.action, Action::WaitForCapacity { .. })
            || step.after.iter().any(|a| after_wait.get(a) == Some(&s));
        if waits {
            after_wait.insert(step.id, s);
            continue;
        }
        let cost = &mut order[at].1;
        match disposition.get(&s) {
            Some(Disposition::Apply) => {
                cost.acts = true;
                if let Action::SetWeights { changes, .. } = &step.action {
                    cost.writes += (changes.len() * 2).div_ceil(CHANGES_PER_CALL) + 1;
                }
            }
            Some(Disposition::AwaitApproval) => cost.acts = true,
            _ => {}
        }
    }
    order
}

/// The services with steps in `plan`, in plan order, taken while their estimated Route 53
/// calls fit `budget`: a read of the zone when it comes from the copy (`cached_zones`, once
/// per zone: every step is planned from a fresh read of the weights, see
/// [`crate::planning`]), then per weight step one call per 1,000 changes and one to read
/// it back ([`costs`]). The services left wait whole: they are not decided this pass.
///
/// The order starts after `after`, the last service the previous pass spent calls on, and
/// wraps: with more work than one pass's share, every service gets its turn (started from
/// the top each pass, services awaiting approval ahead of the others took every pass's
/// share for their reads, and the rest were never even proposed).
pub fn select(
    plan: &Plan,
    bundle: &Bundle,
    cached_zones: &[String],
    budget: usize,
    after: Option<usize>,
) -> Selection {
    let cached: HashSet<&str> = cached_zones.iter().map(String::as_str).collect();
    let mut order = costs(plan);
    if let Some(p) = after.and_then(|a| order.iter().position(|(s, _)| *s == a)) {
        order.rotate_left(p + 1);
    }
    let mut selection = Selection::default();
    let mut read: HashSet<&str> = HashSet::new();
    let mut spent = 0;
    for (s, cost) in order {
        let zone = bundle.services[s].routing.hosted_zone_id.as_str();
        let from_copy = cached.contains(zone);
        let reads = cost.acts && from_copy && !read.contains(zone);
        let calls = cost.writes + usize::from(reads);
        if spent > 0 && calls > 0 && spent + calls > budget {
            selection.deferred.insert(s);
        } else if calls > 0 {
            spent += calls;
            selection.last = Some(s);
            if reads {
                read.insert(zone);
                selection.refresh.push(zone.to_string());
            }
        }
        if from_copy {
            selection.unconfirmed.insert(zone.to_string());
        }
    }
    for zone in &read {
        selection.unconfirmed.remove(*zone);
    }
    selection
}

/// What the decide stage may still do with Route 53 this pass.
#[derive(Debug, Default)]
pub struct Route53Pace {
    /// Services whose weights wait for a later pass: over the budget, or in a zone that
    /// could not be read again before writing.
    deferred: BTreeSet<usize>,
    /// Zones that could not be read again before writing: their copies may miss a peer's
    /// change, so nothing is written to them this pass.
    unconfirmed: BTreeSet<String>,
    /// Route 53 throttled a call of this pass.
    throttled: Cell<bool>,
    /// Names of the services deferred or whose weight steps were skipped, for the report.
    skipped: RefCell<BTreeSet<String>>,
}

impl Route53Pace {
    /// The pace for the selection made at planning, with the zones that could not be read
    /// again and whether Route 53 throttled those reads.
    pub fn new(selection: Selection, unread: BTreeSet<String>, throttled: bool) -> Self {
        let mut unconfirmed = selection.unconfirmed;
        unconfirmed.extend(unread);
        Route53Pace {
            deferred: selection.deferred,
            unconfirmed,
            throttled: Cell::new(throttled),
            skipped: RefCell::new(BTreeSet::new()),
        }
    }

    /// Whether service `s` (`name`, applying `steps`) waits whole for a later pass: over
    /// the budget, or with weights to write after Route 53 throttled this pass.
    pub fn defers(&self, s: usize, name: &str, steps: &[&Step]) -> bool {
        let writes_weights = steps
            .iter()
            .any(|st| matches!(st.action, Action::SetWeights { .. }));
        let defers = self.deferred.contains(&s) || (writes_weights && self.throttled.get());
        if defers {
            self.skipped.borrow_mut().insert(name.to_string());
        }
        defers
    }

    /// Whether a weight step of `name` may write to `zone` now: not after Route 53
    /// throttled this pass, nor to a zone that could not be read again before writing.
    pub fn may_write(&self, name: &str, zone: &str) -> bool {
        let may = !self.throttled.get() && !self.unconfirmed.contains(zone);
        if !may {
            self.skipped.borrow_mut().insert(name.to_string());
        }
        may
    }

    /// Notes a Route 53 error: throttling ends this pass's changes.
    pub fn note(&self, e: &PortError) {
        if e.service == "route53" && e.class == ErrorClass::Throttled {
            self.throttled.set(true);
        }
    }

    /// The services deferred or whose weight steps this pass skipped, by name.
    pub fn skipped(&self) -> Vec<String> {
        self.skipped.borrow().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests;
