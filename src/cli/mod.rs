//! Subcommands. One module per command; each has its own options struct whose doc
//! comments are the `--help` text.

mod check;
mod gameday;
mod iam;
mod ops;
mod plan;
mod provision;
pub(crate) mod run;
mod sandbox;
mod schema;
mod simulate;
mod test;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// The version, marked when test failpoints are compiled in.
#[cfg(feature = "failpoints")]
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (failpoints)");
#[cfg(not(feature = "failpoints"))]
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Multi-region failover control plane for AWS.
///
/// Policies (YAML, in git) say how each service survives the loss of a region or a cell;
/// controllers in every region evaluate health and move traffic and capacity. These commands
/// check, plan and test policies offline: no AWS account needed.
#[derive(Debug, Parser)]
#[command(
    name = "regionctl",
    version = VERSION,
    about,
    long_about
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Check(check::CheckArgs),
    Plan(plan::PlanArgs),
    Test(test::TestArgs),
    Schema(schema::SchemaArgs),
    Provision(provision::ProvisionArgs),
    Run(run::RunArgs),
    Gameday(gameday::GamedayArgs),
    Simulate(simulate::SimulateArgs),
    Pause(ops::PauseArgs),
    Resume(ops::ResumeArgs),
    Override(ops::OverrideArgs),
    Approve(ops::ApproveArgs),
    Status(ops::StatusArgs),
    Explain(ops::ExplainArgs),
    Iam(iam::IamArgs),
    Sandbox(sandbox::SandboxArgs),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// For people.
    #[default]
    Text,
    /// For machines.
    Json,
}

/// Runs the parsed command and returns its exit code.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Test(args) => test::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Provision(args) => provision::run(args),
        Command::Run(args) => run::run(args),
        Command::Gameday(args) => gameday::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Pause(args) => ops::pause(args),
        Command::Resume(args) => ops::resume(args),
        Command::Override(args) => ops::set_override(args),
        Command::Approve(args) => ops::approve(args),
        Command::Status(args) => ops::status(args),
        Command::Explain(args) => ops::explain(args),
        Command::Iam(args) => iam::run(args),
        Command::Sandbox(args) => sandbox::run(args),
    }
}

/// Loads a bundle from paths, printing diagnostics; `None` when it is invalid.
pub fn load_bundle(
    paths: &[std::path::PathBuf],
    output: Output,
) -> Result<Option<regionctl_core::policy::Bundle>> {
    let files = regionctl_controller::policy_files::read(paths)?;
    if files.is_empty() {
        anyhow::bail!(
            "no policy files (*.yaml, *.yml) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    match regionctl_core::policy::load(&files) {
        Ok(bundle) => {
            if output == Output::Text {
                for w in &bundle.warnings {
                    eprint!("{w}");
                }
            }
            Ok(Some(bundle))
        }
        Err(diagnostics) => {
            if output == Output::Json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "valid": false, "diagnostics": diagnostics })
                    )?
                );
            } else {
                for d in &diagnostics {
                    eprint!("{d}");
                }
                let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                eprintln!(
                    "{errors} error(s), {} warning(s): policy bundle rejected",
                    diagnostics.len() - errors
                );
            }
            Ok(None)
        }
    }
}

/// Resolves the hosted zones `bundle` names by domain (no call when it names none), for a
/// synchronous command about to meet Route 53 or name zone ARNs.
pub fn resolve_zones(
    bundle: &mut regionctl_core::policy::Bundle,
    endpoint_url: Option<String>,
) -> Result<()> {
    regionctl::zones::resolve_blocking(bundle, endpoint_url)
        .map_err(|e| anyhow::anyhow!("{e}hosted zones named by domain could not be resolved"))
}
