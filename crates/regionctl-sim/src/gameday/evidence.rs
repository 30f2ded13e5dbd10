//! What a game-day saw, typed, whatever the target: the judge reads only this.
//!
//! # Design
//! Traffic is a series of samples per service, each a percent per (cell, local region).
//! The simulated world measures *answered* traffic (Route 53's answering rules, health
//! checks and resolver TTLs) once per virtual second; a real-time target samples the
//! weights *written* to Route 53 every few hundred milliseconds or seconds, at whole-second
//! times (several samples may share a second). Decisions are the journal's
//! [`DecisionRecord`]s and [`OutcomeRecord`]s. Changes are the world's effect log on the
//! simulated world, and only the weight changes seen between samples in real time (ECS
//! counts and switches are not observed there).

use crate::world::Effect;
use crate::world::route53::normalize;
use regionctl_controller::journal::{DecisionRecord, OutcomeRecord};
use regionctl_controller::status::OutcomeStatus;
use regionctl_core::grid::Grid;
use regionctl_core::policy::Service;
use regionctl_core::time::Timestamp;
use regionctl_core::traffic::answered_weights;
use serde::Serialize;
use std::collections::BTreeMap;

/// Per controller region: (seconds from the start, stand-down reason, or `None` when it
/// acts again), each time it changed.
pub type StandDowns = BTreeMap<String, Vec<(u64, Option<String>)>>;

/// Everything the judge reads.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// Traffic per service, in bundle order.
    pub series: Vec<ServiceSeries>,
    /// Decisions by id.
    pub decisions: BTreeMap<String, SeenDecision>,
    /// Stand-downs per controller region.
    pub stand_downs: StandDowns,
    /// What the controllers changed, as far as the target saw.
    pub changes: Changes,
    /// ECS desired counts and ALB Lambda shares over time, where the target saw them.
    pub compute: super::compute::ComputeSeries,
    /// How much before a fault's time an observation caused by it may be stamped: 0 on
    /// the simulated world, where passes run after the second's faults; 1 s in real time,
    /// where a controller's pass may have started (and stamps its decision with its start)
    /// just before the driver injected the fault it reacts to.
    pub slack_secs: u64,
}

/// Traffic of one service over time.
#[derive(Debug, Clone)]
pub struct ServiceSeries {
    /// Service index.
    pub service: usize,
    /// Per sample, per (cell, local region): percent. `NaN` where a real-time sample saw
    /// no weight for the cell (no record, or every weight 0): no evidence either way.
    pub samples: Vec<Grid<f32>>,
    /// Baseline percent per (cell, local region).
    pub baseline: Grid<f32>,
    /// Seconds from the start of each sample; `None`: one sample per second from 0.
    times: Option<Vec<u64>>,
}

impl ServiceSeries {
    /// A series with one sample per second, from second 0 (the simulated world).
    pub fn every_second(service: usize, baseline: Grid<f32>, capacity: usize) -> Self {
        ServiceSeries {
            service,
            samples: Vec::with_capacity(capacity),
            baseline,
            times: None,
        }
    }

    /// A series of samples at the seconds they were taken (real-time targets).
    pub fn sampled(service: usize, baseline: Grid<f32>) -> Self {
        ServiceSeries {
            service,
            samples: Vec::new(),
            baseline,
            times: Some(Vec::new()),
        }
    }

    /// Adds a sample taken at `t` (for an every-second series, `t` is its index).
    pub fn push(&mut self, t: u64, sample: Grid<f32>) {
        if let Some(times) = &mut self.times {
            times.push(t);
        }
        self.samples.push(sample);
    }

    /// Whether samples are taken now and then (real time) rather than every second.
    pub fn is_sampled(&self) -> bool {
        self.times.is_some()
    }

    /// The samples taken from `from` to `to` (both included), with their times, in order.
    pub fn window(&self, from: u64, to: u64) -> impl Iterator<Item = (u64, &Grid<f32>)> + '_ {
        self.indexed_window(from, to).map(|(_, t, s)| (t, s))
    }

    /// [`ServiceSeries::window`] with each sample's index: a real-time series may hold
    /// several samples within one second, so "the samples after this one" is an index, not
    /// a time.
    pub fn indexed_window(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = (usize, u64, &Grid<f32>)> + '_ {
        let (lo, hi) = match &self.times {
            None => {
                let len = self.samples.len();
                let lo = usize::try_from(from).unwrap_or(usize::MAX).min(len);
                let hi = usize::try_from(to)
                    .map_or(len, |t| t.saturating_add(1))
                    .min(len);
                (lo, hi.max(lo))
            }
            Some(times) => {
                let lo = times.partition_point(|x| *x < from);
                let hi = times.partition_point(|x| *x <= to).max(lo);
                (lo, hi)
            }
        };
        (lo..hi).map(move |i| (i, self.time(i), &self.samples[i]))
    }

    /// The sample in force at `t`: the last one taken at or before it.
    pub fn at(&self, t: u64) -> Option<&Grid<f32>> {
        let i = match &self.times {
            None => usize::try_from(t).ok()?,
            Some(times) => times.partition_point(|x| *x <= t).checked_sub(1)?,
        };
        self.samples.get(i)
    }

    fn time(&self, i: usize) -> u64 {
        match &self.times {
            None => i as u64,
            Some(times) => times[i],
        }
    }
}

/// One value of a sample: (cell `c`, local region `r`); `None` when the sample has none.
pub fn value(sample: Option<&Grid<f32>>, c: usize, r: usize) -> Option<f32> {
    sample?.get(c, r).copied().filter(|v| !v.is_nan())
}

/// A service's baseline: per (cell, local region), the percent of answers its baseline
/// weights give when every record is healthy.
pub fn baseline_shares(svc: &Service) -> Grid<f32> {
    let nr = svc.regions.len();
    let mut baseline = Grid::new(svc.cells.len(), nr, 0.0);
    for (cell, row) in svc.cells.iter().zip(baseline.rows_mut()) {
        let w: Vec<u32> = cell
            .baseline_weights
            .iter()
            .map(|w| u32::from(*w))
            .collect();
        let percent = shares(&answered_weights(&w, &vec![true; nr]));
        for (x, share) in row.iter_mut().zip(percent) {
            *x = (share * 100.0) as f32;
        }
    }
    baseline
}

/// Each weight's fraction of their sum (all 0 when the sum is).
pub fn shares(weights: &[u32]) -> Vec<f64> {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return vec![0.0; weights.len()];
    }
    weights
        .iter()
        .map(|w| f64::from(*w) / total as f64)
        .collect()
}

/// A decision as the game-day saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeenDecision {
    /// Decision id.
    pub id: String,
    /// Service.
    pub service: String,
    /// First seen (seconds from the start).
    pub first_t: u64,
    /// Controller that recorded it first.
    pub recorded_by: String,
    /// Statuses reached: (t, controller, status).
    pub statuses: Vec<(u64, String, OutcomeStatus)>,
    /// The journal's record (union of replicas), if it reached one.
    pub record: Option<DecisionRecord>,
    /// Outcomes in the journal.
    pub outcomes: Vec<OutcomeRecord>,
}

impl SeenDecision {
    /// A decision known from its journal record only (as real-time targets know them, and
    /// the simulated world knows those no pass report named).
    pub fn from_record(record: DecisionRecord, first_t: u64) -> Self {
        SeenDecision {
            id: record.id.clone(),
            service: record.service.clone(),
            first_t,
            recorded_by: record.recorded_by.clone(),
            statuses: Vec::new(),
            record: Some(record),
            outcomes: Vec::new(),
        }
    }

    /// Every reason, note and alert text of the decision.
    pub fn texts(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(r) = &self.record {
            for s in &r.steps {
                out.push(s.description.clone());
                out.extend(s.reasons.iter().cloned());
            }
            out.extend(r.notes.iter().cloned());
            out.extend(r.alerts.iter().cloned());
        }
        out
    }

    /// The first reason, for summaries.
    pub fn headline(&self) -> String {
        self.record
            .as_ref()
            .and_then(|r| {
                r.steps
                    .iter()
                    .find(|s| s.kind == "shift")
                    .or(r.steps.first())
                    .and_then(|s| s.reasons.first())
                    .cloned()
            })
            .unwrap_or_else(|| "(not in the journal)".into())
    }
}

/// What the controllers changed, as far as the target saw.
#[derive(Debug, Clone)]
pub enum Changes {
    /// Every effect, in the order the simulated world applied it.
    Recorded(Vec<Effect>),
    /// Only the Route 53 weights seen changing between samples (real time).
    Sampled(Vec<WeightChange>),
}

/// A Route 53 weight seen changing between two real-time samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightChange {
    /// When it was seen (whole seconds on the game-day clock).
    pub at: Timestamp,
    /// Service index.
    pub service: usize,
    /// Cell index.
    pub cell: usize,
    /// Local region index.
    pub region: usize,
    /// Weight before (`None`: no record).
    pub from: Option<u8>,
    /// Weight after.
    pub to: u8,
}

impl Changes {
    /// The rising weight writes to one record of service `s`: (when, from, to), in order.
    pub fn rising_weights(
        &self,
        s: usize,
        svc: &Service,
        c: usize,
        r: usize,
    ) -> Vec<(Timestamp, Option<u8>, u8)> {
        match self {
            Changes::Recorded(effects) => {
                let name = normalize(&svc.cells[c].record_name);
                let id = &svc.cells[c].set_identifiers[r];
                effects
                    .iter()
                    .filter_map(|e| match &e.what {
                        crate::world::EffectKind::Weight {
                            zone,
                            name: n,
                            set_identifier,
                            from,
                            to,
                            ..
                        } if zone == &svc.routing.hosted_zone_id
                            && (n, set_identifier) == (&name, id)
                            && *to > from.unwrap_or(0) =>
                        {
                            Some((e.at, *from, *to))
                        }
                        _ => None,
                    })
                    .collect()
            }
            Changes::Sampled(seen) => seen
                .iter()
                .filter(|w| (w.service, w.cell, w.region) == (s, c, r))
                .filter(|w| w.to > w.from.unwrap_or(0))
                .map(|w| (w.at, w.from, w.to))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_every_second_series_is_indexed_by_its_seconds() {
        let one = |v: f32| Grid::new(1, 1, v);
        let mut s = ServiceSeries::every_second(0, one(50.0), 4);
        for t in 0..4 {
            s.push(t, one(t as f32));
        }
        let w: Vec<u64> = s.window(1, 2).map(|(t, _)| t).collect();
        assert_eq!(w, [1, 2]);
        assert_eq!(s.window(3, 10).count(), 1, "clipped at the last sample");
        assert_eq!(s.window(3, 1).count(), 0);
        assert_eq!(s.at(2), Some(&one(2.0)));
        assert_eq!(s.at(9), None);
        assert!(!s.is_sampled());
    }

    #[test]
    fn a_sampled_series_holds_several_samples_a_second_and_none_between() {
        let one = |v: f32| Grid::new(1, 1, v);
        let mut s = ServiceSeries::sampled(0, one(50.0));
        for (t, v) in [(0, 1.0), (0, 2.0), (3, 3.0), (7, f32::NAN)] {
            s.push(t, one(v));
        }
        let w: Vec<(u64, f32)> = s.window(0, 3).map(|(t, v)| (t, v[(0, 0)])).collect();
        assert_eq!(w, [(0, 1.0), (0, 2.0), (3, 3.0)]);
        assert_eq!(s.window(4, 6).count(), 0);
        assert_eq!(s.at(5), Some(&one(3.0)), "the last sample before");
        assert_eq!(value(s.at(7), 0, 0), None, "NaN: no evidence either way");
        assert_eq!(value(s.at(0), 0, 0), Some(2.0));
        assert!(s.is_sampled());
    }
}
