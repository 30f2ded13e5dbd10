//! `regionctl sandbox`: a local fleet on moto, one command.

use anyhow::Result;
use clap::Args;
use regionctl::gameday::moto::sandbox::{self, SandboxOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// A local fleet to look at and poke: starts moto (installing it into the project's
/// `.venv` if missing), creates what the policies need (hosted zones, network, alarms,
/// services, queues, the journal), starts stand-in endpoints for every region the probes
/// reach, runs one controller per region with its admin page, and prints the URLs and the
/// commands to try. Type `fail eu-central-1` to lose a region (its endpoints answer 503,
/// its alarms go to ALARM), `recover eu-central-1`, `status`, `quit`. Ctrl-C tears
/// everything down.
///
/// Run it from the repository (it uses `scripts/moto.sh`); nothing leaves 127.0.0.1.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Policy directory (copied; the copy gets this run's names and local endpoints).
    #[arg(long, default_value = "policies", env = "REGIONCTL_POLICIES")]
    policies: PathBuf,
    /// A moto server already running (http://127.0.0.1:PORT); by default one is started.
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Stop by itself after this many seconds (demos, tests); by default run until Ctrl-C
    /// or `quit`.
    #[arg(long)]
    for_secs: Option<u64>,
    /// Controller logs.
    #[arg(long, default_value = "reports/sandbox")]
    log_dir: PathBuf,
}

pub fn run(args: SandboxArgs) -> Result<ExitCode> {
    let opts = SandboxOptions {
        policies: args.policies,
        endpoint_url: args.endpoint_url,
        run_for: args.for_secs.map(std::time::Duration::from_secs),
        log_dir: args.log_dir,
    };
    sandbox::run(&opts, &super::gameday::Terminal { quiet: false })?;
    Ok(ExitCode::SUCCESS)
}
