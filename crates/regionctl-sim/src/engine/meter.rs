//! Answered traffic, metered every simulated second, and the alarms of regions that serve
//! nothing.
//!
//! A record is healthy to Route 53 when its endpoint check (if the world has them) and its
//! data-plane switch (if wired) both are; authoritative answers follow Route 53's rules over
//! the INSYNC weights, and resolvers spread their refreshes over the record's TTL, so the
//! share users get is the mean of the authoritative shares over the last TTL seconds.

use crate::gameday::ServiceSeries;
use crate::gameday::evidence::shares;
use crate::world::{CellWeights, World};
use regionctl_core::grid::Grid;
use regionctl_core::health::AlarmState;
use regionctl_core::policy::{Bundle, Service};
use regionctl_core::switch::SwitchRef;
use regionctl_core::time::Timestamp;
use regionctl_core::traffic::answered_weights;
use std::collections::{BTreeMap, VecDeque};

/// Per service: what metering needs, built once from the bundle.
#[derive(Default)]
pub(super) struct Meter {
    /// Per service, cell, local region: the record's key (name, set identifier).
    pub(super) keys: Vec<Vec<Vec<(String, String)>>>,
    /// Per service and cell: the records now (rewritten every simulated second).
    pub(super) records: Vec<Vec<CellWeights>>,
    /// Per service and cell: the authoritative shares of the last TTL seconds.
    pub(super) windows: Vec<Vec<VecDeque<Vec<f64>>>>,
    /// Per service and local region: since when it has answered nothing.
    pub(super) idle_since: Vec<Vec<Option<Timestamp>>>,
    /// Per service, cell, local region: the switch on that record, if wired.
    pub(super) switches: Vec<Vec<Vec<Option<SwitchRef>>>>,
}

impl Meter {
    /// Measures every service's answered traffic at `now` and appends it to `series`.
    pub(super) fn measure(
        &mut self,
        world: &World,
        bundle: &Bundle,
        (t, now): (u64, Timestamp),
        series: &mut [ServiceSeries],
    ) {
        for (si, svc) in bundle.services.iter().enumerate() {
            let nr = svc.regions.len();
            let mut sample = Grid::new(svc.cells.len(), nr, 0.0);
            for (c, row) in sample.rows_mut().enumerate() {
                row.copy_from_slice(&self.measure_cell(world, svc, (si, c), now));
            }
            for r in 0..nr {
                let total: f32 = sample.column(r).sum();
                let slot = &mut self.idle_since[si][r];
                if total <= 0.0 {
                    slot.get_or_insert(now);
                } else {
                    *slot = None;
                }
            }
            series[si].push(t, sample);
        }
    }

    /// One cell's answered percent per local region: the mean of the authoritative shares
    /// over the TTL.
    fn measure_cell(
        &mut self,
        w: &World,
        svc: &Service,
        (si, c): (usize, usize),
        now: Timestamp,
    ) -> Vec<f32> {
        let nr = svc.regions.len();
        let ttl = usize::try_from(svc.routing.ttl_secs.max(1)).unwrap_or(1);
        let records = &mut self.records[si][c];
        w.cell_weights(&svc.routing.hosted_zone_id, &self.keys[si][c], now, records);
        let weights: Vec<u32> = records
            .answering
            .iter()
            .map(|x| u32::from(x.unwrap_or(0)))
            .collect();
        // A record is healthy to Route 53 when its endpoint check (if the world has them)
        // and its data-plane switch (if wired) both are.
        let healthy: Vec<bool> = svc
            .regions
            .iter()
            .enumerate()
            .map(|(r, sr)| {
                (!w.knobs.route53_health_checks || w.health_check_ok(&svc.name, &sr.name, now))
                    && self.switches[si][c][r]
                        .as_ref()
                        .is_none_or(|x| w.switches.healthy(x, now))
            })
            .collect();
        let authoritative = shares(&answered_weights(&weights, &healthy));
        let window = &mut self.windows[si][c];
        window.push_back(authoritative);
        while window.len() > ttl {
            window.pop_front();
        }
        (0..nr)
            .map(|r| {
                let mean = window.iter().map(|v| v[r]).sum::<f64>() / window.len() as f64;
                (mean * 100.0) as f32
            })
            .collect()
    }
}

/// The natural state of every bound alarm: OK, or INSUFFICIENT_DATA once its region has
/// served no traffic for a while (an idle region's metrics have no data). A `served` alarm
/// (a traffic signal: OK while the region serves its users) goes to ALARM while its
/// service's endpoints there fail: users' requests no longer arrive, whatever the probes
/// between regions say (ADR 0015).
#[derive(Default)]
pub(super) struct IdleAlarms {
    /// (region, alarm name) → the (service, local region) slots that bind it.
    pub(super) owners: BTreeMap<(String, String), Vec<(usize, usize)>>,
    /// `served` alarms: (region, alarm name) → the service whose users they count.
    pub(super) served: BTreeMap<(String, String), String>,
    /// Per alarm of `owners`, in its order: the service, for a `served` alarm.
    pub(super) served_of: Vec<Option<String>>,
    /// The natural state last given to each alarm of `owners`, in its order.
    pub(super) last: Vec<Option<AlarmState>>,
}

impl IdleAlarms {
    /// Called once every alarm is seeded: aligns the per-alarm vectors with `owners`.
    pub(super) fn seeded(&mut self) {
        self.last = vec![None; self.owners.len()];
        self.served_of = self
            .owners
            .keys()
            .map(|key| self.served.get(key).cloned())
            .collect();
    }

    /// Gives every alarm whose natural state changed its new one.
    pub(super) fn update(
        &mut self,
        w: &mut World,
        idle_since: &[Vec<Option<Timestamp>>],
        now: Timestamp,
    ) {
        let idle_after = w.knobs.alarm_idle_after_secs;
        let alarms = self.owners.iter().zip(&self.served_of).zip(&mut self.last);
        for ((((region, name), owners), served_of), last) in alarms {
            let idle = owners.iter().all(|(si, r)| {
                idle_since[*si][*r].is_some_and(|since| now.elapsed_at_least(since, idle_after))
            });
            let unserved = served_of
                .as_ref()
                .is_some_and(|service| w.faults.endpoint_failing(region, service, now));
            let natural = if unserved {
                AlarmState::Alarm
            } else if idle {
                AlarmState::InsufficientData
            } else {
                AlarmState::Ok
            };
            // Only a change needs the (string-keyed) alarm: most seconds change nothing.
            if *last != Some(natural) {
                *last = Some(natural);
                w.update_alarm(region, name, Some(natural), None);
            }
        }
    }
}
