//! Provisioning data-plane switches (DESIGN.md §6), idempotently, per switch:
//! 1. the alarm on the switch metric, in the switch's alarm region (never the region it
//!    guards): `Minimum(Switch) < 1` over one period, missing data ignored;
//! 2. the Route 53 `CLOUDWATCH_METRIC` health check on that alarm
//!    (`InsufficientDataHealthStatus=LastKnownStatus`), found again by its caller reference,
//!    and tagged with its wiring (some backends, moto among them, drop `AlarmIdentifier`);
//! 3. the health check on every weighted record it guards (UPSERT keeping values and
//!    weights);
//! 4. an initial `1` (on) for switches nobody has published yet, so the alarms start OK
//!    instead of INSUFFICIENT_DATA; a switch already off is left off.

use super::ProvisionReport;
use crate::aws_world::AwsWorld;
use anyhow::{Context, Result};
use regionctl_aws::cloudwatch::{AlarmEvaluation, AlarmSpec};
use regionctl_aws::route53::HealthCheckTarget;
use regionctl_aws::types::{RecordChange, Routing};
use regionctl_controller::ports::Switches;
use regionctl_core::grid::Grid;
use regionctl_core::policy::Service;
use regionctl_core::switch::{self, SwitchRef};

/// Tag naming the switch alarm a health check watches.
pub const TAG_ALARM: &str = "regionctl:switch-alarm";
/// Tag naming the region of that alarm.
pub const TAG_ALARM_REGION: &str = "regionctl:switch-alarm-region";
/// Tag naming what the switch guards: `service/region` or `service/region/cell`.
pub const TAG_GUARDS: &str = "regionctl:guards";

/// Provisions `service`'s switches (nothing if it has none).
pub async fn provision(
    service: &Service,
    world: &AwsWorld,
    report: &mut ProvisionReport,
) -> Result<()> {
    let Some(sw) = &service.routing.switch else {
        return Ok(());
    };
    let switches = switch::switches_of(service);
    let checks = alarms_and_checks(service, &switches, sw.period_secs, world).await?;
    let wired = wire_records(service, &checks, world).await?;
    let started = start_unpublished(service, &switches, world).await?;
    report.created.push(format!(
        "{}: {} data-plane switch(es) (alarms in {}, Route 53 health checks), {wired} record(s) wired, {started} started on",
        service.name,
        switches.len(),
        alarm_regions(&switches),
    ));
    Ok(())
}

/// Steps 1 and 2: each switch's alarm and its tagged health check; the check ids per
/// (slot, local region).
async fn alarms_and_checks(
    service: &Service,
    switches: &[(usize, usize, SwitchRef)],
    period_secs: u32,
    world: &AwsWorld,
) -> Result<Grid<Option<String>>> {
    let mut ids = Grid::new(switch::slots(service), service.regions.len(), None);
    for (slot, r, x) in switches {
        let clients = world.regions.get(&x.alarm_region).with_context(|| {
            format!(
                "{}: no CloudWatch client for switch alarm region {}",
                service.name, x.alarm_region
            )
        })?;
        clients
            .cloudwatch
            .put_metric_alarm(&alarm_spec(x, period_secs))
            .await
            .with_context(|| format!("switch alarm {} in {}", x.alarm_name, x.alarm_region))?;
        let id = world
            .route53
            .ensure_health_check(
                &x.caller_reference,
                &HealthCheckTarget::CloudWatchAlarm {
                    alarm_name: x.alarm_name.clone(),
                    alarm_region: x.alarm_region.clone(),
                },
            )
            .await
            .with_context(|| format!("health check for switch {}", x.alarm_name))?;
        world
            .route53
            .tag_health_check(&id, &tags(service, *slot, *r, x))
            .await
            .with_context(|| format!("tagging health check {id}"))?;
        if let Some(check) = ids.get_mut(*slot, *r) {
            *check = Some(id);
        }
    }
    Ok(ids)
}

/// Step 3: every weighted record of a cell carries its region's switch; how many records
/// changed.
async fn wire_records(
    service: &Service,
    checks: &Grid<Option<String>>,
    world: &AwsWorld,
) -> Result<usize> {
    let zone = &service.routing.hosted_zone_id;
    let (records, _) = world
        .route53
        .list_record_sets(zone)
        .await
        .with_context(|| format!("{}: listing zone {zone}", service.name))?;
    let mut wiring = Vec::new();
    for record in records {
        let Routing::Weighted { set_identifier, .. } = &record.routing else {
            continue;
        };
        let name = record.name.trim_end_matches('.').to_ascii_lowercase();
        let Some((c, r)) = service.cells.iter().enumerate().find_map(|(c, cell)| {
            (cell.record_name.to_ascii_lowercase() == name)
                .then(|| {
                    cell.set_identifiers
                        .iter()
                        .position(|s| s == set_identifier)
                })
                .flatten()
                .map(|r| (c, r))
        }) else {
            continue;
        };
        let want = checks
            .get(switch::slot_of_cell(service, c), r)
            .cloned()
            .flatten();
        if want.is_some() && record.health_check_id != want {
            let mut wired = record.clone();
            wired.health_check_id = want;
            wiring.push(RecordChange::upsert(wired));
        }
    }
    let wired = wiring.len();
    if !wiring.is_empty() {
        world
            .route53
            .apply_changes(zone, wiring)
            .await
            .with_context(|| format!("{}: attaching switches to records", service.name))?;
    }
    Ok(wired)
}

/// Step 4: every switch nobody has published yet starts on; how many.
async fn start_unpublished(
    service: &Service,
    switches: &[(usize, usize, SwitchRef)],
    world: &AwsWorld,
) -> Result<usize> {
    let refs: Vec<SwitchRef> = switches.iter().map(|(_, _, x)| x.clone()).collect();
    let known = world
        .read_switches(&refs)
        .await
        .map_err(|e| anyhow::anyhow!("{}: reading switches: {}", service.name, e.message()))?;
    let fresh: Vec<(SwitchRef, bool)> = refs
        .into_iter()
        .zip(known)
        .filter(|(_, k)| k.is_none())
        .map(|(x, _)| (x, true))
        .collect();
    world
        .publish_switches(&fresh)
        .await
        .map_err(|e| anyhow::anyhow!("{}: publishing switches: {}", service.name, e.message()))?;
    Ok(fresh.len())
}

/// The switch alarm: `Minimum(Switch) < 1` over one period; missing data changes nothing.
pub fn alarm_spec(x: &SwitchRef, period_secs: u32) -> AlarmSpec {
    AlarmSpec {
        name: x.alarm_name.clone(),
        namespace: x.namespace.clone(),
        metric_name: x.metric.clone(),
        dimensions: x.dimensions.clone(),
        statistic: "Minimum".into(),
        period_s: i32::try_from(period_secs).unwrap_or(60),
        evaluation: AlarmEvaluation {
            periods: 1,
            datapoints_to_alarm: 1,
            threshold: 1.0,
            comparison: "LessThanThreshold".into(),
            treat_missing_data: "ignore".into(),
        },
    }
}

fn tags(service: &Service, slot: usize, r: usize, x: &SwitchRef) -> Vec<(String, String)> {
    let mut guards = format!("{}/{}", service.name, service.regions[r].name);
    if x.dimensions.len() > 2
        && let Some(cell) = service.cells.get(slot)
    {
        guards.push('/');
        guards.push_str(&cell.id);
    }
    vec![
        ("Name".into(), x.alarm_name.clone()),
        (TAG_ALARM.into(), x.alarm_name.clone()),
        (TAG_ALARM_REGION.into(), x.alarm_region.clone()),
        (TAG_GUARDS.into(), guards),
    ]
}

fn alarm_regions(switches: &[(usize, usize, SwitchRef)]) -> String {
    let mut regions: Vec<&str> = switches
        .iter()
        .map(|(_, _, x)| x.alarm_region.as_str())
        .collect();
    regions.sort_unstable();
    regions.dedup();
    regions.join(", ")
}
