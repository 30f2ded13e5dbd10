//! What a real-time target observes, as the judge's typed evidence: the weights written to
//! Route 53 (sampled), each local controller's stand-downs, and the decisions in the
//! journal.
//!
//! # Design
//! The clock starts when the timeline does (after the fleet is ready) and maps onto the
//! game-day clock's start ([`regionctl_sim::gameday::START`]); times are whole seconds,
//! so several samples may share one. A decision recorded before the timeline started is
//! not part of the game-day.

use super::fleet::{self, Fleet};
use super::{Console, now_ms};
use anyhow::{Context, Result};
use regionctl_aws::dynamodb::Journal;
use regionctl_aws::route53::Route53Client;
use regionctl_aws::types::Routing;
use regionctl_aws::world::RegionClients;
use regionctl_controller::journal::{DecisionRecord, OutcomeRecord};
use regionctl_core::grid::Grid;
use regionctl_core::policy::{Bundle, Cell, Service};
use regionctl_sim::gameday::compute::lambda_share;
use regionctl_sim::gameday::evidence::baseline_shares;
use regionctl_sim::gameday::{
    Changes, ComputeSeries, Evidence, Quantity, SeenDecision, ServiceSeries, StandDowns,
    WeightChange, at,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Set identifier → weight written, for one service.
type Weights = BTreeMap<String, u8>;

/// A real-time target's clock and observations.
pub(super) struct Observer {
    bundle: Bundle,
    /// Hosted zone ids the policies name → the ids to read (moto creates its own).
    zones: BTreeMap<String, String>,
    /// Time between two instants of the timeline.
    step: Duration,
    /// When the timeline started (`None` before), on the monotonic and the wall clock.
    started: Option<(Instant, i64)>,
    /// Per service: the weights last read.
    last: BTreeMap<String, Weights>,
    series: Vec<ServiceSeries>,
    changes: Vec<WeightChange>,
    /// ECS desired counts and ALB Lambda shares, as sampled.
    compute: ComputeSeries,
    stand_downs: StandDowns,
    /// Per controller: the stand-down reason last seen (`None`: acting).
    standing: BTreeMap<String, Option<String>>,
}

impl Observer {
    /// An observer of `bundle`'s services acting every `step`.
    pub(super) fn new(bundle: &Bundle, zones: BTreeMap<String, String>, step: Duration) -> Self {
        Observer {
            series: bundle
                .services
                .iter()
                .enumerate()
                .map(|(si, svc)| ServiceSeries::sampled(si, baseline_shares(svc)))
                .collect(),
            bundle: bundle.clone(),
            zones,
            step,
            started: None,
            last: BTreeMap::new(),
            changes: Vec::new(),
            compute: ComputeSeries::default(),
            stand_downs: StandDowns::new(),
            standing: BTreeMap::new(),
        }
    }

    /// The next instant: at once the first time (the timeline starts), then after a step;
    /// `None` once `end` seconds have passed.
    pub(super) async fn next_instant(&mut self, end: u64) -> Option<u64> {
        let Some((t0, _)) = self.started else {
            self.started = Some((Instant::now(), now_ms()));
            return Some(0);
        };
        tokio::time::sleep(self.step).await;
        let elapsed = t0.elapsed();
        (elapsed < Duration::from_secs(end)).then_some(elapsed.as_secs())
    }

    /// Seconds since the timeline started.
    pub(super) fn elapsed(&self) -> f64 {
        self.started
            .map_or(0.0, |(t0, _)| t0.elapsed().as_secs_f64())
    }

    /// Wall clock at the start of the timeline (epoch ms; now, if it never started).
    pub(super) fn started_ms(&self) -> i64 {
        self.started.map_or_else(now_ms, |(_, ms)| ms)
    }

    /// Reads every service's weighted records (only the set identifiers its cells name),
    /// and says each service whose weights changed. A failed read leaves no sample.
    pub(super) async fn sample_weights(
        &mut self,
        route53: &Route53Client,
        t: u64,
        console: &dyn Console,
    ) {
        let elapsed = self.elapsed();
        for (si, svc) in self.bundle.services.iter().enumerate() {
            let zone = self
                .zones
                .get(&svc.routing.hosted_zone_id)
                .cloned()
                .unwrap_or_else(|| svc.routing.hosted_zone_id.clone());
            let Ok((records, _)) = route53.list_record_sets(&zone).await else {
                continue;
            };
            let ids: BTreeSet<&str> = svc
                .cells
                .iter()
                .flat_map(|c| c.set_identifiers.iter().map(String::as_str))
                .collect();
            let mut w = Weights::new();
            for r in records {
                if let Routing::Weighted {
                    set_identifier,
                    weight,
                } = &r.routing
                    && ids.contains(set_identifier.as_str())
                {
                    w.insert(set_identifier.clone(), *weight);
                }
            }
            let last = self.last.get(&svc.name);
            if last != Some(&w) {
                console.progress(&format!(
                    "[{elapsed:6.1}s] route53 {}: {}",
                    svc.name,
                    summary(svc, &w)
                ));
                self.changes.extend(changes(svc, si, last, &w, t));
            }
            self.series[si].push(t, sample(svc, &w));
            self.last.insert(svc.name.clone(), w);
        }
    }

    /// Reads each service's ECS desired count and ALB listener split in every region its
    /// policy names them, through the adapters the controllers use. A failed read leaves
    /// no sample (the value in force stays the last one read).
    pub(super) async fn sample_compute(
        &mut self,
        clients: &BTreeMap<String, RegionClients>,
        t: u64,
        console: &dyn Console,
    ) {
        let elapsed = self.elapsed();
        for (si, svc) in self.bundle.services.iter().enumerate() {
            for (r, region) in svc.regions.iter().enumerate() {
                let Some(c) = clients.get(&region.name) else {
                    continue;
                };
                for (q, value) in read_compute(svc, r, c).await {
                    let key = (q, si, r);
                    if self.compute.get(key).and_then(|s| s.value_at(t)) != Some(value) {
                        console.progress(&format!(
                            "[{elapsed:6.1}s] {} {} in {}: {value}",
                            svc.name,
                            match q {
                                Quantity::EcsDesired => "ECS desired",
                                Quantity::LambdaShare => "ALB Lambda %",
                            },
                            region.name
                        ));
                    }
                    self.compute.record(key, t, value);
                }
            }
        }
    }

    /// Records each controller's stand-downs from its `/status` whenever the reason changes
    /// (a controller may stand down for want of quorum while the fleet starts, and later
    /// because its own region is down: expectations pick by reason and time).
    pub(super) fn poll_stand_downs(&mut self, fleet: &Fleet, t: u64, console: &dyn Console) {
        let elapsed = self.elapsed();
        for (region, now) in fleet::stand_downs_now(fleet) {
            let before = self.standing.entry(region.to_string()).or_default();
            if *before == now {
                continue;
            }
            match &now {
                Some(reason) => {
                    console.progress(&format!("[{elapsed:6.1}s] {region} stands down: {reason}"));
                }
                None => console.progress(&format!("[{elapsed:6.1}s] {region} acts again")),
            }
            before.clone_from(&now);
            self.stand_downs
                .entry(region.to_string())
                .or_default()
                .push((t, now));
        }
    }

    /// Every decision recorded for the bundle's services since the timeline started, with
    /// its outcomes.
    pub(super) async fn decisions(
        &self,
        journal: &Journal,
    ) -> Result<BTreeMap<String, SeenDecision>> {
        let t0_ms = self.started_ms();
        let mut decisions = BTreeMap::new();
        for svc in &self.bundle.services {
            // An item that cannot be read is skipped, as a controller skips it.
            let (items, _) = journal
                .query_items(&format!("DECISION#{}", svc.name), "")
                .await
                .context("reading the journal")?;
            let items: Vec<_> = items.into_iter().flatten().collect();
            for i in items.iter().filter(|i| i.sk.ends_with("#INTENT")) {
                let Ok(record) = serde_json::from_value::<DecisionRecord>(i.body.clone()) else {
                    continue;
                };
                if record.at.millis() < t0_ms {
                    continue;
                }
                let secs = |ms: i64| u64::try_from((ms - t0_ms) / 1000).unwrap_or(0);
                let first_t = secs(record.at.millis());
                let mut seen = SeenDecision::from_record(record, first_t);
                let prefix = format!("{}#OUTCOME#", seen.id);
                seen.outcomes = items
                    .iter()
                    .filter(|o| o.sk.starts_with(&prefix))
                    .filter_map(|o| serde_json::from_value::<OutcomeRecord>(o.body.clone()).ok())
                    .collect();
                seen.statuses = seen
                    .outcomes
                    .iter()
                    .map(|o| (secs(o.at.millis()), o.region.clone(), o.status))
                    .collect();
                decisions.insert(seen.id.clone(), seen);
            }
        }
        Ok(decisions)
    }

    /// The evidence, with `decisions`.
    pub(super) fn evidence(&self, decisions: BTreeMap<String, SeenDecision>) -> Evidence {
        Evidence {
            series: self.series.clone(),
            decisions,
            stand_downs: self.stand_downs.clone(),
            changes: Changes::Sampled(self.changes.clone()),
            compute: self.compute.clone(),
            // A pass may start just before the driver injects the fault it reacts to, and
            // stamps its decision with its start.
            slack_secs: 1,
        }
    }
}

/// Local region `r`'s ECS desired count and ALB Lambda share for `svc`, those its policy
/// names and that could be read.
async fn read_compute(svc: &Service, r: usize, c: &RegionClients) -> Vec<(Quantity, f64)> {
    let mut out = Vec::new();
    if let Some(ecs) = &svc.ecs
        && let Ok(Some(counts)) = c
            .ecs
            .describe_service(&ecs.clusters[r], &ecs.services[r])
            .await
    {
        out.push((Quantity::EcsDesired, f64::from(counts.desired)));
    }
    if let Some(alb) = &svc.alb {
        let (listener, fargate, lambda) = alb.names(r);
        if let Ok(weights) = c.elbv2.listener_weights(listener).await {
            let of = |arn: &str| {
                weights
                    .iter()
                    .find(|w| w.target_group_arn == arn)
                    .map_or(0, |w| u32::from(w.weight))
            };
            out.push((Quantity::LambdaShare, lambda_share(of(fargate), of(lambda))));
        }
    }
    out
}

/// Per region: the sum of its weights over every cell.
fn summary(svc: &Service, w: &Weights) -> String {
    svc.regions
        .iter()
        .enumerate()
        .map(|(r, reg)| {
            let sum: u32 = svc
                .cells
                .iter()
                .filter_map(|c| w.get(&c.set_identifiers[r]))
                .map(|x| u32::from(*x))
                .sum();
            format!("{} {sum}", reg.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A region's share (percent) of a cell from written weights; `None` when its record is
/// missing or every weight is 0.
fn share(cell: &Cell, r: usize, w: &Weights) -> Option<f64> {
    let total: u32 = cell
        .set_identifiers
        .iter()
        .filter_map(|id| w.get(id))
        .map(|x| u32::from(*x))
        .sum();
    let mine = f64::from(*w.get(&cell.set_identifiers[r])?);
    (total > 0).then(|| mine * 100.0 / f64::from(total))
}

/// One sample: per (cell, local region), the written share, `NaN` where there is none.
fn sample(svc: &Service, w: &Weights) -> Grid<f32> {
    Grid::from_fn(svc.cells.len(), svc.regions.len(), |c, r| {
        share(&svc.cells[c], r, w).map_or(f32::NAN, |p| p as f32)
    })
}

/// The weights that changed since `last` (every one, on the first read), seen at `t`.
fn changes(
    svc: &Service,
    si: usize,
    last: Option<&Weights>,
    w: &Weights,
    t: u64,
) -> Vec<WeightChange> {
    let mut out = Vec::new();
    for (c, cell) in svc.cells.iter().enumerate() {
        for (r, id) in cell.set_identifiers.iter().enumerate() {
            let before = last.and_then(|l| l.get(id)).copied();
            if let Some(&to) = w.get(id)
                && before != Some(to)
            {
                out.push(WeightChange {
                    at: at(t),
                    service: si,
                    cell: c,
                    region: r,
                    from: before,
                    to,
                });
            }
        }
    }
    out
}
