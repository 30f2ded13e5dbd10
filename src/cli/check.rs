//! `regionctl check`: validate policies offline.

use super::{Output, load_bundle};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Validate policy files: every problem at once, with file:line:column, field and hint.
///
/// Exit code 0 when valid, 1 when invalid (or unreadable).
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy files or directories (searched recursively for *.yaml / *.yml).
    #[arg(default_value = "policies", env = "REGIONCTL_POLICIES")]
    paths: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    deny_warnings: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let Some(bundle) = load_bundle(&args.paths, args.output)? else {
        return Ok(ExitCode::from(1));
    };
    let warnings = bundle.warnings.len();
    let valid = !(args.deny_warnings && warnings > 0);
    if args.output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "valid": valid,
                "bundle_hash": bundle.hash,
                "services": bundle.services.iter().map(|s| &s.name).collect::<Vec<_>>(),
                "test_files": bundle.tests.len(),
                "hosted_zones": zones_json(&bundle),
                "diagnostics": bundle.warnings,
            }))?
        );
    } else {
        let switches = regionctl_core::switch::health_checks_needed(&bundle);
        let per_service: Vec<String> = bundle
            .services
            .iter()
            .map(|s| (s, regionctl_core::switch::slots(s) * s.regions.len()))
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{} {n}", s.name))
            .collect();
        println!(
            "{}: valid — {} service(s), {} controller config, {} test file(s), {} warning(s); bundle {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            bundle.services.len(),
            if bundle.controller.is_some() {
                "1"
            } else {
                "no"
            },
            bundle.tests.len(),
            warnings,
            bundle.short_hash()
        );
        if switches > 0 {
            println!(
                "data-plane switches: {switches} Route 53 health check(s) needed ({}; default quota: {} per account)",
                per_service.join(", "),
                regionctl_core::switch::DEFAULT_HEALTH_CHECK_QUOTA
            );
        }
        print_zones(&bundle);
        if !valid {
            eprintln!("--deny-warnings: {warnings} warning(s) make the bundle invalid");
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// How each service's hosted zone is found: by id as written, or by domain through Route 53
/// (at start-up, on reload, by `provision`, `iam` and game-days).
fn print_zones(bundle: &regionctl_core::policy::Bundle) {
    let named = bundle.named_zones();
    let by_id = bundle
        .services
        .iter()
        .filter(|s| s.routing.zone_name.is_none())
        .count();
    if named.is_empty() {
        return;
    }
    println!(
        "hosted zones: {} named by domain, looked up in Route 53 (ListHostedZonesByName) when a controller starts and on every reload; {by_id} service(s) name theirs by id",
        named.len()
    );
    for (zone, services) in &named {
        println!("  {zone}: {}", services.join(", "));
    }
}

/// `check --output json`'s `hosted_zones`: per service, the id or the zone name.
fn zones_json(bundle: &regionctl_core::policy::Bundle) -> serde_json::Value {
    bundle
        .services
        .iter()
        .map(|s| {
            let zone = match &s.routing.zone_name {
                Some(z) => serde_json::json!({"name": z.name, "private_vpc": z.vpc}),
                None => serde_json::json!({"id": s.routing.hosted_zone_id}),
            };
            (s.name.clone(), zone)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}
