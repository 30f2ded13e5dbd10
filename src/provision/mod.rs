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
use regionctl_core::policy::Bundle;
use regionctl_core::policy::raw::{AlarmRole, ControllerSpec};
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

/// Provisions everything for `bundle` through `world` (plus SQS/EventBridge per region).
pub async fn provision(
    bundle: &Bundle,
    controller: &ControllerSpec,
    world: &AwsWorld,
    endpoint_url: Option<String>,
) -> Result<ProvisionReport> {
    let mut report = ProvisionReport::default();
    world
        .journal
        .create_table()
        .await
        .context("creating the journal table")?;
    report.created.push(format!(
        "journal table {} (if it was missing)",
        world.journal.table()
    ));

    for region in &controller.regions {
        let sdk = load(&AwsSettings {
            region: region.clone(),
            endpoint_url: endpoint_url.clone(),
        })
        .await;
        let sqs = SqsClient::new(&sdk);
        let events = EventBridgeClient::new(&sdk);
        let queue = sqs
            .create_queue(&controller.alarm_queue)
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
        report.created.push(format!("{region}: queue {} fed by rule {ALARM_RULE}; queue {EVENTS_QUEUE} fed by source=regionctl", controller.alarm_queue));
    }

    let mut zones_seen = BTreeSet::new();
    for service in &bundle.services {
        // Records: create the missing ones at their baseline weights.
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
        zones_seen.insert(zone.clone());
        let have: BTreeSet<(String, Option<String>)> = existing
            .iter()
            .map(|r| {
                (
                    r.name.trim_end_matches('.').to_ascii_lowercase(),
                    r.routing.set_identifier().map(str::to_string),
                )
            })
            .collect();
        let rtype = RecordSetType::from(service.routing.record_type);
        let mut changes = Vec::new();
        for cell in &service.cells {
            for (r, _) in service.regions.iter().enumerate() {
                let key = (
                    cell.record_name.to_ascii_lowercase(),
                    Some(cell.set_identifiers[r].clone()),
                );
                if have.contains(&key) {
                    report.existing += 1;
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
        if let Some(geo) = &service.routing.geolocation {
            for (i, rule) in geo.rules.iter().enumerate() {
                let set_id = format!("geo-{i}");
                if have.contains(&(geo.record_name.to_ascii_lowercase(), Some(set_id.clone()))) {
                    report.existing += 1;
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
        }
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

        // Data-plane switches, once the records they guard exist.
        switches::provision(service, world, &mut report).await?;

        // Alarms (PutMetricAlarm replaces with the same definition: idempotent). The real
        // metric is a placeholder the service's own telemetry should feed; the chaos metric
        // lets game-days on real accounts fail an alarm (crate::chaos, ADR 0008); tests on
        // moto, which never evaluates alarms, drive the state with SetAlarmState.
        for binding in &service.health.alarms {
            let region = &service.regions[binding.r].name;
            let Some(clients) = world.regions.get(region) else {
                continue;
            };
            let real = MetricId {
                namespace: chaos::HEALTH_NAMESPACE.into(),
                metric_name: if binding.role == AlarmRole::Load {
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
        report.created.push(format!(
            "{}: {} alarm(s)",
            service.name,
            service.health.alarms.len()
        ));

        // ECS clusters and services at their steady desired counts.
        if let Some(ecs) = &service.ecs {
            for (r, sr) in service.regions.iter().enumerate() {
                let Some(clients) = world.regions.get(&sr.name) else {
                    continue;
                };
                if clients
                    .ecs
                    .describe_service(&ecs.clusters[r], &ecs.services[r])
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
                        "{}: creating ECS service {}/{} in {} needs the ControllerConfig's `provision.network.{}` (subnets and security_groups)",
                        service.name,
                        ecs.clusters[r],
                        ecs.services[r],
                        sr.name,
                        sr.name
                    );
                };
                clients.ecs.create_cluster(&ecs.clusters[r]).await?;
                let task = clients
                    .ecs
                    .register_fargate_task(
                        &format!("{}-task", ecs.services[r]),
                        "public.ecr.aws/nginx/nginx:stable",
                    )
                    .await?;
                let desired = regionctl_core::live::steady_desired(service, r);
                clients
                    .ecs
                    .create_service(&FargateService {
                        cluster: ecs.clusters[r].clone(),
                        name: ecs.services[r].clone(),
                        task_definition: task,
                        desired: i32::try_from(desired).unwrap_or(i32::MAX),
                        subnets: network.subnets.clone(),
                        security_groups: network.security_groups.clone(),
                    })
                    .await
                    .with_context(|| {
                        format!(
                            "ECS service {}/{} in {}",
                            ecs.clusters[r], ecs.services[r], sr.name
                        )
                    })?;
                report.created.push(format!(
                    "{}: ECS {}/{} in {} (desired {desired})",
                    service.name, ecs.clusters[r], ecs.services[r], sr.name
                ));
            }
        }
    }
    Ok(report)
}
