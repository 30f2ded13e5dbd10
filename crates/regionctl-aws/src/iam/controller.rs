//! The controller's document (`regionctl run`): what one reconcile pass and the daemon
//! around it call (`crates/regionctl-aws/src/world/`, `src/daemon/`).

use super::arn::Arns;
use super::document::Statement;
use super::named::Named;
use super::{Fixed, alarm_arns, on_partitions, partitions, table_arns, zone_arns};
use regionctl_controller::journal::{self, Writer};

/// The controller's statements.
pub(super) fn statements(named: &Named, arns: &Arns, fixed: &Fixed) -> Vec<Statement> {
    let mut out = route53(named, arns);
    out.extend(cloudwatch(named, arns, fixed));
    out.extend(journal(named, arns));
    out.extend(capacity(named, arns));
    out.extend(events(named, arns));
    out
}

/// Route 53: read the managed zones, UPSERT only the weighted records the policies manage
/// (one statement per zone, so a name is writable only in its own zone), wait for changes.
fn route53(named: &Named, arns: &Arns) -> Vec<Statement> {
    let mut out = vec![Statement::allow(
        "Route53ReadManagedZones",
        &["route53:ListResourceRecordSets"],
        zone_arns(named, arns),
    )];
    for (id, zone) in &named.zones {
        out.push(
            Statement::allow(
                &format!("Route53UpsertManagedRecordsIn{}", sid_part(id)),
                &["route53:ChangeResourceRecordSets"],
                [arns.hosted_zone(id)],
            )
            .when(
                "ForAllValues:StringEquals",
                "route53:ChangeResourceRecordSetsActions",
                ["UPSERT".to_string()],
            )
            .when(
                "ForAllValues:StringEquals",
                "route53:ChangeResourceRecordSetsNormalizedRecordNames",
                zone.weighted.iter().cloned(),
            )
            .when(
                "ForAllValues:StringEquals",
                "route53:ChangeResourceRecordSetsRecordTypes",
                zone.weighted_types.iter().map(|t| (*t).to_string()),
            ),
        );
    }
    out.extend(zones_by_name(named, arns));
    out.push(Statement::allow(
        "Route53GetChangeIdsKnownOnlyOnceMade",
        &["route53:GetChange"],
        [arns.any_change()],
    ));
    out
}

/// Finding the zones the policies name by domain (none when every zone is given by id):
/// listing by name has no resource type; reading a private zone's VPCs does.
pub(super) fn zones_by_name(named: &Named, arns: &Arns) -> Vec<Statement> {
    if !named.zones_by_name {
        return Vec::new();
    }
    vec![
        Statement::anywhere(
            "Route53FindZonesNamedByDomainNoResourceType",
            &["route53:ListHostedZonesByName"],
        ),
        Statement::allow(
            "Route53ReadZonesNamedByDomain",
            &["route53:GetHostedZone"],
            zone_arns(named, arns),
        ),
    ]
}

/// CloudWatch: read the policies' alarms (metric alarms only, so no `*` is needed), publish
/// the heartbeat and the switch metrics, read the switches back.
fn cloudwatch(named: &Named, arns: &Arns, fixed: &Fixed) -> Vec<Statement> {
    let mut namespaces = vec![fixed.heartbeat_namespace.to_string()];
    namespaces.extend(named.switch_namespaces.iter().cloned());
    let mut out = vec![
        Statement::allow(
            "CloudWatchReadPolicyAlarms",
            &["cloudwatch:DescribeAlarms"],
            alarm_arns(named, arns),
        ),
        Statement::anywhere(
            "CloudWatchPutOwnMetricsNoResourceType",
            &["cloudwatch:PutMetricData"],
        )
        .when("StringEquals", "cloudwatch:namespace", namespaces),
    ];
    if !named.switch_namespaces.is_empty() {
        out.push(Statement::anywhere(
            "CloudWatchReadSwitchesNoResourceType",
            &["cloudwatch:GetMetricData"],
        ));
    }
    out
}

/// DynamoDB: write only the controller's own partitions (never `CONTROL` or `APPROVAL`);
/// read every partition a pass reads (heartbeats, digests, controls, approvals, decisions).
fn journal(named: &Named, arns: &Arns) -> Vec<Statement> {
    vec![
        on_partitions(
            Statement::allow(
                "JournalWriteControllerItems",
                &["dynamodb:PutItem"],
                table_arns(named, arns),
            ),
            own_partitions(named),
        ),
        on_partitions(
            Statement::allow(
                "JournalReadEveryPartition",
                &["dynamodb:Query"],
                table_arns(named, arns),
            ),
            partitions(named, |_, _| true),
        ),
    ]
}

/// The partitions a controller writes: the decision partitions, which every controller
/// shares, and its own heartbeat and digest partitions only, named through the task role's
/// `regionctl-region` tag (`deploy/controller-region.yaml` sets it to the stack's region),
/// so one controller's credentials cannot overwrite another's heartbeat or digest.
fn own_partitions(named: &Named) -> Vec<String> {
    let mut keys = partitions(named, |_, w| w == Writer::Controller);
    keys.push(journal::heartbeat_partition(REGION_TAG_VARIABLE));
    keys.push(journal::digest_partition(REGION_TAG_VARIABLE));
    keys
}

/// The IAM policy variable naming the calling role's `regionctl-region` tag.
pub const REGION_TAG_VARIABLE: &str = "${aws:PrincipalTag/regionctl-region}";

/// ECS and ELBv2: read and scale the named services, read and shift the named listeners.
fn capacity(named: &Named, arns: &Arns) -> Vec<Statement> {
    let mut out = vec![Statement::allow(
        "EcsReadAndScalePolicyServices",
        &["ecs:DescribeServices", "ecs:UpdateService"],
        named
            .ecs_services
            .iter()
            .map(|(region, cluster, service)| arns.ecs_service(region, cluster, service)),
    )];
    if !named.listeners.is_empty() {
        out.push(Statement::anywhere(
            "AlbDescribeListenersNoResourceType",
            &["elasticloadbalancing:DescribeListeners"],
        ));
    }
    out.push(Statement::allow(
        "AlbShiftPolicyListeners",
        &["elasticloadbalancing:ModifyListener"],
        named.listeners.iter().cloned(),
    ));
    out
}

/// EventBridge and SQS: publish decisions on the bus, consume the alarm queue, in every
/// controller region.
fn events(named: &Named, arns: &Arns) -> Vec<Statement> {
    vec![
        Statement::allow(
            "PublishDecisionEvents",
            &["events:PutEvents"],
            named
                .controller_regions
                .iter()
                .map(|r| arns.event_bus(r, &named.event_bus)),
        ),
        Statement::allow(
            "ConsumeAlarmQueue",
            &["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            named
                .controller_regions
                .iter()
                .map(|r| arns.queue(r, &named.alarm_queue)),
        ),
    ]
}

/// `id` as part of a `Sid` (letters and digits only).
pub(super) fn sid_part(id: &str) -> String {
    id.chars().filter(char::is_ascii_alphanumeric).collect()
}
