//! `regionctl iam`: least-privilege IAM policy documents generated from the policies
//! (`regionctl_aws::iam`).

use super::{Output, load_bundle};
use anyhow::{Context as _, Result, bail};
use clap::{Args, ValueEnum};
use regionctl_aws::iam::{self, Document, Fixed, Inputs, Role, document::MANAGED_POLICY_LIMIT};
use std::path::PathBuf;
use std::process::ExitCode;

/// Generate the IAM policy documents regionctl needs, from the policies themselves.
///
/// Each role gets exactly the AWS actions regionctl's code calls for it, on the resources
/// the policies name: Route 53 writes only as UPSERTs of the records the policies manage, in
/// their hosted zones; ECS only on the named services; ALB changes only on the named
/// listeners; journal writes only to each role's own partitions (`dynamodb:LeadingKeys`:
/// a controller cannot write an approval, an operator only controls and approvals);
/// metrics only to regionctl's namespaces. `*` only for actions AWS gives no resource type,
/// with a `Sid` that says so.
///
/// A role's document is split into as many managed policies as IAM's limit of 6,144
/// characters per policy needs (the policies' alarm ARNs are most of it): attach every
/// part. On stdout, `--role ROLE` prints a JSON array of that role's parts (each a whole
/// policy document); without `--role`, one JSON object of every role's arrays, keyed by
/// role. `--out-dir DIR` writes each part to its own file instead (`iam-policy.json`,
/// `iam-policy-2.json`, … for the controller; `iam-policy-operator.json`,
/// `iam-policy-provision.json`, `iam-policy-gameday.json`, …), ready for
/// `aws iam create-policy --policy-document file://…`. Sizes go to stderr.
///
/// A policy directory that does not load fails with the loader's diagnostics (file, line,
/// field), as `regionctl check` prints them; it needs a ControllerConfig.
///
/// `deploy/` holds the documents for the example bundle:
/// `regionctl iam --policies policies --account 123456789012 --out-dir deploy`.
#[derive(Debug, Args)]
pub struct IamArgs {
    /// Policy directory.
    #[arg(long, default_value = "policies", env = "REGIONCTL_POLICIES")]
    policies: PathBuf,
    /// Only this role's documents.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
    /// The AWS account the resources live in (12 digits). Without it, ARNs match any
    /// account (`*`).
    #[arg(long, env = "REGIONCTL_IAM_ACCOUNT")]
    account: Option<String>,
    /// ARN partition: `aws`, `aws-cn` (China), `aws-us-gov` (GovCloud).
    #[arg(long, default_value = "aws", env = "REGIONCTL_IAM_PARTITION")]
    partition: String,
    /// Write each part of each role's document to its file in this directory instead of
    /// printing.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Route 53 endpoint override (e.g. a moto server), used only when the policies name
    /// hosted zones by domain (`routing.hosted_zone`): their ids, which the documents
    /// name, are looked up with `ListHostedZonesByName` (AWS credentials needed then).
    #[arg(long, env = "REGIONCTL_ENDPOINT_URL")]
    endpoint_url: Option<String>,
}

/// Who a document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RoleArg {
    /// The controllers (`regionctl run`; the ECS task role of `deploy/controller-region.yaml`):
    /// read the managed zones and UPSERT their weighted records, read the policies' alarms,
    /// publish the heartbeat and switch metrics, read and scale the named ECS services,
    /// shift the named listeners, write heartbeats, digests and decisions, read the whole
    /// journal, publish decision events, consume the alarm queue.
    Controller,
    /// People who run `pause`, `resume`, `override`, `approve`, `status` and `explain`:
    /// write controls and approvals, read heartbeats, controls and decisions. Nothing else.
    Operator,
    /// `regionctl provision` in a sandbox account, sandbox setup and tests: create the
    /// journal, queues, rules, alarms, records, health checks, ECS services, load balancers
    /// and target groups the policies name. Never for anything that runs all the time.
    Provision,
    /// The operator of `regionctl gameday --target aws`: who am I, the targeted alarms, the
    /// chaos metric (`regionctl/chaos` only), the weights and the decisions. With
    /// `--local-controllers`, attach the controller's document too.
    Gameday,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Controller => Role::Controller,
            RoleArg::Operator => Role::Operator,
            RoleArg::Provision => Role::Provision,
            RoleArg::Gameday => Role::Gameday,
        }
    }
}

/// The names the root crate owns.
fn fixed() -> Fixed<'static> {
    Fixed {
        heartbeat_namespace: regionctl::daemon::HEARTBEAT_NAMESPACE,
        chaos_namespace: regionctl::chaos::NAMESPACE,
        alarm_rule: regionctl::provision::ALARM_RULE,
        events_queue: regionctl::provision::EVENTS_QUEUE,
    }
}

/// Refuses what would make a document that matches nothing (or too much).
fn check_args(args: &IamArgs) -> Result<()> {
    if let Some(a) = &args.account
        && !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    {
        bail!("--account {a:?}: an AWS account id is 12 digits");
    }
    let p = &args.partition;
    let valid = p == "aws"
        || p.strip_prefix("aws-").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .split('-')
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        });
    if !valid {
        bail!("--partition {p:?}: expected aws, aws-cn or aws-us-gov");
    }
    Ok(())
}

/// One line on stderr per role: its statements, size and managed policies.
fn report_size(role: Role, parts: &[Document]) {
    let statements: usize = parts.iter().map(|d| d.statements.len()).sum();
    let size: usize = parts.iter().map(Document::size).sum();
    eprintln!(
        "{}: {statements} statement(s), {size} characters, {} managed polic{} (IAM allows {MANAGED_POLICY_LIMIT} characters in one)",
        role.name(),
        parts.len(),
        if parts.len() == 1 { "y" } else { "ies" }
    );
}

/// Writes every part of every role into `dir`, one line per file on stdout.
fn write_parts(dir: &std::path::Path, docs: &[(Role, Vec<Document>)]) -> Result<()> {
    for (role, parts) in docs {
        for (i, doc) in parts.iter().enumerate() {
            let path = dir.join(role.file_name(i + 1));
            std::fs::write(&path, doc.to_pretty_json())
                .with_context(|| format!("writing {}", path.display()))?;
            println!("{}: {}", role.name(), path.display());
        }
        let stale = dir.join(role.file_name(parts.len() + 1));
        if stale.exists() {
            eprintln!(
                "{}: {} is left from an earlier run with more parts: delete it",
                role.name(),
                stale.display()
            );
        }
    }
    Ok(())
}

pub fn run(args: IamArgs) -> Result<ExitCode> {
    check_args(&args)?;
    let Some(mut bundle) = load_bundle(std::slice::from_ref(&args.policies), Output::Text)? else {
        return Ok(ExitCode::from(1));
    };
    super::resolve_zones(&mut bundle, args.endpoint_url.clone())?;
    let Some(controller) = bundle.controller.clone() else {
        bail!(
            "{}: no ControllerConfig: the journal table, the alarm queue, the event bus and the controller regions come from it",
            args.policies.display()
        );
    };
    let inputs = Inputs {
        bundle: &bundle,
        controller: &controller,
        fixed: fixed(),
        partition: &args.partition,
        account: args.account.as_deref(),
    };
    if args.account.is_none() {
        eprintln!("no --account: the ARNs match any account (`*`)");
    }
    let roles: Vec<Role> = match args.role {
        Some(r) => vec![r.into()],
        None => Role::ALL.to_vec(),
    };
    let mut docs: Vec<(Role, Vec<Document>)> = Vec::new();
    for role in roles {
        let parts = iam::documents(role, &inputs).map_err(anyhow::Error::msg)?;
        report_size(role, &parts);
        docs.push((role, parts));
    }
    match (&args.out_dir, args.role) {
        (Some(dir), _) => write_parts(dir, &docs)?,
        (None, Some(_)) => {
            let parts = docs.iter().flat_map(|(_, parts)| parts).collect::<Vec<_>>();
            println!("{}", serde_json::to_string_pretty(&parts)?);
        }
        (None, None) => {
            let all: serde_json::Map<String, serde_json::Value> = docs
                .iter()
                .map(|(r, parts)| Ok((r.name().to_string(), serde_json::to_value(parts)?)))
                .collect::<Result<_>>()?;
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
