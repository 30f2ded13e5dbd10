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
/// controller's share of three quarters of the account's rate over one tick, rounded down
/// (at 10 s: 37 calls a tick for the fleet, 18 each for two acting controllers, 12 for
/// three). While writes wait, the zone copies' round reads stop
/// ([`crate::memory::ZoneCache::round_reads`]), so an evacuation takes most of the
/// account's rate: other tools in the account are slowed for its duration.
///
/// The rate is shared among the controllers acting, not all configured: a controller
/// standing down (its own region lost, the common case of a region evacuation) spends
/// nothing, and dividing by three would leave a third of the rate unused while the
/// evacuation it is part of waits. The quarter held back is for what the shares do not
/// count: the passes of several controllers spend their shares in bursts a second or two
/// apart (at the whole rate, two controllers' bursts overran the bucket and every pass of
/// the second one ended on a throttled write, in the fleet benchmark; at four fifths, most
/// of them still did, and the evacuation of 200 zones took 274 s instead of 265 s),
/// controllers that count the acting fleet differently (one's heartbeat stale to the
/// other), the round reads of a controller with nothing waiting, and the other tools.
/// What is still throttled ends the pass's changes ([`Route53Pace::note`]).
pub fn calls_per_pass(bundle: &Bundle, turn: Turn) -> usize {
    let fleet = bundle.tick_secs() * ROUTE53_ACCOUNT_RATE * 3 / 4;
    let share = fleet / turn.of.max(1) as u64;
    usize::try_from(share).unwrap_or(usize::MAX).max(1)
}

/// This controller's turn at the fleet's Route 53 work: where it is among the controllers
/// acting, in fleet order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
    /// How many acting controllers come before it in fleet order.
    pub index: usize,
    /// How many act, itself included.
    pub of: usize,
}

impl Turn {
    /// A controller that knows of no peer acting.
    pub const ALONE: Turn = Turn { index: 0, of: 1 };

    /// The turn of `me` among `acting` (the controllers it sees acting, itself included:
    /// `Heartbeat::sees_acting`), ordered as `controllers` (fleet order; one not listed
    /// comes last).
    pub fn of(me: &str, controllers: &[String], acting: &[String]) -> Turn {
        let rank = |c: &str| {
            controllers
                .iter()
                .position(|x| x == c)
                .unwrap_or(usize::MAX)
        };
        let mut seen: Vec<&str> = acting.iter().map(String::as_str).collect();
        if !seen.contains(&me) {
            seen.push(me);
        }
        seen.sort_by_key(|c| (rank(c), *c));
        seen.dedup();
        Turn {
            index: seen.iter().position(|c| *c == me).unwrap_or(0),
            of: seen.len(),
        }
    }
}

/// Where in the fleet's service order (the bundle's dependency order) a pass starts taking
/// services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// The last service the previous pass spent calls on: this pass starts after it.
    pub after: Option<usize>,
    /// Without one (the first pass with Route 53 work, as an incident starts), each acting
    /// controller starts at its own part of the order: the `index`-th of `of` equal parts.
    pub turn: Turn,
}

/// The calls a pass may spend, and what an earlier round of the same pass spent.
#[derive(Debug, Clone, Copy)]
pub struct Budget<'a> {
    /// The pass's share ([`calls_per_pass`]).
    pub calls: usize,
    /// Spent already: zones read in an earlier round of the pass.
    pub spent: usize,
    /// Services an earlier round took: taken again, whatever they cost (their zones were
    /// read for them; with a share smaller than one service's calls, the first service
    /// of a pass is taken over the share, and it must stay taken).
    pub taken: &'a BTreeSet<usize>,
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
    /// The services calls were spent on.
    pub taken: BTreeSet<usize>,
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
/// calls fit the `budget`: a read of the zone when it comes from the copy (`cached_zones`,
/// once per zone: every step is planned from a fresh read of the weights, see
/// [`crate::planning`]), then per weight step one call per 1,000 changes and one to read
/// it back ([`costs`]). The services left wait whole: they are not decided this pass.
///
/// The order is the bundle's dependency order rotated to `start`: after the last service
/// the previous pass spent calls on, wrapping, so that with more work than one pass's
/// share every service gets its turn (started from the top each pass, services awaiting
/// approval ahead of the others took every pass's share for their reads, and the rest
/// were never even proposed). Where the previous pass had no Route 53 work, each acting
/// controller starts at its own part of the order: all starting at the top, the
/// controllers took the same services in the same passes, and in the fleet benchmark one
/// controller wrote all 150 zones of 200 while the other spent its share reading zones its
/// peer had just written (ADR 0020).
pub fn select(
    plan: &Plan,
    bundle: &Bundle,
    cached_zones: &[String],
    budget: Budget<'_>,
    start: Start,
) -> Selection {
    let cached: HashSet<&str> = cached_zones.iter().map(String::as_str).collect();
    let mut order = costs(plan);
    arrange(&mut order, bundle, start);
    let mut selection = Selection::default();
    let mut read: HashSet<&str> = HashSet::new();
    let mut spent = budget.spent;
    for (s, cost) in order {
        let zone = bundle.services[s].routing.hosted_zone_id.as_str();
        let from_copy = cached.contains(zone);
        let reads = cost.acts && from_copy && !read.contains(zone);
        let calls = cost.writes + usize::from(reads);
        let over = spent > 0 && spent + calls > budget.calls;
        if calls > 0 && over && !budget.taken.contains(&s) {
            selection.deferred.insert(s);
        } else if calls > 0 {
            spent += calls;
            selection.last = Some(s);
            selection.taken.insert(s);
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
    defer_dependants(plan, &mut selection);
    selection
}

/// Services whose weight steps cost calls this pass, with those calls, in plan order.
#[cfg(test)]
pub(crate) fn writing(plan: &Plan) -> Vec<(usize, usize)> {
    costs(plan)
        .into_iter()
        .filter(|(_, c)| c.writes > 0)
        .map(|(s, c)| (s, c.writes))
        .collect()
}

/// Puts `order` (services in plan order) in the order this controller takes them, by each
/// service's place in the bundle's dependency order (its rank) and this controller's
/// [`Turn`]: the ranks are cut into `of` equal parts, one per acting controller.
///
/// 1. Its own part first, from the start of the part, or after the last service the
///    previous pass spent calls on when that one is in the part, wrapping within it.
/// 2. Then the next controller's part, backwards from its end: that controller works
///    forwards from its start, so a controller done with its own part helps where the
///    other has not been yet, and the two meet in the middle. (Going on forwards, it read
///    every zone its peer had already written, one call each, before finding work: a
///    controller done first spent five passes on nothing in the fleet benchmark.)
/// 3. Then the other parts, forwards from the end of its own.
fn arrange(order: &mut [(usize, Cost)], bundle: &Bundle, start: Start) {
    let n = bundle.services.len();
    let mut rank = vec![0; n];
    for (i, &s) in bundle.dependency_order.iter().enumerate() {
        rank[s] = i;
    }
    let of = start.turn.of.max(1);
    let part = |i: usize| (i * n / of, (i + 1) * n / of);
    let (lo, hi) = part(start.turn.index.min(of - 1));
    let (next_lo, next_hi) = part((start.turn.index + 1) % of);
    let from = start
        .after
        .and_then(|a| rank.get(a).copied())
        .filter(|r| (lo..hi).contains(r))
        .map_or(lo, |r| r + 1);
    let key = |s: usize| {
        let r = rank[s];
        if (lo..hi).contains(&r) {
            (0, (r + (hi - lo) - from) % (hi - lo).max(1))
        } else if of > 1 && (next_lo..next_hi).contains(&r) {
            (1, next_hi - 1 - r)
        } else {
            (2, (r + n - hi) % n.max(1))
        }
    };
    order.sort_by_key(|(s, _)| key(*s));
}

/// Moves to `deferred` the services taken whose steps come after steps of a service that
/// waits here for its share (a dependency that would apply: its steps come first), and
/// theirs in turn. The order a controller takes services in is not the dependency order
/// ([`arrange`]), so a dependant may come up before its dependency; it waits for it, as
/// the plan says. A dependency waiting for a person (`propose`) does not hold its
/// dependants here: the decide stage does not either.
fn defer_dependants(plan: &Plan, selection: &mut Selection) {
    let applies: BTreeSet<usize> = plan
        .services
        .iter()
        .filter(|sp| sp.disposition == Disposition::Apply)
        .map(|sp| sp.service)
        .collect();
    let service_of: BTreeMap<usize, usize> = plan
        .steps
        .iter()
        .filter(|st| applies.contains(&st.service))
        .map(|st| (st.id, st.service))
        .collect();
    let mut depends: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for st in &plan.steps {
        for a in &st.after {
            if let Some(&d) = service_of.get(a).filter(|d| **d != st.service) {
                depends.entry(st.service).or_default().insert(d);
            }
        }
    }
    loop {
        let waiting: Vec<usize> = selection
            .taken
            .iter()
            .copied()
            .filter(|s| {
                depends
                    .get(s)
                    .is_some_and(|ds| ds.iter().any(|d| selection.deferred.contains(d)))
            })
            .collect();
        if waiting.is_empty() {
            return;
        }
        for s in waiting {
            selection.taken.remove(&s);
            selection.deferred.insert(s);
            if selection.last == Some(s) {
                selection.last = None;
            }
        }
    }
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
    /// Where this pass's selection started ([`Start::after`]).
    started_after: Option<usize>,
}

impl Route53Pace {
    /// The pace for the selection made at planning, with the zones that could not be read
    /// again and whether Route 53 throttled those reads.
    pub fn new(
        selection: Selection,
        (unread, throttled): (BTreeSet<String>, bool),
        started_after: Option<usize>,
    ) -> Self {
        let mut unconfirmed = selection.unconfirmed;
        unconfirmed.extend(unread);
        Route53Pace {
            deferred: selection.deferred,
            unconfirmed,
            throttled: Cell::new(throttled),
            skipped: RefCell::new(BTreeSet::new()),
            started_after,
        }
    }

    /// Where the next pass starts when this one was throttled: where this one started, not
    /// after the last service it selected. The services it selected and could not apply
    /// are then next in line (the ones it applied are no longer planned); going on after
    /// the last selected left them behind, and they waited until the end of the
    /// evacuation (the fleet benchmark's slow tail).
    pub fn restart_after(&self) -> Option<Option<usize>> {
        self.throttled.get().then_some(self.started_after)
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
