//! Least-privilege IAM policy documents, generated from the policies themselves
//! (`regionctl iam`): each role gets the AWS actions regionctl's code calls for it, on the
//! resources the policies name, and nothing else.
//!
//! | role | who | what it may change |
//! |---|---|---|
//! | controller | `regionctl run` (the ECS task role) | UPSERTs of the weighted records the policies manage, in their zones; desired counts of the named ECS services; the named listeners; its own journal items (heartbeats, digests, decisions: never an approval or a control) |
//! | operator | `pause`, `resume`, `override`, `approve`, `status`, `explain` | control and approval items only |
//! | provision | `regionctl provision` in a sandbox account, sandbox setup, tests | creates what the policies name |
//! | gameday | `regionctl gameday --target aws` | the chaos metric only |
//!
//! # Design
//! Pure: the caller loads the bundle and passes the names that live in the root crate
//! ([`Fixed`]: the heartbeat and chaos namespaces, the rule and queue `provision` creates).
//! A resource is `*` only for actions AWS gives no resource type
//! ([`document::NO_RESOURCE_TYPE`]), and such a statement's `Sid` says so; an ARN pattern
//! (`change/*`, `healthcheck/*`, `…/NAME/*`) only where the id exists only once AWS made the
//! resource. Conditions narrow writes further: Route 53 `UPSERT` of the managed names
//! (`route53:ChangeResourceRecordSets*`), journal partitions by writer
//! (`dynamodb:LeadingKeys`, from the key table in `regionctl_controller::journal`), metric
//! namespaces (`cloudwatch:namespace`). Which actions each role needs is written here, next
//! to the callers; `tests/e2e/iam.rs` checks the generated documents against every SDK call
//! in `crates/regionctl-aws/src/`, both ways, and the documents in `deploy/` against this
//! output.
//!
//! # Layout
//! - `document`: the document, its JSON shape and size.
//! - `arn`: ARNs and the record-name spelling Route 53's condition keys compare.
//! - `named`: what a bundle names.
//! - `controller`, `operator`, `provision`, `gameday`: one role each.

mod arn;
mod controller;
pub mod document;
mod gameday;
mod named;
mod operator;
mod provision;

pub use arn::normalized_record_name;
pub use document::{Document, Statement};
pub use named::Named;

use regionctl_controller::journal::Writer;
use regionctl_core::policy::Bundle;
use regionctl_core::policy::raw::ControllerSpec;

/// Who a document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// `regionctl run`.
    Controller,
    /// The operator commands.
    Operator,
    /// `regionctl provision`, sandbox setup and tests.
    Provision,
    /// `regionctl gameday --target aws`.
    Gameday,
}

impl Role {
    /// Every role, in the order they are printed.
    pub const ALL: [Role; 4] = [
        Role::Controller,
        Role::Operator,
        Role::Provision,
        Role::Gameday,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Controller => "controller",
            Role::Operator => "operator",
            Role::Provision => "provision",
            Role::Gameday => "gameday",
        }
    }

    /// The file `deploy/` keeps part `part` (from 1) of its document in:
    /// `iam-policy.json`, `iam-policy-2.json`, … for the controller, `iam-policy-{role}.json`,
    /// `iam-policy-{role}-2.json`, … for the others.
    pub fn file_name(self, part: usize) -> String {
        let stem = match self {
            Role::Controller => "iam-policy".to_string(),
            other => format!("iam-policy-{}", other.name()),
        };
        if part <= 1 {
            format!("{stem}.json")
        } else {
            format!("{stem}-{part}.json")
        }
    }
}

/// Names regionctl uses that the policies do not hold (the root crate owns them).
#[derive(Debug, Clone)]
pub struct Fixed<'a> {
    /// The controller's heartbeat metric namespace.
    pub heartbeat_namespace: &'a str,
    /// The game-day chaos metric namespace.
    pub chaos_namespace: &'a str,
    /// The EventBridge rule `provision` creates for alarm state changes.
    pub alarm_rule: &'a str,
    /// The queue and rule `provision` creates for regionctl's own events.
    pub events_queue: &'a str,
}

/// Everything a document is generated from.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The policies.
    pub bundle: &'a Bundle,
    /// Their controller configuration.
    pub controller: &'a ControllerSpec,
    /// The root crate's names.
    pub fixed: Fixed<'a>,
    /// ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: &'a str,
    /// Account id; `None`: any account (`*` in the ARNs).
    pub account: Option<&'a str>,
}

/// The policy document for `role`.
pub fn document(role: Role, inputs: &Inputs) -> Document {
    let named = Named::of(inputs.bundle, inputs.controller);
    let arns = arn::Arns::new(inputs.partition, inputs.account);
    Document::new(match role {
        Role::Controller => controller::statements(&named, &arns, &inputs.fixed),
        Role::Operator => operator::statements(&named, &arns),
        Role::Provision => provision::statements(&named, &arns, &inputs.fixed),
        Role::Gameday => gameday::statements(&named, &arns, &inputs.fixed),
    })
}

/// The policy documents for `role`, split to fit IAM's size limit for a managed policy
/// ([`Document::split`]): attach every part.
pub fn documents(role: Role, inputs: &Inputs) -> Result<Vec<Document>, String> {
    document(role, inputs)
        .split()
        .map_err(|e| format!("{}: {e}", role.name()))
}

/// The hosted zones the policies name.
fn zone_arns(named: &Named, arns: &arn::Arns) -> Vec<String> {
    named.zones.keys().map(|z| arns.hosted_zone(z)).collect()
}

/// The health alarms the policies name.
fn alarm_arns(named: &Named, arns: &arn::Arns) -> Vec<String> {
    named
        .alarms
        .iter()
        .map(|(region, name)| arns.alarm(region, name))
        .collect()
}

/// The journal table in every region it is used.
fn table_arns(named: &Named, arns: &arn::Arns) -> Vec<String> {
    named
        .journal_regions
        .iter()
        .map(|r| arns.table(r, &named.journal_table))
        .collect()
}

/// The partition keys of the key table that pass `keep` (by key and writer).
fn partitions(named: &Named, keep: impl Fn(&str, Writer) -> bool) -> Vec<String> {
    named
        .partitions()
        .into_iter()
        .filter(|(pk, w)| keep(pk, *w))
        .map(|(pk, _)| pk)
        .collect()
}

/// `statement` limited to journal partitions `keys` (every key a request names must be one
/// of them).
fn on_partitions(statement: Statement, keys: Vec<String>) -> Statement {
    statement.when("ForAllValues:StringEquals", "dynamodb:LeadingKeys", keys)
}

#[cfg(test)]
mod tests;
