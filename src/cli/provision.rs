//! `regionctl provision`: create the AWS resources the policies reference.

use super::{Output, load_bundle};
use anyhow::Result;
use clap::Args;
use regionctl::aws_world::AwsWorld;
use regionctl::controller_config::controller_config;
use std::path::PathBuf;
use std::process::ExitCode;

/// Create what the policies and controller config reference that does not exist yet: the
/// journal table, per-region alarm-event queues and EventBridge rules, weighted and
/// geolocation records (at baseline weights), CloudWatch alarms, ECS clusters and services.
/// Idempotent. For moto and sandbox accounts; production uses `deploy/`.
///
/// Hosted zones and ALB listeners are not created: the policies name their ids.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// Policy directory.
    #[arg(long, default_value = "policies", env = "REGIONCTL_POLICIES")]
    policies: PathBuf,
    /// AWS endpoint override, e.g. a moto server.
    #[arg(long, env = "REGIONCTL_ENDPOINT_URL")]
    endpoint_url: Option<String>,
}

pub fn run(args: ProvisionArgs) -> Result<ExitCode> {
    let Some(bundle) = load_bundle(std::slice::from_ref(&args.policies), Output::Text)? else {
        return Ok(ExitCode::from(1));
    };
    let needs = "; provision needs the fleet's regions";
    let controller = controller_config(&bundle, &args.policies, needs)?;
    let first = controller
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let world = AwsWorld::connect(&regionctl::aws_world::settings(
            &bundle,
            &controller,
            &first,
            args.endpoint_url.clone(),
        ))
        .await;
        let report = regionctl::provision::provision(
            &bundle,
            &controller,
            &world,
            args.endpoint_url.clone(),
        )
        .await?;
        for line in &report.created {
            println!("created {line}");
        }
        println!("{} resource(s) already existed", report.existing);
        Ok(ExitCode::SUCCESS)
    })
}
