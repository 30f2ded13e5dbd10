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
/// Hosted zones named by id and ALB listeners are not created: the policies name their
/// ids. A zone named by domain (`routing.hosted_zone`) is looked up by name; with
/// `--create-zones` one that does not exist is created (sandbox accounts only: a new
/// public zone gets new name servers nobody delegates to).
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// Policy directory.
    #[arg(long, default_value = "policies", env = "REGIONCTL_POLICIES")]
    policies: PathBuf,
    /// AWS endpoint override, e.g. a moto server.
    #[arg(long, env = "REGIONCTL_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// Create the hosted zones the policies name by domain that do not exist (private
    /// ones associated with their `hosted_zone_vpc` in the first controller region).
    /// For moto and sandbox accounts.
    #[arg(long)]
    create_zones: bool,
}

pub fn run(args: ProvisionArgs) -> Result<ExitCode> {
    let Some(mut bundle) = load_bundle(std::slice::from_ref(&args.policies), Output::Text)? else {
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
        let created = zones(&mut bundle, &first, &args).await?;
        for line in &created {
            println!("created {line}");
        }
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

/// Resolves the zones the policies name by domain, creating the missing ones first when
/// asked (`--create-zones`); what was created.
async fn zones(
    bundle: &mut regionctl_core::policy::Bundle,
    vpc_region: &str,
    args: &ProvisionArgs,
) -> Result<Vec<String>> {
    let mut created = Vec::new();
    if args.create_zones {
        let sdk = regionctl_aws::config::load(&regionctl_aws::config::AwsSettings {
            region: "us-east-1".into(),
            endpoint_url: args.endpoint_url.clone(),
        })
        .await;
        let route53 = regionctl_aws::route53::Route53Client::new(
            &sdk,
            std::sync::Arc::new(regionctl_aws::route53::SharedBucket::new(Default::default())),
        );
        for zone in bundle.named_zones().keys() {
            match route53.find_zone(zone).await {
                Ok(_) => {}
                Err(regionctl_aws::AwsError::ZoneNotFound { .. }) => {
                    let reference = format!("regionctl-{}-{}", zone.name, bundle.short_hash());
                    let id = route53.create_zone(zone, vpc_region, &reference).await?;
                    created.push(format!("hosted zone {id} ({zone})"));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    regionctl::zones::resolve(bundle, args.endpoint_url.clone())
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "{e}hosted zones named by domain could not be resolved (--create-zones creates missing ones in a sandbox account)"
            )
        })?;
    Ok(created)
}
