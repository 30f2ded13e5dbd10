//! `regionctl gameday`: run a chaos game-day scenario and check what the control plane did.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use regionctl_sim::{engine, report};
use std::path::PathBuf;
use std::process::ExitCode;

#[path = "gameday_moto.rs"]
mod gameday_moto;

/// Run a game-day: take a region (or a cell, a controller, the Route 53 control plane)
/// away on purpose, and check against the scenario's expectations and deadlines that the
/// controllers detected it, agreed, moved capacity and traffic in the right order, recorded
/// why, and brought traffic back safely.
///
/// The default target, `sim`, runs the real controller code on a simulated AWS world with a
/// virtual clock: no account, no setup, a 30-minute incident in seconds, the same result
/// for the same seed. Reports (`report.md`, `report.json`, `traffic.svg`) go to `--report`.
///
/// Exit codes: 0 when the observed verdict is the scenario's `expected_verdict`, 1 when not
/// (or on error).
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
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
}

/// Game-day targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// The in-process simulated AWS world.
    Sim,
    /// A moto server, with the controllers as real processes, in real time (scenarios with
    /// `endpoints-fail`, `alarm` and `recover` faults, e.g. `chaos/region-loss-moto.yaml`).
    Moto,
    /// Real AWS (not supported yet).
    Aws,
}

pub fn run(args: GamedayArgs) -> Result<ExitCode> {
    match args.target {
        Target::Sim => {}
        Target::Moto => {
            if args.seed.is_some() {
                bail!("--seed applies to `--target sim` only: moto runs in real time");
            }
            return gameday_moto::run(gameday_moto::MotoOptions {
                scenario: args.scenario,
                endpoint_url: args.endpoint_url,
                report: args.report,
                quiet: args.quiet,
            });
        }
        Target::Aws => {
            bail!(
                "--target aws is not supported yet: game-days run on the simulated world (`--target sim`, the default) or on moto (`--target moto`)"
            );
        }
    }
    if args.endpoint_url.is_some() {
        bail!("--endpoint-url applies to `--target moto` only");
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
