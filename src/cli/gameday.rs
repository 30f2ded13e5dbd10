//! `regionctl gameday`: run a chaos game-day scenario and check what the control plane did.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
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
}

/// Game-day targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// The in-process simulated AWS world.
    Sim,
    /// A moto server (not supported yet).
    Moto,
    /// Real AWS (not supported yet).
    Aws,
}

pub fn run(args: GamedayArgs) -> Result<ExitCode> {
    match args.target {
        Target::Sim => {}
        Target::Moto | Target::Aws => {
            let name = if args.target == Target::Moto {
                "moto"
            } else {
                "aws"
            };
            bail!(
                "--target {name} is not supported yet: game-days run on the simulated world only (`--target sim`, the default)"
            );
        }
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
