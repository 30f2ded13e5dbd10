//! `regionctl provision`: create what the policies and controller config reference and that
//! does not exist yet. For moto and sandbox accounts; production keeps its infrastructure as
//! code (`deploy/`).
//!
//! Idempotent: existing records keep their weights (automation may have moved them), alarms
//! are put (same definition), queues/rules/tables are created only if missing.
//!
//! Data-plane switches: see [`switches`].
//!
//! # Not created
//! Hosted zones (they are DNS delegations; the policy names their ids) and ALB listeners
//! (the policy names their ARNs) must exist already.

pub mod switches;

use crate::aws_world::AwsWorld;
use crate::chaos;
use anyhow::{Context, Result};
use regionctl_aws::config::{AwsSettings, load};
use regionctl_aws::ecs::FargateService;
use regionctl_aws::eventbridge::EventBridgeClient;
use regionctl_aws::sqs::SqsClient;
use regionctl_aws::types::{
    GeoLocation, MetricId, RecordChange, RecordSet, RecordSetType, RecordType, Routing,
};
use regionctl_core::policy::raw::{ControllerSpec, SignalRole};
use regionctl_core::policy::{Bundle, Service};
use std::collections::BTreeSet;

/// Name of the per-region rule that feeds alarm state changes to the controller's queue.
pub const ALARM_RULE: &str = "regionctl-alarm-state-changes";
/// Name of the per-region queue and rule that receive regionctl's own events.
pub const EVENTS_QUEUE: &str = "regionctl-events";

/// What provisioning did, for people.
#[derive(Debug, Default)]
pub struct ProvisionReport {
    /// One line per resource created.
    pub created: Vec<String>,
    /// Resources that already existed.
    pub existing: usize,
}

/// Provisions everything for `bundle` through `world` (plus SQS/EventBridge per region):
/// the journal, each controller region's queues, then per service its records, switches,
/// alarms and ECS services.
pub async fn provision(
    bundle: &Bundle,
    controller: &ControllerSpec,
    world: &AwsWorld,
    endpoint_url: Option<String>,
) -> Result<ProvisionReport> {
    let mut report = ProvisionReport::default();
    report.created.push(journal(world).await?);
    for region in &controller.regions {
        let line = queues(region, &controller.alarm_queue, endpoint_url.clone()).await?;
        report.created.push(line);
    }
    for service in &bundle.services {
        records(service, world, &mut report).await?;
        // Data-plane switches, once the records they guard exist.
        switches::provision(service, world, &mut report).await?;
        report.created.push(alarms(service, world).await?);
        ecs_services(service, controller, world, &mut report).await?;
    }
    Ok(report)
}

/// The journal table, if it is missing.
async fn journal(world: &AwsWorld) -> Result<String> {
    world
        .journal
        .create_table()
        .await
        .context("creating the journal table")?;
    Ok(format!(
        "journal table {} (if it was missing)",
        world.journal.table()
    ))
}

/// In `region`: the controller's alarm-event queue fed by [`ALARM_RULE`], and the
/// [`EVENTS_QUEUE`] fed by regionctl's own events.
async fn queues(region: &str, alarm_queue: &str, endpoint_url: Option<String>) -> Result<String> {
    let sdk = load(&AwsSettings {
        region: region.to_string(),
        endpoint_url,
    })
    .await;
    let sqs = SqsClient::new(&sdk);
    let events = EventBridgeClient::new(&sdk);
    let queue = sqs
        .create_queue(alarm_queue)
        .await
        .with_context(|| format!("SQS queue in {region}"))?;
    let rule = events
        .put_alarm_rule(ALARM_RULE, None)
        .await
        .with_context(|| format!("EventBridge rule in {region}"))?;
    events
        .put_sqs_target(ALARM_RULE, "controller-queue", &queue.arn)
        .await?;
    let decisions = sqs.create_queue(EVENTS_QUEUE).await?;
    let pattern = serde_json::json!({ "source": ["regionctl"] }).to_string();
    let events_rule = events.put_rule(EVENTS_QUEUE, &pattern).await?;
    events
        .put_sqs_target(EVENTS_QUEUE, "events-queue", &decisions.arn)
        .await?;
    sqs.allow_eventbridge(&queue, &[rule]).await?;
    sqs.allow_eventbridge(&decisions, &[events_rule]).await?;
    Ok(format!(
        "{region}: queue {alarm_queue} fed by rule {ALARM_RULE}; queue {EVENTS_QUEUE} fed by source=regionctl"
    ))
}

/// The service's missing records, created at their baseline weights (existing ones keep
/// theirs: automation may have moved them).
async fn records(service: &Service, world: &AwsWorld, report: &mut ProvisionReport) -> Result<()> {
    let zone = &service.routing.hosted_zone_id;
    let (existing, _) = world
        .route53
        .list_record_sets(zone)
        .await
        .with_context(|| {
            format!(
                "{}: hosted zone {zone} must exist (provision does not create zones)",
                service.name
            )
        })?;
    let have: BTreeSet<(String, Option<String>)> = existing
        .iter()
        .map(|r| {
            (
                r.name.trim_end_matches('.').to_ascii_lowercase(),
                r.routing.set_identifier().map(str::to_string),
            )
        })
        .collect();
    let (mut changes, weighted_existing) = weighted_records(service, &have);
    let (geo, geo_existing) = geolocation_records(service, &have);
    changes.extend(geo);
    report.existing += weighted_existing + geo_existing;
    if !changes.is_empty() {
        let n = changes.len();
        let applied = world
            .route53
            .apply_changes(zone, changes)
            .await
            .with_context(|| format!("{}: creating records", service.name))?;
        report.created.push(format!(
            "{}: {n} record(s) in {zone} ({} call(s))",
            service.name, applied.change_calls
        ));
    }
    Ok(())
}

/// CREATEs for the weighted records (one per cell and region) not in `have`, and how many
/// were there already.
fn weighted_records(
    service: &Service,
    have: &BTreeSet<(String, Option<String>)>,
) -> (Vec<RecordChange>, usize) {
    let rtype = RecordSetType::from(service.routing.record_type);
    let mut changes = Vec::new();
    let mut existing = 0;
    for cell in &service.cells {
        for (r, _) in service.regions.iter().enumerate() {
            let key = (
                cell.record_name.to_ascii_lowercase(),
                Some(cell.set_identifiers[r].clone()),
            );
            if have.contains(&key) {
                existing += 1;
                continue;
            }
            changes.push(RecordChange::create(RecordSet {
                name: cell.record_name.clone(),
                rtype: rtype.clone(),
                ttl: service.routing.ttl_secs,
                values: vec![cell.values_per_region[r].clone()],
                routing: Routing::Weighted {
                    set_identifier: cell.set_identifiers[r].clone(),
                    weight: cell.baseline_weights[r],
                },
                health_check_id: None,
            }));
        }
    }
    (changes, existing)
}

/// CREATEs for the geolocation records (one per rule, pointing at its cell's record) not in
/// `have`, and how many were there already.
fn geolocation_records(
    service: &Service,
    have: &BTreeSet<(String, Option<String>)>,
) -> (Vec<RecordChange>, usize) {
    let mut changes = Vec::new();
    let mut existing = 0;
    let Some(geo) = &service.routing.geolocation else {
        return (changes, existing);
    };
    for (i, rule) in geo.rules.iter().enumerate() {
        let set_id = format!("geo-{i}");
        if have.contains(&(geo.record_name.to_ascii_lowercase(), Some(set_id.clone()))) {
            existing += 1;
            continue;
        }
        let Some(cell) = service.cells.iter().find(|c| c.id == rule.cell) else {
            continue;
        };
        let location = GeoLocation {
            continent: rule.continent.clone(),
            country: if rule.default {
                Some("*".into())
            } else {
                rule.country.clone()
            },
            subdivision: None,
        };
        changes.push(RecordChange::create(RecordSet {
            name: geo.record_name.clone(),
            rtype: RecordType::Cname.into(),
            ttl: service.routing.ttl_secs,
            values: vec![cell.record_name.clone()],
            routing: Routing::Geolocation {
                set_identifier: set_id,
                location,
            },
            health_check_id: None,
        }));
    }
    (changes, existing)
}

/// The service's health alarms (PutMetricAlarm replaces with the same definition:
/// idempotent). The real metric is a placeholder the service's own telemetry should feed;
/// the chaos metric lets game-days on real accounts fail an alarm (crate::chaos, ADR 0008);
/// tests on moto, which never evaluates alarms, drive the state with SetAlarmState.
async fn alarms(service: &Service, world: &AwsWorld) -> Result<String> {
    for binding in &service.health.alarms {
        let region = &service.regions[binding.r].name;
        let Some(clients) = world.regions.get(region) else {
            continue;
        };
        let real = MetricId {
            namespace: chaos::HEALTH_NAMESPACE.into(),
            metric_name: if binding.role == SignalRole::Load {
                "Load".into()
            } else {
                "Errors".into()
            },
            dimensions: vec![
                ("Region".into(), region.clone()),
                ("Service".into(), service.name.clone()),
            ],
        };
        let spec = chaos::health_alarm(&binding.name, &service.name, region, real, 10.0);
        clients
            .cloudwatch
            .put_metric_math_alarm(&spec)
            .await
            .with_context(|| format!("alarm {}", binding.name))?;
    }
    Ok(format!(
        "{}: {} alarm(s)",
        service.name,
        service.health.alarms.len()
    ))
}

/// The service's missing ECS clusters and services, at their steady desired counts, in
/// the network the controller config names for each region.
async fn ecs_services(
    service: &Service,
    controller: &ControllerSpec,
    world: &AwsWorld,
    report: &mut ProvisionReport,
) -> Result<()> {
    let Some(ecs) = &service.ecs else {
        return Ok(());
    };
    for (r, sr) in service.regions.iter().enumerate() {
        let Some(clients) = world.regions.get(&sr.name) else {
            continue;
        };
        let (cluster, name) = (&ecs.clusters[r], &ecs.services[r]);
        if clients
            .ecs
            .describe_service(cluster, name)
            .await
            .ok()
            .flatten()
            .is_some()
        {
            report.existing += 1;
            continue;
        }
        let Some(network) = controller.provision.network.get(&sr.name) else {
            anyhow::bail!(
                "{}: creating ECS service {cluster}/{name} in {} needs the ControllerConfig's `provision.network.{}` (subnets and security_groups)",
                service.name,
                sr.name,
                sr.name
            );
        };
        clients.ecs.create_cluster(cluster).await?;
        let task = clients
            .ecs
            .register_fargate_task(&format!("{name}-task"), "public.ecr.aws/nginx/nginx:stable")
            .await?;
        let desired = regionctl_core::live::steady_desired(service, r);
        clients
            .ecs
            .create_service(&FargateService {
                cluster: cluster.clone(),
                name: name.clone(),
                task_definition: task,
                desired: i32::try_from(desired).unwrap_or(i32::MAX),
                subnets: network.subnets.clone(),
                security_groups: network.security_groups.clone(),
            })
            .await
            .with_context(|| format!("ECS service {cluster}/{name} in {}", sr.name))?;
        report.created.push(format!(
            "{}: ECS {cluster}/{name} in {} (desired {desired})",
            service.name, sr.name
        ));
    }
    Ok(())
}
