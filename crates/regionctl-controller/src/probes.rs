//! An observer's own probes in one pass: each distinct endpoint once, concurrent with a
//! bound per probed region, within a deadline.
//!
//! One after another, 1,000 services' probes of a region whose endpoints time out at 2 s
//! took 33 minutes, and the controller fell out of its own quorum while it probed (issue
//! 18). Now a pass probes each distinct endpoint once ([`ProbeBatch::new`]), at most
//! `controller.probes.concurrency` at a time per probed region, so a black-holed region ties
//! up only its own slots; and the world stops waiting at the deadline
//! ([`crate::ports::Prober::probe_batch`]). A probe unanswered by then is no evidence, never
//! healthy: its verdict keeps a failure it had ([`verdicts`]) and it goes first next pass,
//! so a region too large to probe in one pass is covered over a few, never skipped.

use crate::journal::{ObservationDigest, ProbeRecord};
use crate::ports::Prober;
use futures_util::future;
use futures_util::stream::{self, Stream, StreamExt};
use regionctl_core::policy::raw::ProbeProtocol;
use regionctl_core::policy::raw::{ProbeBudget, SignalRole};
use regionctl_core::policy::{Bundle, Probe};
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;

/// The roles a probe verdict may have, in digest order (failure first, so a policy without
/// probe roles writes exactly the digests it did before them).
const ROLES: [SignalRole; 3] = [
    SignalRole::Failure,
    SignalRole::Critical,
    SignalRole::Shadow,
];

/// How a pass's probes share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeLimits {
    /// Probes in flight at once per probed region.
    pub concurrency: usize,
    /// Milliseconds the world waits for answers, from the start of the probe stage.
    pub deadline_ms: u64,
}

impl ProbeLimits {
    /// The limits a bundle's controller configuration sets (defaults without one).
    pub fn of(bundle: &Bundle) -> ProbeLimits {
        let default = ProbeBudget::default();
        let budget = bundle.controller.as_ref().map_or(&default, |c| &c.probes);
        ProbeLimits {
            concurrency: budget.concurrency(),
            deadline_ms: budget.deadline_ms(bundle.tick_secs()),
        }
    }
}

/// One verdict of the digest: a (service, region, role) and the endpoints behind it.
#[derive(Debug, Clone)]
struct Verdict {
    service: usize,
    region: usize,
    role: SignalRole,
    endpoints: Vec<usize>,
}

/// The distinct endpoints a pass probes, in the order they are started, and the verdicts
/// they decide.
#[derive(Debug, Clone)]
pub struct ProbeBatch {
    /// Each distinct probe once.
    pub probes: Vec<Probe>,
    /// The region each probe targets, as a group number: a group's probes share its
    /// concurrency bound.
    groups: Vec<usize>,
    verdicts: Vec<Verdict>,
    /// The limits this batch runs under.
    pub limits: ProbeLimits,
}

impl ProbeBatch {
    /// The batch for `bundle`. Endpoints behind a verdict missing from `previous` (this
    /// observer's last digest: unanswered by its deadline, or new) are started first.
    pub fn new(
        bundle: &Bundle,
        previous: Option<&ObservationDigest>,
        limits: ProbeLimits,
    ) -> ProbeBatch {
        let mut verdicts = Vec::new();
        // Probes of one endpoint by several services (same target, protocol and timeout;
        // roles aside) are made once.
        let mut index: HashMap<(ProbeProtocol, &str, u64, usize), usize> = HashMap::new();
        let mut endpoints: Vec<(&Probe, usize)> = Vec::new();
        for (s, service) in bundle.services.iter().enumerate() {
            for (r, probes) in service.health.probes.iter().enumerate() {
                for role in ROLES {
                    let mut behind = Vec::new();
                    for p in probes.iter().filter(|p| p.role == role) {
                        let region = bundle_region(bundle, &service.regions[r].name);
                        let next = endpoints.len();
                        let key = (p.protocol, p.target.as_str(), p.timeout_ms, region);
                        let e = *index.entry(key).or_insert(next);
                        if e == next {
                            endpoints.push((p, region));
                        }
                        behind.push(e);
                    }
                    if !behind.is_empty() {
                        verdicts.push(Verdict {
                            service: s,
                            region: r,
                            role,
                            endpoints: behind,
                        });
                    }
                }
            }
        }
        let order = start_order(bundle, &verdicts, endpoints.len(), previous);
        let mut renumber = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            renumber[old] = new;
        }
        for v in &mut verdicts {
            for e in &mut v.endpoints {
                *e = renumber[*e];
            }
        }
        ProbeBatch {
            probes: order.iter().map(|&e| endpoints[e].0.clone()).collect(),
            groups: order.iter().map(|&e| endpoints[e].1).collect(),
            verdicts,
            limits,
        }
    }

    /// Every probe's answer, in no particular order, as `(index into probes, answered)`:
    /// at most `limits.concurrency` in flight per group. Runs until every probe answered;
    /// a world with a deadline stops polling it then.
    pub fn answers<'a, P: Prober + ?Sized>(
        &'a self,
        world: &'a P,
    ) -> impl Stream<Item = (usize, bool)> + 'a {
        let mut by_group: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, g) in self.groups.iter().enumerate() {
            by_group.entry(*g).or_default().push(i);
        }
        let limit = self.limits.concurrency.max(1);
        let streams = by_group.into_values().map(move |indices| {
            stream::iter(indices)
                .map(move |i| async move { (i, world.probe(&self.probes[i]).await) })
                .buffer_unordered(limit)
                .boxed_local()
        });
        stream::select_all(streams)
    }

    /// Every probe's answer, or `None` for those still unanswered when `deadline`
    /// completes (never, for `std::future::pending()`: every probe is waited for).
    pub async fn collect_until<P, D>(&self, world: &P, deadline: D) -> Vec<Option<bool>>
    where
        P: Prober + ?Sized,
        D: Future<Output = ()>,
    {
        let mut out = vec![None; self.probes.len()];
        let filled = async {
            let mut answers = std::pin::pin!(self.answers(world));
            while let Some((i, ok)) = answers.next().await {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(ok);
                }
            }
        };
        // Whichever ends first; the late probes' futures are dropped with `filled`.
        future::select(std::pin::pin!(filled), std::pin::pin!(deadline)).await;
        out
    }
}

/// The position of region `name` in the bundle's regions (a region the bundle does not
/// list, which the loader refuses, gets a group of its own past them).
fn bundle_region(bundle: &Bundle, name: &str) -> usize {
    bundle
        .regions
        .iter()
        .position(|r| r == name)
        .unwrap_or(bundle.regions.len())
}

/// Endpoint numbers in start order: those behind a verdict `previous` lacks first, each
/// part in bundle order.
fn start_order(
    bundle: &Bundle,
    verdicts: &[Verdict],
    endpoints: usize,
    previous: Option<&ObservationDigest>,
) -> Vec<usize> {
    let had: HashSet<(&str, &str, SignalRole)> = previous
        .map(|d| {
            d.probes
                .iter()
                .map(|p| (p.service.as_str(), p.region.as_str(), p.role))
                .collect()
        })
        .unwrap_or_default();
    let mut first = vec![false; endpoints];
    if previous.is_some() {
        for v in verdicts {
            let service = &bundle.services[v.service];
            let key = (
                service.name.as_str(),
                service.regions[v.region].name.as_str(),
                v.role,
            );
            if !had.contains(&key) {
                for &e in &v.endpoints {
                    first[e] = true;
                }
            }
        }
    }
    let (mut order, rest): (Vec<usize>, Vec<usize>) = (0..endpoints).partition(|&e| first[e]);
    order.extend(rest);
    order
}

/// The digest's verdicts from a batch's answers (`None`: not answered by the deadline).
///
/// A verdict fails when any of its endpoints failed, and is ok when all answered. One with
/// an endpoint unanswered and none failed is no evidence: it is left out, unless `previous`
/// had it failing, which it keeps with its `since` (a probe that cannot be made in time is
/// never healthy, and a region too large to probe in one pass stays failed while the rest of
/// it is probed). `since` carries on from `previous` while the verdict holds.
pub fn verdicts(
    bundle: &Bundle,
    batch: &ProbeBatch,
    answers: &[Option<bool>],
    previous: Option<&ObservationDigest>,
    now: Timestamp,
) -> Vec<ProbeRecord> {
    let before: HashMap<(&str, &str, SignalRole), &ProbeRecord> = previous
        .map(|d| {
            d.probes
                .iter()
                .map(|p| ((p.service.as_str(), p.region.as_str(), p.role), p))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::with_capacity(batch.verdicts.len());
    for v in &batch.verdicts {
        let service = &bundle.services[v.service];
        let region = &service.regions[v.region].name;
        let before = before
            .get(&(service.name.as_str(), region.as_str(), v.role))
            .copied();
        let seen = v
            .endpoints
            .iter()
            .map(|&e| answers.get(e).copied().flatten());
        let ok = match seen.clone().any(|a| a == Some(false)) {
            true => false,
            false if seen.clone().all(|a| a == Some(true)) => true,
            // Unanswered, none failed: a failure this observer saw stands; nothing else.
            false => match before {
                Some(b) if !b.ok => false,
                _ => continue,
            },
        };
        let since = before.filter(|b| b.ok == ok).map_or(now, |b| b.since);
        out.push(ProbeRecord {
            service: service.name.clone(),
            region: region.clone(),
            ok,
            since,
            role: v.role,
        });
    }
    out
}

#[cfg(test)]
mod tests;
