//! The operator's document: `pause`, `resume`, `override` and `approve` write controls and
//! approvals; `status` and `explain` read heartbeats, controls and decisions
//! (`src/cli/ops.rs`). Nothing else: an operator cannot write a decision or a heartbeat.

use super::arn::Arns;
use super::document::Statement;
use super::named::Named;
use super::{on_partitions, partitions, table_arns};
use regionctl_controller::journal::{self, Writer};

/// The operator's statements.
pub(super) fn statements(named: &Named, arns: &Arns) -> Vec<Statement> {
    vec![
        on_partitions(
            Statement::allow(
                "JournalWriteControlsAndApprovals",
                &["dynamodb:PutItem"],
                table_arns(named, arns),
            ),
            partitions(named, |_, w| w == Writer::Operator),
        ),
        on_partitions(
            Statement::allow(
                "JournalReadForStatusAndExplain",
                &["dynamodb:Query"],
                table_arns(named, arns),
            ),
            partitions(named, |pk, _| {
                pk.starts_with(journal::HEARTBEAT_PREFIX)
                    || pk == "CONTROL"
                    || pk.starts_with("DECISION#")
            }),
        ),
    ]
}
