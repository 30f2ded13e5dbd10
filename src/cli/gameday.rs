//! `regionctl gameday`: run a chaos game-day scenario and check what the control plane did.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use regionctl::gameday::{Console, Ending, aws, moto};
use regionctl_sim::{engine, report};
use std::path::PathBuf;
use std::process::ExitCode;

/// Run a game-day: take a region (or a cell, a controller, the Route 53 control plane)
/// away on purpose, and check against the scenario's expectations and deadlines that the
/// controllers detected it, agreed, moved capacity and traffic in the right order, recorded
/// why, and brought traffic back safely.
///
/// The default target, `sim`, runs the real controller code on a simulated AWS world with a
/// virtual clock: no account, no setup, a 30-minute incident in seconds, the same result
/// for the same seed. Reports (`report.md`, `report.json`, `traffic.svg`) go to `--report`.
///
/// `--target aws` runs on a real account, in real time, against the deployed controllers:
/// it needs `--confirm-account`, the scenario's `guardrails` allow-list, alarms provisioned
/// with the chaos metric, and faults a real account can take (`alarm`, `recover`); see
/// docs/OPERATIONS.md, "Game-days on a real account".
///
/// Exit codes: 0 when the observed verdict is the scenario's `expected_verdict`, 1 when not
/// (or on error), 2 when `--target aws` refuses to start (nothing was changed).
#[derive(Debug, Args)]
pub struct GamedayArgs {
    /// Scenario file (`chaos/*.yaml`).
    scenario: PathBuf,
    /// Where to run it.
    #[arg(long, value_enum, default_value_t = Target::Sim)]
    target: Target,
    /// Seed for every random choice (default: the scenario's `world.seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Report directory (default: `reports/<scenario name>/`).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// No progress lines while it runs (the summary is still printed).
    #[arg(long)]
    quiet: bool,
    /// `--target moto`: a running moto server (`http://127.0.0.1:PORT`); without it,
    /// `scripts/moto.sh start` starts one for this run and stops it at the end.
    /// `--target aws`: for tests only, a local moto (loopback addresses only).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// `--target aws`: the AWS account you mean to run in. Required: it must be the account
    /// of your credentials (STS GetCallerIdentity) and listed in the scenario's
    /// `guardrails.accounts`; otherwise nothing is touched (exit 2). An account id rather
    /// than a yes-flag, so a run under the wrong profile is refused, not confirmed.
    #[arg(long, value_name = "ACCOUNT_ID")]
    confirm_account: Option<String>,
    /// `--target aws`: start one `regionctl run` per controller region on this machine
    /// (ambient credentials) instead of relying on the deployed controllers; needed for
    /// `stand-down` expectations.
    #[arg(long)]
    local_controllers: bool,
    /// `--target aws`: seconds between reads of the weighted records (each read lists the
    /// policies' hosted zones, from the account's Route 53 budget the controllers share).
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    route53_sample_secs: u64,
}

/// Game-day targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// The in-process simulated AWS world.
    Sim,
    /// A moto server, with the controllers as real processes, in real time (scenarios with
    /// `endpoints-fail`, `alarm` and `recover` faults, e.g. `chaos/region-loss-moto.yaml`).
    Moto,
    /// A real AWS account, in real time: alarm faults through the chaos metric, the
    /// deployed controllers (or `--local-controllers`), guarded by `--confirm-account` and
    /// the scenario's allow-list (e.g. `chaos/region-loss-aws.yaml`).
    Aws,
}

/// A real-time game-day's (or the sandbox's) lines on the terminal.
pub(super) struct Terminal {
    pub(super) quiet: bool,
}

impl Console for Terminal {
    fn say(&self, line: &str) {
        println!("{line}");
    }

    fn progress(&self, line: &str) {
        if !self.quiet {
            println!("{line}");
        }
    }

    fn warn(&self, line: &str) {
        eprintln!("{line}");
    }
}

pub fn run(args: GamedayArgs) -> Result<ExitCode> {
    if args.target != Target::Aws && (args.confirm_account.is_some() || args.local_controllers) {
        bail!("--confirm-account and --local-controllers apply to `--target aws` only");
    }
    if args.target != Target::Sim && args.seed.is_some() {
        let target = args.target.to_possible_value();
        let name = target.as_ref().map_or("", |v| v.get_name());
        bail!("--seed applies to `--target sim` only: {name} runs in real time");
    }
    let terminal = Terminal { quiet: args.quiet };
    let ending = match args.target {
        Target::Sim => return run_sim(args),
        Target::Moto => {
            let opts = moto::MotoOptions {
                scenario: args.scenario,
                endpoint_url: args.endpoint_url,
                report: args.report,
            };
            moto::run(&opts, &terminal)?
        }
        Target::Aws => {
            let opts = aws::AwsOptions {
                scenario: args.scenario,
                confirm_account: args.confirm_account,
                endpoint_url: args.endpoint_url,
                local_controllers: args.local_controllers,
                route53_sample_secs: args.route53_sample_secs,
                report: args.report,
            };
            aws::run(&opts, &terminal)?
        }
    };
    Ok(match ending {
        Ending::Ran { passed: true } => ExitCode::SUCCESS,
        Ending::Ran { passed: false } => ExitCode::from(1),
        Ending::Refused => ExitCode::from(2),
    })
}

/// `--target sim`: the game-day on the simulated world, its report written.
fn run_sim(args: GamedayArgs) -> Result<ExitCode> {
    if args.endpoint_url.is_some() {
        bail!("--endpoint-url applies to `--target moto` and `--target aws` only");
    }
    let (loaded, bundle, controllers) = match engine::prepare(&args.scenario) {
        Ok(x) => x,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            bail!(
                "{}: {} error(s); scenario rejected",
                args.scenario.display(),
                errors.len()
            );
        }
    };
    let s = &loaded.scenario;
    println!(
        "game-day {} on sim: {} controllers ({}), {} of virtual time, seed {}",
        s.name,
        controllers.len(),
        controllers.join(", "),
        s.world.duration,
        args.seed.unwrap_or(s.world.seed)
    );
    let quiet = args.quiet;
    let mut progress = |e: &engine::Event| {
        if !quiet {
            println!("{}", report::event_line(e));
        }
    };
    let options = engine::Options { seed: args.seed };
    let finished = engine::run(loaded, bundle, controllers, &options, &mut progress);
    let rep = report::build(&finished);
    print!("{}", report::terminal(&rep));
    let dir = args
        .report
        .unwrap_or_else(|| PathBuf::from("reports").join(&rep.scenario));
    report::write(&dir, &rep)?;
    println!(
        "report: {}/report.md, report.json, traffic.svg",
        dir.display()
    );
    Ok(if rep.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
