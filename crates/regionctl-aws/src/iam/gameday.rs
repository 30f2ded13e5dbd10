//! The game-day operator's document (`regionctl gameday --target aws`, `src/gameday/aws/`):
//! who am I (the account guardrail), the targeted alarms (they must exist and read the chaos
//! metric), the chaos metric itself, the weights in the managed zones (traffic) and the
//! decisions in the journal. With `--local-controllers` the same credentials also run the
//! controllers: attach the controller's document too.

use super::arn::Arns;
use super::document::Statement;
use super::named::Named;
use super::{Fixed, alarm_arns, on_partitions, partitions, table_arns, zone_arns};

/// The game-day operator's statements.
pub(super) fn statements(named: &Named, arns: &Arns, fixed: &Fixed) -> Vec<Statement> {
    vec![
        Statement::anywhere("GamedayWhoAmINoResourceType", &["sts:GetCallerIdentity"]),
        Statement::allow(
            "GamedayReadTargetedAlarms",
            &["cloudwatch:DescribeAlarms"],
            alarm_arns(named, arns),
        ),
        Statement::anywhere(
            "GamedayPutChaosMetricNoResourceType",
            &["cloudwatch:PutMetricData"],
        )
        .when(
            "StringEquals",
            "cloudwatch:namespace",
            [fixed.chaos_namespace.to_string()],
        ),
        Statement::allow(
            "GamedayReadWeights",
            &["route53:ListResourceRecordSets"],
            zone_arns(named, arns),
        ),
        on_partitions(
            Statement::allow(
                "GamedayReadDecisions",
                &["dynamodb:Query"],
                table_arns(named, arns),
            ),
            partitions(named, |pk, _| pk.starts_with("DECISION#")),
        ),
    ]
}
