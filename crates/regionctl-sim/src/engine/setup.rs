//! The simulated world seeded from the policies' steady state: every weighted record at its
//! baseline weight, alarms OK (INSUFFICIENT_DATA where a region serves nothing), switches
//! wired as `regionctl provision` wires them, ECS services at their steady counts, ALB
//! listeners on Fargate, probe targets registered.

use super::meter::{IdleAlarms, Meter};
use crate::gameday::ServiceSeries;
use crate::gameday::evidence::baseline_shares;
use crate::world::route53::normalize;
use crate::world::{CellWeights, World};
use regionctl_controller::ports::WeightedRecord;
use regionctl_core::health::AlarmState;
use regionctl_core::live::{AlbState, steady_desired};
use regionctl_core::policy::raw::SignalRole;
use regionctl_core::policy::{Bundle, Service};
use regionctl_core::switch;
use regionctl_core::time::Timestamp;
use std::collections::VecDeque;

/// What seeding the world built: the meter, the idle alarms, and empty traffic series.
pub(super) struct Seeded {
    pub(super) meter: Meter,
    pub(super) idle_alarms: IdleAlarms,
    pub(super) series: Vec<ServiceSeries>,
}

/// Seeds `world` with every service of `bundle`, in order; `samples` is the number of
/// seconds to reserve traffic samples for.
pub(super) fn seed(world: &mut World, bundle: &Bundle, start: Timestamp, samples: usize) -> Seeded {
    let long_ago = Timestamp(start.millis() - 3_600_000);
    let mut seeded = Seeded {
        meter: Meter::default(),
        idle_alarms: IdleAlarms::default(),
        series: Vec::new(),
    };
    for (si, svc) in bundle.services.iter().enumerate() {
        seed_records(world, svc, &mut seeded.meter);
        let idle = seed_alarms(world, (si, svc), long_ago, &mut seeded.idle_alarms);
        seeded.meter.idle_since.push(idle);
        seed_switches(world, svc, &mut seeded.meter);
        seed_capacity(world, svc);
        seed_probes(world, svc);
        seeded.series.push(ServiceSeries::every_second(
            si,
            baseline_shares(svc),
            samples,
        ));
    }
    seeded.idle_alarms.seeded();
    seeded
}

/// Every cell's weighted records at their baseline weights, and the meter's keys for them.
fn seed_records(world: &mut World, svc: &Service, meter: &mut Meter) {
    let nr = svc.regions.len();
    let mut keys = Vec::new();
    for cell in &svc.cells {
        let mut ck = Vec::new();
        for r in 0..nr {
            world.seed_record(
                &svc.routing.hosted_zone_id,
                WeightedRecord::of_cell(svc, cell, r, cell.baseline_weights[r]),
            );
            ck.push((
                normalize(&cell.record_name),
                cell.set_identifiers[r].clone(),
            ));
        }
        keys.push(ck);
    }
    meter.keys.push(keys);
    meter
        .records
        .push(vec![CellWeights::default(); svc.cells.len()]);
    meter.windows.push(vec![VecDeque::new(); svc.cells.len()]);
}

/// Every bound alarm, OK where its region serves traffic and INSUFFICIENT_DATA where it
/// serves none; returns since when each local region has been idle.
fn seed_alarms(
    world: &mut World,
    (si, svc): (usize, &Service),
    long_ago: Timestamp,
    idle_alarms: &mut IdleAlarms,
) -> Vec<Option<Timestamp>> {
    let idle: Vec<Option<Timestamp>> = (0..svc.regions.len())
        .map(|r| (svc.baseline_share(r) == 0.0).then_some(long_ago))
        .collect();
    for b in &svc.health.alarms {
        let region = &svc.regions[b.r].name;
        let state = if idle[b.r].is_some() {
            AlarmState::InsufficientData
        } else {
            AlarmState::Ok
        };
        world.seed_alarm(region, &b.name, state, long_ago);
        if b.role == SignalRole::Served {
            idle_alarms
                .served
                .insert((region.clone(), b.name.clone()), svc.name.clone());
        }
        idle_alarms
            .owners
            .entry((region.clone(), b.name.clone()))
            .or_default()
            .push((si, b.r));
    }
    idle
}

/// Switches as `regionctl provision` wires them: alarm and health check per switch, on the
/// records of its region (and cell).
fn seed_switches(world: &mut World, svc: &Service, meter: &mut Meter) {
    if let Some(sw) = &svc.routing.switch {
        let delay = u64::from(sw.interval_secs) * u64::from(sw.failure_threshold);
        for (_, _, x) in switch::switches_of(svc) {
            world
                .switches
                .provision(&x, u64::from(sw.period_secs), delay);
        }
    }
    meter.switches.push(
        (0..svc.cells.len())
            .map(|c| {
                (0..svc.regions.len())
                    .map(|r| switch::switch_ref(svc, switch::slot_of_cell(svc, c), r))
                    .collect()
            })
            .collect(),
    );
}

/// ECS services at their steady desired counts, ALB listeners forwarding to Fargate only.
fn seed_capacity(world: &mut World, svc: &Service) {
    if let Some(e) = &svc.ecs {
        for (r, sr) in svc.regions.iter().enumerate() {
            world.seed_ecs(
                &sr.name,
                &e.clusters[r],
                &e.services[r],
                steady_desired(svc, r),
            );
        }
    }
    if let Some(a) = &svc.alb {
        for (r, sr) in svc.regions.iter().enumerate() {
            world.albs.insert(
                (sr.name.clone(), a.listeners[r].clone()),
                (
                    a.fargate_target_groups[r].clone(),
                    a.lambda_target_groups[r].clone(),
                    AlbState::FARGATE_ONLY,
                ),
            );
        }
    }
}

/// Every probe target, with the (service, region) it probes.
fn seed_probes(world: &mut World, svc: &Service) {
    for (r, probes) in svc.health.probes.iter().enumerate() {
        for p in probes {
            world
                .probe_targets
                .entry(p.target.clone())
                .or_default()
                .push((svc.name.clone(), svc.regions[r].name.clone()));
        }
    }
}
