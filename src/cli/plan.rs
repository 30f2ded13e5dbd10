//! `regionctl plan`: what the controllers would do under a health scenario (dry run).

use super::{Output, load_bundle};
use anyhow::{Result, anyhow};
use clap::Args;
use regionctl_core::plan::{self, render};
use regionctl_core::testing::{Scenario, plan_scenario};
use std::path::PathBuf;
use std::process::ExitCode;

/// Show, like `terraform plan`, exactly what the controllers would do if the given regions
/// or cells failed: steps in order with reasons and the plane each needs, then each cell's
/// traffic split once the plan has completed. Starts from the policies' steady state.
///
/// Whatever a policy's mode, `plan` shows what it would do and says the mode.
///
/// Exit codes (as terraform's -detailed-exitcode): 0 no changes, 2 changes, 1 error.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Policy directory.
    #[arg(long, default_value = "policies", env = "REGIONCTL_POLICIES")]
    policies: PathBuf,
    /// A region or cell that is hard down: `REGION`, `REGION/CELL` or `SERVICE:REGION[/CELL]`.
    /// Repeatable.
    #[arg(long, value_name = "[SERVICE:]REGION[/CELL]")]
    down: Vec<String>,
    /// Failing but reachable (alarms in ALARM, probes answer). Same syntax; repeatable.
    #[arg(long, value_name = "[SERVICE:]REGION[/CELL]")]
    degraded: Vec<String>,
    /// No evidence either way. Same syntax; repeatable.
    #[arg(long, value_name = "[SERVICE:]REGION[/CELL]")]
    unknown: Vec<String>,
    /// Set individual signals of one (service, region) and evaluate them as the
    /// controllers would (served veto, critical and shadow roles included), e.g.
    /// `playback:eu-central-1:probe=fail,served=ok` ("what if only the probes fail?").
    /// KIND is probe, alarm (failure alarms), critical, shadow or served; unnamed signals
    /// are OK. Repeatable.
    #[arg(long, value_name = "SERVICE:REGION:KIND=fail|ok[,…]")]
    signal: Vec<String>,
    /// Output format. JSON has a top-level "traffic" object: service → cell → region →
    /// percent (each cell sums to 100).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub fn run(args: PlanArgs) -> Result<ExitCode> {
    let Some(bundle) = load_bundle(std::slice::from_ref(&args.policies), args.output)? else {
        return Ok(ExitCode::from(1));
    };
    let scenario = Scenario::parse(&bundle, &args.down, &args.degraded, &args.unknown)
        .and_then(|s| s.with_signals(&bundle, &args.signal))
        .map_err(|e| anyhow!(e))?;
    let (live, plan) = plan_scenario(&bundle, &scenario);
    match args.output {
        Output::Text => print!(
            "{}",
            render::text(&bundle, &live, &plan, &scenario.describe())
        ),
        Output::Json => {
            let traffic = plan::resulting_traffic(&bundle, &plan);
            let steps: Vec<serde_json::Value> = plan
                .steps
                .iter()
                .map(|st| {
                    let service = &bundle.services[st.service];
                    let (kind, description) = render::describe(service, &st.action);
                    serde_json::json!({
                        "id": st.id,
                        "service": service.name,
                        "kind": kind,
                        "description": description,
                        "plane": st.plane,
                        "discretionary": st.discretionary,
                        "after": st.after,
                        "action": st.action,
                        "reasons": st.reasons.iter().map(|r| render::reason_text(&bundle, service, r)).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let services: Vec<serde_json::Value> = plan
                .services
                .iter()
                .map(|sp| serde_json::json!({ "name": sp.name, "mode": sp.mode, "disposition": sp.disposition, "partial": sp.partial, "notes": sp.notes }))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "bundle_hash": bundle.hash,
                    "scenario": scenario.describe(),
                    "changes": plan.has_changes(),
                    "steps": steps,
                    "services": services,
                    "alerts": plan.alerts,
                    "traffic": traffic,
                }))?
            );
        }
    }
    Ok(if plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
