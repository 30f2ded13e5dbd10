//! `regionctl simulate`: search many seeded fault schedules for safety-invariant violations.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use regionctl_core::policy::Bundle;
use regionctl_core::policy::SourceFile;
use regionctl_sim::duration::{Dur, clock};
use regionctl_sim::generate::{self, FleetShape, REGIONS};
use regionctl_sim::invariants::INVARIANTS;
use regionctl_sim::simulate::schedule::{FIRST_FAULT_SECS, MIN_DURATION_SECS};
use regionctl_sim::simulate::{self, Config, SeedResult, Totals};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Deterministic fleet simulation: run the real controller code for many random but
/// reproducible fault schedules on the simulated world, and check the safety invariants
/// after every simulated second.
///
/// Seed S generates one schedule (region loss and recovery, unreachable APIs, flapping
/// alarms, partitions between controllers, journal replication lag or a journal replica
/// down, Route 53 throttling, long PENDING and control-plane outage, ECS capacity late or
/// short, controller crashes, clock skew) over `--duration` of virtual time. Seeds run
/// `--from` to `--from + --seeds - 1`, so the same command gives the same result.
///
/// It prints how often each fault was injected and each invariant checked (and which named
/// exemptions applied), so a run that exercised nothing cannot pass unnoticed. A violation
/// prints the seed, the invariant and the events that led to it, and writes a game-day
/// scenario that replays it (`regionctl gameday <file>`) into `--out`.
///
/// `--generate-services N` simulates a generated fleet instead of `--policies`, to find what
/// only size shows: journal items that grow with the fleet, alarm and Route 53 reads against
/// their budgets with thousands of alarms and hundreds of hosted zones.
///
/// Exit codes: 0 no violation, 1 a violation (or a run whose steady state never held),
/// 2 bad input (policies, options).
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Policy directory.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "policies",
        conflicts_with = "generate_services"
    )]
    policies: PathBuf,
    /// Simulate a generated fleet of N services (1 to 10,000) instead of `--policies`:
    /// every service active-active in the same regions, with cells, a region-wide and a
    /// per-cell failure alarm, a `served` traffic signal, an HTTP probe, ECS capacity, a
    /// data-plane switch per region (unless `--generate-no-switches`) and its own hosted
    /// zone, and a controller in every region (`--regions` picks fewer). The same options
    /// always give the same bundle.
    #[arg(long, value_name = "N")]
    generate_services: Option<usize>,
    /// Cells per generated service, 1 to 1,000; 2 or more let schedules fail one cell's
    /// alarms (30 is country × plan × platform, as in the example policies; other counts
    /// are one `shard` dimension).
    #[arg(long, value_name = "C", requires = "generate_services", default_value_t = DEFAULT_CELLS)]
    generate_cells: usize,
    /// Regions of the generated fleet, 3 to 10, taken in the order eu-central-1,
    /// eu-west-1, us-east-1, us-west-2, ap-southeast-1, ap-northeast-1, sa-east-1,
    /// ca-central-1, eu-north-1, ap-south-1.
    #[arg(long, value_name = "R", requires = "generate_services", default_value_t = DEFAULT_REGIONS)]
    generate_regions: usize,
    /// Generate the fleet without data-plane switches: evacuations are then Route 53 weight
    /// writes alone, every service in its own hosted zone.
    #[arg(long, requires = "generate_services")]
    generate_no_switches: bool,
    /// Write the generated fleet into DIR (created; it may hold only files the generator
    /// writes) before the run, so that `--policies DIR` loads it again. Without it, the
    /// fleet is written only when a seed fails, into `--out`, beside the reproductions
    /// that name it.
    #[arg(long, value_name = "DIR", requires = "generate_services")]
    keep_policies: Option<PathBuf>,
    /// How many seeds to run.
    #[arg(long, value_name = "N", default_value_t = 100)]
    seeds: u64,
    /// First seed.
    #[arg(long, value_name = "S", default_value_t = 0)]
    from: u64,
    /// Run exactly this one seed (same as `--from S --seeds 1`).
    #[arg(long, value_name = "S", conflicts_with_all = ["from", "seeds"])]
    seed: Option<u64>,
    /// Simulated time per seed (`2h`, `90m`).
    #[arg(long, value_name = "D", default_value = "2h")]
    duration: String,
    /// Controller regions (default: the ControllerConfig's `regions`).
    #[arg(long, value_name = "REGION", num_args = 1.., value_delimiter = ',')]
    regions: Vec<String>,
    /// Write the full event trace of the seed (with `--seed`); the same seed gives a
    /// byte-identical trace.
    #[arg(long, value_name = "FILE", requires = "seed")]
    trace: Option<PathBuf>,
    /// Where reproduction scenarios of violations are written.
    #[arg(long, value_name = "DIR", default_value = "simulate-failures")]
    out: PathBuf,
    /// Worker threads (default: the machine's cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// One line per seed instead of a compact progress line every 100 seeds.
    #[arg(long)]
    verbose: bool,
}

/// Cells per generated service unless `--generate-cells` says otherwise: the fewest that
/// let a schedule fail one cell's alarms (`alarm-cell`). What grows only with size —
/// journal items, hosted zones, alarm pages — grows with services and regions; every
/// cell adds per-second metering and checking, the bulk of a seed's cost
/// (docs/SIMULATION.md, "At fleet size").
const DEFAULT_CELLS: usize = 2;
/// Regions (and controllers) of a generated fleet unless `--generate-regions` says
/// otherwise: three, as the example fleet's, the fewest that can lose one and keep a
/// majority.
const DEFAULT_REGIONS: usize = 3;

/// Where the bundle came from.
enum Source {
    /// `--policies DIR`.
    Dir,
    /// `--generate-services`: the fleet's shape, and whether its files are on disk yet (at
    /// the run's `Config::policies`), as a reproduction needs them.
    Generated { shape: FleetShape, written: bool },
}

/// What a run is set up with.
struct Setup {
    cfg: Config,
    bundle: Bundle,
    duration: Dur,
    source: Source,
}

/// Bad input: exit code 2.
fn bad_input(message: String) -> Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(2))
}

pub fn run(args: SimulateArgs) -> Result<ExitCode> {
    let Setup {
        cfg,
        bundle,
        duration,
        source,
    } = match configure(&args) {
        Ok(setup) => setup,
        Err(message) => return bad_input(message),
    };
    let policies = match &source {
        Source::Dir => cfg.policies.display().to_string(),
        Source::Generated { shape, written } => format!(
            "generated ({} services × {} cells × {} regions{}{})",
            shape.services,
            shape.cells,
            shape.regions,
            if shape.switches { "" } else { ", no switches" },
            if *written {
                format!(", written to {}", cfg.policies.display())
            } else {
                String::new()
            }
        ),
    };
    println!(
        "simulate: seeds {}..={} ({}), {duration} each, controllers {}, policies {policies}, {} thread(s)",
        cfg.from,
        cfg.from + cfg.seeds - 1,
        cfg.seeds,
        cfg.controllers.join(", "),
        cfg.threads
    );
    let started = Instant::now();
    let mut progress = Progress {
        seeds: cfg.seeds,
        verbose: args.verbose,
        want_trace: args.trace.is_some(),
        done: 0,
        traced: None,
    };
    let totals = match simulate::run_all(&cfg, &bundle, &mut |r| progress.seed_done(r)) {
        Ok(t) => t,
        Err(e) => bail!("{e}"),
    };
    let wall = started.elapsed().as_secs_f64();
    if let (Some(path), Some(r)) = (&args.trace, &progress.traced) {
        std::fs::write(path, r.trace())
            .with_context(|| format!("cannot write the trace {}", path.display()))?;
        println!("trace: {}", path.display());
    }
    print_totals(&totals, wall);
    if totals.failures.is_empty() {
        println!("violations: none");
        return Ok(ExitCode::SUCCESS);
    }
    // A reproduction names its policies by path: a generated fleet must be on disk.
    if let Source::Generated {
        shape,
        written: false,
    } = &source
    {
        write_fleet(shape, &cfg.policies).map_err(anyhow::Error::msg)?;
        println!("generated fleet written to {}", cfg.policies.display());
    }
    print_failures(&cfg, &totals, &args.out)?;
    Ok(ExitCode::from(1))
}

/// The run the options ask for: its configuration, the policies and the simulated time per
/// seed; or why the input is bad (checked in option order).
fn configure(args: &SimulateArgs) -> Result<Setup, String> {
    // Shorter, a schedule's recoveries would come before its faults (an invalid scenario).
    let duration = match Dur::parse(&args.duration) {
        Ok(d) if d.secs() >= MIN_DURATION_SECS => d,
        Ok(d) => {
            return Err(format!(
                "--duration {d}: at least {} (faults start at {})",
                Dur(MIN_DURATION_SECS),
                Dur(FIRST_FAULT_SECS)
            ));
        }
        Err(e) => return Err(format!("--duration {}: {e}", args.duration)),
    };
    let (policies, bundle, source) = match args.generate_services {
        Some(services) => generated(args, services)?,
        None => {
            if !args.policies.is_dir() {
                return Err(format!(
                    "--policies {}: not a directory",
                    args.policies.display()
                ));
            }
            let bundle = simulate::load_bundle(&args.policies).map_err(|e| e.to_string())?;
            (args.policies.clone(), bundle, Source::Dir)
        }
    };
    let controllers = controllers(args, &bundle)?;
    let (from, seeds) = match args.seed {
        Some(s) => (s, 1),
        None => (args.from, args.seeds),
    };
    if seeds == 0 {
        return Err("--seeds must be at least 1".into());
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let cfg = Config {
        policies,
        controllers,
        from,
        seeds,
        duration_secs: duration.secs(),
        threads,
    };
    Ok(Setup {
        cfg,
        bundle,
        duration,
        source,
    })
}

/// The fleet `--generate-*` ask for: where its files are (`--keep-policies`, written now)
/// or will be written if a seed fails (a directory named after its shape in `--out`), the
/// bundle, and its source.
fn generated(args: &SimulateArgs, services: usize) -> Result<(PathBuf, Bundle, Source), String> {
    if !(1..=generate::MAX_SERVICES).contains(&services) {
        return Err(format!(
            "--generate-services {services}: 1 to {}",
            generate::MAX_SERVICES
        ));
    }
    let cells = args.generate_cells;
    if !(1..=generate::MAX_CELLS).contains(&cells) {
        return Err(format!(
            "--generate-cells {cells}: 1 to {}",
            generate::MAX_CELLS
        ));
    }
    let regions = args.generate_regions;
    if !(3..=REGIONS.len()).contains(&regions) {
        return Err(format!(
            "--generate-regions {regions}: 3 to {} (simulate needs at least 3 controllers)",
            REGIONS.len()
        ));
    }
    let shape = FleetShape {
        services,
        cells,
        regions,
        served: true,
        switches: !args.generate_no_switches,
    };
    if let Some(dir) = &args.keep_policies {
        write_fleet(&shape, dir).map_err(|e| format!("--keep-policies {e}"))?;
        let bundle = simulate::load_bundle(dir).map_err(|e| e.to_string())?;
        let source = Source::Generated {
            shape,
            written: true,
        };
        return Ok((dir.clone(), bundle, source));
    }
    let files: Vec<SourceFile> = shape
        .files()
        .into_iter()
        .map(|(path, text)| SourceFile { path, text })
        .collect();
    let bundle = simulate::load_files(&files, &shape.dir_name()).map_err(|e| e.to_string())?;
    let source = Source::Generated {
        shape,
        written: false,
    };
    Ok((args.out.join(shape.dir_name()), bundle, source))
}

/// Writes `shape`'s files into `dir`, which may already hold only files of that shape
/// (an earlier run's): anything else there would be loaded with them.
fn write_fleet(shape: &FleetShape, dir: &Path) -> Result<(), String> {
    if dir.exists() {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
        let names: BTreeSet<String> = shape.file_names().into_iter().collect();
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !names.contains(&name) {
                return Err(format!(
                    "{}: holds {name}, which the generated fleet does not have; give a new or empty directory",
                    dir.display()
                ));
            }
        }
    }
    shape
        .write(dir)
        .map_err(|e| format!("{}: cannot write the generated fleet: {e}", dir.display()))
}

/// The controller regions: `--regions`, or the ControllerConfig's; at least three.
fn controllers(args: &SimulateArgs, bundle: &Bundle) -> Result<Vec<String>, String> {
    let controllers = if args.regions.is_empty() {
        match &bundle.controller {
            Some(c) => c.regions.clone(),
            // A generated fleet always has one.
            None => {
                return Err(format!(
                    "{}: no ControllerConfig; name the controllers with --regions",
                    args.policies.display()
                ));
            }
        }
    } else {
        args.regions.clone()
    };
    if controllers.len() < 3 {
        return Err(format!(
            "--regions: {} controller(s); simulate needs at least 3 (a two-region fleet needs a witness)",
            controllers.len()
        ));
    }
    Ok(controllers)
}

/// What is printed as seeds finish, and the seed kept for `--trace`.
struct Progress {
    seeds: u64,
    verbose: bool,
    want_trace: bool,
    done: u64,
    traced: Option<SeedResult>,
}

impl Progress {
    /// Seed `r` is done (seeds arrive in order).
    fn seed_done(&mut self, r: &SeedResult) {
        self.done += 1;
        let faults: u64 = r.faults.values().sum();
        if self.verbose || self.seeds <= 20 {
            println!(
                "  seed {}: {} fault(s), {} violation(s){}",
                r.seed,
                faults,
                r.invariants.violations.len(),
                r.aborted
                    .as_ref()
                    .map_or(String::new(), |a| format!(", aborted: {a}"))
            );
        } else {
            // A long run reports a violating seed as soon as it is done, so whoever watches
            // can start replaying it; the details (timeline, replay file) follow at the end.
            if !r.invariants.violations.is_empty() {
                let names: BTreeSet<&str> = r
                    .invariants
                    .violations
                    .iter()
                    .map(|v| v.invariant.as_str())
                    .collect();
                println!(
                    "  seed {}: violates {} (details at the end)",
                    r.seed,
                    names.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            if self.done.is_multiple_of(100) || self.done == self.seeds {
                println!("  {}/{} seeds", self.done, self.seeds);
            }
        }
        if self.want_trace {
            self.traced = Some(r.clone());
        }
    }
}

/// Speed, faults injected, invariant checks and exemptions, and invariants never checked.
fn print_totals(totals: &Totals, wall: f64) {
    println!(
        "\n{} seed(s), {} simulated in {wall:.1}s wall ({:.0} simulated seconds per wall second), {} controller passes",
        totals.seeds,
        Dur(totals.simulated_secs),
        totals.simulated_secs as f64 / wall.max(1e-9),
        totals.passes
    );
    let cost = &totals.cost;
    if let Some((bytes, key, seed)) = &cost.largest_item {
        println!("largest journal item: {bytes} bytes ({key}, seed {seed})");
    }
    println!(
        "Route 53: {} calls accepted, {} throttled; {} weight(s) written, {} data-plane switch flip(s)",
        cost.route53_calls, cost.route53_throttled, cost.weight_writes, cost.switch_flips
    );
    println!("faults injected:");
    for (k, v) in &totals.faults {
        println!("  {k:<28} {v}");
    }
    println!("invariant checks:");
    for (name, what) in INVARIANTS {
        let n = totals.invariants.checks.get(name).copied().unwrap_or(0);
        println!("  {name:<26} {n:>12}  {what}");
    }
    if !totals.invariants.exempted.is_empty() {
        println!("named exemptions applied:");
        for (k, v) in &totals.invariants.exempted {
            println!("  {k:<26} {v:>12}");
        }
    }
    let never: Vec<&str> = INVARIANTS
        .iter()
        .filter(|(n, _)| totals.invariants.checks.get(*n).copied().unwrap_or(0) == 0)
        .map(|(n, _)| *n)
        .collect();
    if !never.is_empty() {
        println!("warning: never checked in this run: {}", never.join(", "));
    }
}

/// Every failing seed: why, the events before each violation, and its reproduction file
/// (written into `out`).
fn print_failures(cfg: &Config, totals: &Totals, out: &Path) -> Result<()> {
    println!("violations: {} seed(s)", totals.failures.len());
    for r in &totals.failures {
        let path = simulate::write_reproduction(cfg, r, out)
            .with_context(|| format!("cannot write a reproduction into {}", out.display()))?;
        if let Some(a) = &r.aborted {
            println!("\nseed {}: aborted: {a}", r.seed);
        }
        for v in &r.invariants.violations {
            println!(
                "\nseed {}: {} violated at {}: {}",
                r.seed,
                v.invariant,
                clock(v.t),
                v.detail
            );
            for line in r.timeline_before(v, 12) {
                println!("    {line}");
            }
        }
        println!("  replay: regionctl gameday {}", path.display());
    }
    Ok(())
}
