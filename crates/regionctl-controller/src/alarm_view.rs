//! What a controller knows of its bundle's alarms between reads: alarm state changes
//! applied as they arrive, and every alarm re-read within a call budget.
//!
//! Reading every alarm every pass does not fit CloudWatch's quota at fleet size: 1,000
//! services × 31 alarms is 31,000 names per region, 310 `DescribeAlarms` calls (100 names
//! each) per region per pass, about 90 calls/s per region for three controllers at a 10 s
//! tick against a default quota of about 9/s per account and region, shared with every
//! other tool (issue 18). So:
//!
//! - **Events first.** Alarm state changes arrive as events (EventBridge → SQS); the daemon
//!   hands them to [`AlarmView::receive`] and the next pass applies them before anything
//!   else, so a new ALARM reaches the health view in the pass right after it.
//! - **Resync within a budget.** Each pass re-reads at most `alarm_reads.calls_per_sec` ×
//!   `tick_secs` calls' worth of names per region (100 each), going round the region's
//!   sorted names; a region that fits reads whole every pass, exactly as before. A full
//!   round takes [`AlarmPass::resync_secs`]: the bound on how stale an alarm may be when
//!   every event about it was lost. Level-triggered stays true: losing events only delays.
//! - **Unknown is not healthy.** An alarm never read, deleted (absent from a read) or not
//!   re-read for three rounds is no evidence; a region whose read fails this pass gives no
//!   evidence this pass, as before.

use crate::observe::{AlarmReads, RegionNames};
use crate::ports::Alarms;
use regionctl_core::health::{AlarmObservation, Observations};
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// Alarm names per `DescribeAlarms` call (the API's limit; the adapter chunks by it).
pub const NAMES_PER_CALL: usize = 100;

/// Default `DescribeAlarms` calls per second per controller and region: three controllers
/// use a third of the default quota (about 9/s) together, leaving the rest to other tools.
pub const DEFAULT_CALLS_PER_SEC: f64 = 1.0;

/// One alarm state change, as an event reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmChange {
    /// The region the alarm lives in.
    pub region: String,
    /// Alarm name.
    pub name: String,
    /// The new state and when the alarm entered it.
    pub observation: AlarmObservation,
}

/// An alarm's last known state and when this controller learnt it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Known {
    observation: AlarmObservation,
    learnt: Timestamp,
}

/// A controller's alarms between passes (kept in its [`crate::memory::Memory`]).
#[derive(Debug, Clone, Default)]
pub struct AlarmView {
    /// By region, by name.
    known: HashMap<String, HashMap<String, Known>>,
    /// By region: where the next resync read starts in the region's sorted names.
    cursor: BTreeMap<String, usize>,
    /// Changes received since the last pass.
    inbox: Vec<AlarmChange>,
}

/// What one pass's alarm stage did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmPass {
    /// Regions whose CloudWatch could not be read (no alarm evidence from them this pass).
    pub failed: Vec<String>,
    /// `DescribeAlarms` calls made.
    pub calls: u32,
    /// Events applied.
    pub events: usize,
    /// Age of the stalest alarm state used, in seconds.
    pub oldest_secs: u64,
    /// Bundle alarms with no state known (never read yet, deleted or expired).
    pub unread: usize,
    /// Seconds a full re-read of the largest region takes at the budget: how stale an
    /// alarm may become when every event about it is lost.
    pub resync_secs: u64,
}

/// `DescribeAlarms` calls a pass may make per region.
pub fn calls_per_pass(bundle: &Bundle) -> usize {
    let rate = bundle
        .controller
        .as_ref()
        .and_then(|c| c.alarm_reads.calls_per_sec)
        .unwrap_or(DEFAULT_CALLS_PER_SEC);
    let tick = bundle.tick_secs();
    // Float to count: a budget below one call per pass still makes one.
    ((rate * tick as f64).floor() as usize).max(1)
}

impl AlarmView {
    /// Keeps `changes` for the next pass.
    pub fn receive(&mut self, changes: impl IntoIterator<Item = AlarmChange>) {
        self.inbox.extend(changes);
    }

    /// The alarm stage of a pass: applies the changes received, re-reads the next slice of
    /// each region's names, and records every state known and fresh into `observations`.
    pub async fn refresh<A: Alarms>(
        &mut self,
        world: &A,
        reads: &AlarmReads,
        bundle: &Bundle,
        now: Timestamp,
        observations: &mut Observations,
    ) -> AlarmPass {
        let budget = calls_per_pass(bundle) * NAMES_PER_CALL;
        let tick = bundle.tick_secs();
        self.refresh_within(world, reads, (budget, tick), now, observations)
            .await
    }

    /// [`Self::refresh`] reading at most `budget` names per region per pass, a pass every
    /// `tick` seconds.
    async fn refresh_within<A: Alarms>(
        &mut self,
        world: &A,
        reads: &AlarmReads,
        (budget, tick): (usize, u64),
        now: Timestamp,
        observations: &mut Observations,
    ) -> AlarmPass {
        let mut pass = AlarmPass {
            events: self.apply_inbox(reads, now),
            ..AlarmPass::default()
        };
        for (region, names) in reads.by_region() {
            let rounds = names.len().div_ceil(budget).max(1) as u64;
            pass.resync_secs = pass.resync_secs.max(rounds * tick);
            let (slice, next) = self.next_slice(region, names, budget);
            pass.calls += u32::try_from(slice.len().div_ceil(NAMES_PER_CALL)).unwrap_or(0);
            match world.describe_alarms(region, &slice).await {
                Ok(states) => {
                    self.learn(region, &slice, states, now);
                    self.cursor.insert(region.clone(), next);
                }
                // The same slice again next pass.
                Err(_) => pass.failed.push(region.clone()),
            }
        }
        // Three rounds without a read (a region whose reads keep failing): no evidence.
        let max_age_ms = i64::try_from(pass.resync_secs * 3 * 1000).unwrap_or(i64::MAX);
        self.record(reads, &mut pass, now, max_age_ms, observations);
        pass
    }

    /// Applies the changes received, newest state per alarm; returns how many applied.
    fn apply_inbox(&mut self, reads: &AlarmReads, now: Timestamp) -> usize {
        let mut applied = 0;
        for change in std::mem::take(&mut self.inbox) {
            if !reads.has(&change.region, &change.name) {
                continue;
            }
            let slot = self
                .known
                .entry(change.region)
                .or_default()
                .entry(change.name);
            let newer = match &slot {
                std::collections::hash_map::Entry::Occupied(k) => {
                    change.observation.since >= k.get().observation.since
                }
                std::collections::hash_map::Entry::Vacant(_) => true,
            };
            if newer {
                slot.insert_entry(Known {
                    observation: change.observation,
                    learnt: now,
                });
                applied += 1;
            }
        }
        applied
    }

    /// The names to read in `region` this pass, and where the pass after starts once they
    /// are read: all of them if they fit the budget, else the next `budget` from the cursor,
    /// round the end.
    fn next_slice(
        &self,
        region: &str,
        names: RegionNames<'_>,
        budget: usize,
    ) -> (Vec<String>, usize) {
        if names.len() <= budget {
            return (names.to_vec(), 0);
        }
        let start = self.cursor.get(region).copied().unwrap_or(0) % names.len();
        let slice: Vec<String> = names
            .iter()
            .cycle()
            .skip(start)
            .take(budget)
            .map(String::from)
            .collect();
        (slice, (start + budget) % names.len())
    }

    /// What a read of `asked` in `region` returned: those returned are known now, those
    /// not returned (deleted alarms) no longer are.
    fn learn(
        &mut self,
        region: &str,
        asked: &[String],
        states: Vec<(String, AlarmObservation)>,
        now: Timestamp,
    ) {
        let known = self.known.entry(region.to_string()).or_default();
        for name in asked {
            known.remove(name);
        }
        for (name, observation) in states {
            known.insert(
                name,
                Known {
                    observation,
                    learnt: now,
                },
            );
        }
    }

    /// Records every known state no older than `max_age_ms`, except from regions whose
    /// read failed this pass; counts the unknown and the stalest used.
    fn record(
        &mut self,
        reads: &AlarmReads,
        pass: &mut AlarmPass,
        now: Timestamp,
        max_age_ms: i64,
        observations: &mut Observations,
    ) {
        for (region, names) in reads.by_region() {
            let known = self.known.entry(region.clone()).or_default();
            known.retain(|_, k| now.millis() - k.learnt.millis() <= max_age_ms);
            if pass.failed.contains(region) {
                pass.unread += names.len();
                continue;
            }
            for name in names.iter() {
                match known.get(name) {
                    Some(k) => {
                        let age = (now.millis() - k.learnt.millis()).max(0) / 1000;
                        pass.oldest_secs = pass.oldest_secs.max(age as u64);
                        reads.record(observations, name, k.observation);
                    }
                    None => pass.unread += 1,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
