//! The sandbox document: `regionctl provision` (`src/provision/`) creates what the policies
//! name in a sandbox account, and sandbox setup and tests call the rest (the `PROVISION_ONLY`
//! list in `tests/e2e/iam.rs` says who calls what). Self-contained: it repeats the reads
//! provisioning shares with the controller. Never attach it to anything that runs all the
//! time.

use super::arn::{Arns, load_balancers_like, target_groups_like};
use super::controller::sid_part;
use super::document::Statement;
use super::named::Named;
use super::{Fixed, alarm_arns, table_arns, zone_arns};

/// The sandbox statements.
pub(super) fn statements(named: &Named, arns: &Arns, fixed: &Fixed) -> Vec<Statement> {
    let mut out = route53(named, arns);
    out.extend(cloudwatch(named, arns));
    out.extend(journal_and_compute(named, arns));
    out.extend(queues(named, arns, fixed));
    out
}

/// Route 53: create the weighted and geolocation records (and UPSERT them to attach the
/// switches' health checks), create and tag the health checks; hosted zones are created
/// only on moto (tests, benches, moto game-days).
fn route53(named: &Named, arns: &Arns) -> Vec<Statement> {
    let mut out = vec![Statement::allow(
        "Route53ReadManagedZones",
        &["route53:ListResourceRecordSets"],
        zone_arns(named, arns),
    )];
    out.extend(super::controller::zones_by_name(named, arns));
    for (id, zone) in &named.zones {
        let mut types: Vec<String> = zone.weighted_types.iter().map(|t| t.to_string()).collect();
        if !zone.geolocation.is_empty() {
            types.push("CNAME".into());
        }
        out.push(
            Statement::allow(
                &format!("Route53CreateManagedRecordsIn{}", sid_part(id)),
                &["route53:ChangeResourceRecordSets"],
                [arns.hosted_zone(id)],
            )
            .when(
                "ForAllValues:StringEquals",
                "route53:ChangeResourceRecordSetsActions",
                ["CREATE".to_string(), "UPSERT".to_string()],
            )
            .when(
                "ForAllValues:StringEquals",
                "route53:ChangeResourceRecordSetsNormalizedRecordNames",
                zone.weighted.iter().chain(&zone.geolocation).cloned(),
            )
            .when(
                "ForAllValues:StringEquals",
                "route53:ChangeResourceRecordSetsRecordTypes",
                types,
            ),
        );
    }
    out.extend([
        Statement::allow(
            "Route53GetChangeIdsKnownOnlyOnceMade",
            &["route53:GetChange"],
            [arns.any_change()],
        ),
        Statement::anywhere(
            "Route53CreateZonesAndChecksNoResourceType",
            &[
                "route53:CreateHealthCheck",
                "route53:CreateHostedZone",
                "route53:ListHealthChecks",
            ],
        ),
        Statement::allow(
            "Route53HealthCheckIdsKnownOnlyOnceCreated",
            &[
                "route53:ChangeTagsForResource",
                "route53:ListTagsForResource",
                "route53:UpdateHealthCheck",
            ],
            [arns.any_health_check()],
        ),
    ]);
    out
}

/// CloudWatch: put the health and switch alarms (and drive their state in drills), start
/// the switches on.
fn cloudwatch(named: &Named, arns: &Arns) -> Vec<Statement> {
    let mut alarms = alarm_arns(named, arns);
    alarms.extend(
        named
            .switch_alarms
            .iter()
            .map(|(region, name)| arns.alarm(region, name)),
    );
    let mut out = vec![Statement::allow(
        "CloudWatchPutAndDrivePolicyAlarms",
        &["cloudwatch:PutMetricAlarm", "cloudwatch:SetAlarmState"],
        alarms,
    )];
    if !named.switch_namespaces.is_empty() {
        out.push(
            Statement::anywhere(
                "CloudWatchStartSwitchesNoResourceType",
                &["cloudwatch:PutMetricData"],
            )
            .when(
                "StringEquals",
                "cloudwatch:namespace",
                named.switch_namespaces.iter().cloned(),
            ),
        );
        out.push(Statement::anywhere(
            "CloudWatchReadSwitchesNoResourceType",
            &["cloudwatch:GetMetricData"],
        ));
    }
    out
}

/// DynamoDB, ECS and ELBv2: the journal table, the named ECS services (their clusters and
/// task definitions have no resource type), load balancers and target groups named like
/// the policies' (their ids exist only once created).
fn journal_and_compute(named: &Named, arns: &Arns) -> Vec<Statement> {
    vec![
        Statement::allow(
            "JournalCreateAndInspect",
            &[
                "dynamodb:CreateTable",
                "dynamodb:GetItem",
                "dynamodb:UpdateTimeToLive",
            ],
            table_arns(named, arns),
        ),
        Statement::allow(
            "EcsCreatePolicyServices",
            &["ecs:CreateService", "ecs:DescribeServices"],
            named
                .ecs_services
                .iter()
                .map(|(region, cluster, service)| arns.ecs_service(region, cluster, service)),
        ),
        Statement::anywhere(
            "EcsClustersAndTaskDefsNoResourceType",
            &["ecs:CreateCluster", "ecs:RegisterTaskDefinition"],
        ),
        Statement::allow(
            "AlbCreateLoadBalancersIdsKnownOnlyOnceCreated",
            &[
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateLoadBalancer",
            ],
            named
                .listeners
                .iter()
                .filter_map(|l| load_balancers_like(l)),
        ),
        Statement::allow(
            "AlbCreateTargetGroupsIdsKnownOnlyOnceCreated",
            &["elasticloadbalancing:CreateTargetGroup"],
            named
                .target_groups
                .iter()
                .filter_map(|t| target_groups_like(t)),
        ),
    ]
}

/// EventBridge and SQS: the alarm queue and the events queue, and the rules that feed them,
/// in every controller region.
fn queues(named: &Named, arns: &Arns, fixed: &Fixed) -> Vec<Statement> {
    let regions = &named.controller_regions;
    vec![
        Statement::allow(
            "EventBridgeCreateRegionctlRules",
            &["events:PutRule", "events:PutTargets"],
            regions.iter().flat_map(|r| {
                [
                    arns.rule(r, fixed.alarm_rule),
                    arns.rule(r, fixed.events_queue),
                ]
            }),
        ),
        Statement::allow(
            "SqsCreateAndConfigureRegionctlQueues",
            &[
                "sqs:CreateQueue",
                "sqs:GetQueueAttributes",
                "sqs:SendMessage",
                "sqs:SetQueueAttributes",
            ],
            regions.iter().flat_map(|r| {
                [
                    arns.queue(r, &named.alarm_queue),
                    arns.queue(r, fixed.events_queue),
                ]
            }),
        ),
    ]
}
