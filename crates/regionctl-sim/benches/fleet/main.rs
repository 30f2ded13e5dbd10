//! Fleet-scale benchmark (issue 18): the controllers' passes at 1,000 services × 30 cells ×
//! 5 regions on the simulated world, held against AWS's per-account quotas and DynamoDB's
//! item limit.
//!
//! Method: the generated bundle (`FleetShape`, the shape of the core's
//! `evaluate_plan` benchmark) with `--controllers` of its regions running a controller, is
//! played twice as a game-day on the simulated world, the same seed both times: steady
//! state for `--fail-at` minutes, then the same run on until `--minutes` with every
//! endpoint and alarm of the first region failing at `--fail-at`. The world counts every
//! AWS call as the real adapters make them (every page one call; `world/ports.rs`), the
//! journal's bytes and largest item; the steady run's counts are the steady state, the
//! difference of the two the region loss. Wall time covers the controllers' passes and the
//! simulated world around them; resident memory is the process's peak (`VmHWM`).
//!
//! Usage: `cargo bench -p regionctl-sim --bench fleet -- [--services N] [--cells N]
//! [--regions N] [--controllers N] [--minutes N] [--fail-at N] [--json PATH] [--keep DIR]`
//! (`scripts/bench-fleet.sh` runs the documented size).

mod quotas;

use regionctl_sim::engine::{self, Options, Run};
use regionctl_sim::generate::{FleetShape, REGIONS};
use regionctl_sim::policy_yaml::ControllerYaml;
use regionctl_sim::world::EffectKind;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

/// What one invocation measures.
struct Args {
    shape: FleetShape,
    controllers: usize,
    minutes: u64,
    fail_at: u64,
    json: Option<String>,
    /// Write the bundle and scenarios here and keep them (to replay one with `regionctl
    /// gameday`), instead of a temporary directory.
    keep: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        shape: FleetShape::BENCH,
        controllers: 3,
        minutes: 15,
        fail_at: 5,
        json: None,
        keep: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--bench" {
            continue;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--services" => args.shape.services = number()?,
            "--cells" => args.shape.cells = number()?,
            "--regions" => args.shape.regions = number()?,
            "--controllers" => args.controllers = number()?,
            "--minutes" => args.minutes = number()? as u64,
            "--fail-at" => args.fail_at = number()? as u64,
            "--json" => args.json = Some(value),
            "--keep" => args.keep = Some(value),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if args.controllers == 0 || args.controllers > args.shape.regions {
        return Err("--controllers: 1 to --regions".into());
    }
    if args.shape.regions > REGIONS.len() || args.fail_at == 0 || args.fail_at >= args.minutes {
        return Err(format!(
            "--regions at most {}; 0 < --fail-at < --minutes",
            REGIONS.len()
        ));
    }
    Ok(args)
}

/// Writes the bundle and the two scenarios under `dir`; returns the scenarios' paths.
fn write_world(dir: &Path, args: &Args) -> std::io::Result<(String, String)> {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies)?;
    for (path, text) in args.shape.files() {
        let name = path.rsplit('/').next().unwrap_or(&path).to_string();
        if name != "controller.yaml" {
            std::fs::write(policies.join(name), text)?;
        }
    }
    let regions: Vec<&str> = REGIONS[..args.controllers].iter().map(|r| r.0).collect();
    let mut controller = ControllerYaml::new(&regions);
    controller.name = "bench-fleet".into();
    std::fs::write(policies.join("controller.yaml"), controller.to_yaml())?;
    let lost = REGIONS[0].0;
    let all: Vec<&str> = REGIONS[..args.shape.regions].iter().map(|r| r.0).collect();
    let scenario = |name: &str, minutes: u64, timeline: &str, expect: &str| {
        format!(
            "apiVersion: regionctl/v1\nkind: GameDay\nname: {name}\n\
             description: fleet benchmark ({name})\n\
             world:\n  policies: {}\n  duration: {minutes}m\n  seed: 18\n\
             steady_state:\n  - check: controllers-acting\n\
             timeline:{timeline}\nexpect:\n{expect}\
             rollback:\n  - what: recover\n    faults: [all]\n\
             guardrails:\n  accounts: [\"123456789012\"]\n  regions: [{}]\n",
            policies.display(),
            all.join(", ")
        )
    };
    let loss = format!(
        "\n  - at: {at}m\n    id: endpoints\n    what: endpoints-fail\n    where: {{region: {lost}}}\n\
         \x20 - at: {at}m\n    id: alarms\n    what: alarm\n    where: {{region: {lost}}}\n    state: ALARM\n",
        at = args.fail_at
    );
    let quiet = "  - id: quiet\n    kind: decisions\n    service: svc0000\n    at_most: 0\n";
    let moved = format!(
        "  - id: evacuated\n    kind: decision\n    service: svc0000\n    reason_contains: \"{lost} is down\"\n    after: endpoints\n    within: 5m\n"
    );
    let steady_path = dir.join("steady.yaml");
    let loss_path = dir.join("loss.yaml");
    std::fs::write(&steady_path, scenario("steady", args.fail_at, " []", quiet))?;
    std::fs::write(
        &loss_path,
        scenario("region-loss", args.minutes, &loss, &moved),
    )?;
    Ok((
        steady_path.display().to_string(),
        loss_path.display().to_string(),
    ))
}

/// A played scenario and what it cost to play.
struct Played {
    run: Run,
    wall_secs: f64,
}

fn play(path: &str) -> Result<Played, String> {
    let (loaded, bundle, controllers) = engine::prepare(Path::new(path)).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let started = Instant::now();
    let run = engine::run(
        loaded,
        bundle,
        controllers,
        &Options::default(),
        &mut |_| {},
    );
    Ok(Played {
        run,
        wall_secs: started.elapsed().as_secs_f64(),
    })
}

/// Seconds from `from` (seconds into the run) to the first corrective write after it: a
/// weight, scale or switch effect.
fn first_corrective(run: &Run, from: u64) -> Option<u64> {
    run.world
        .effects
        .iter()
        .filter(|e| {
            matches!(
                e.what,
                EffectKind::Weight { .. } | EffectKind::Scale { .. } | EffectKind::Switch { .. }
            )
        })
        .map(|e| run.t_of(e.at))
        .find(|t| *t >= from)
        .map(|t| t - from)
}

/// How far the evacuation of `lost` got: zones whose records in `lost` are all at 0 at the
/// end, when each got there, and which controllers wrote each zone after the failure (at
/// `from`, simulated seconds).
fn evacuation(run: &Run, from: u64, lost: &str) -> quotas::Evacuation {
    let suffix = format!("-{lost}");
    let evacuated: BTreeSet<&str> = run
        .world
        .zones
        .iter()
        .filter(|(_, z)| {
            z.records
                .values()
                .filter(|r| r.current.set_identifier.ends_with(&suffix))
                .all(|r| r.current.weight == 0)
        })
        .map(|(id, _)| id.as_str())
        .collect();
    // Per zone: the last weight written after the failure, and who wrote it.
    let mut last_write: BTreeMap<&str, u64> = BTreeMap::new();
    let mut writers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &run.world.effects {
        let EffectKind::Weight { zone, .. } = &e.what else {
            continue;
        };
        let t = run.t_of(e.at);
        if t < from {
            continue;
        }
        let last = last_write.entry(zone.as_str()).or_default();
        *last = (*last).max(t - from);
        writers
            .entry(zone.as_str())
            .or_default()
            .insert(e.by.as_str());
    }
    let mut done_at: Vec<u64> = evacuated
        .iter()
        .filter_map(|z| last_write.get(z).copied())
        .collect();
    done_at.sort_unstable();
    let mut zones_by_writer: BTreeMap<String, usize> = BTreeMap::new();
    for by in writers.values().flatten() {
        *zones_by_writer.entry((*by).to_string()).or_default() += 1;
    }
    quotas::Evacuation {
        zones: run.world.zones.len(),
        evacuated: evacuated.len(),
        done_at,
        zones_by_writer,
        written_twice: writers.values().filter(|w| w.len() > 1).count(),
    }
}

/// The peak resident memory of this process, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Calls of the loss run beyond the steady run's, by key.
fn difference(loss: &Run, steady: &Run) -> BTreeMap<String, u64> {
    loss.world
        .stats
        .calls
        .iter()
        .map(|(k, n)| {
            let before = steady.world.stats.calls.get(k).copied().unwrap_or(0);
            (k.clone(), n.saturating_sub(before))
        })
        .collect()
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fleet bench: {e}");
            std::process::exit(2);
        }
    };
    let dir = args.keep.as_ref().map_or_else(
        || std::env::temp_dir().join(format!("regionctl-fleet-bench-{}", std::process::id())),
        std::path::PathBuf::from,
    );
    let result = write_world(&dir, &args)
        .map_err(|e| format!("writing {}: {e}", dir.display()))
        .and_then(|(steady, loss)| Ok((play(&steady)?, play(&loss)?)));
    if args.keep.is_none() {
        // A leftover temporary directory is harmless.
        std::fs::remove_dir_all(&dir).ok();
    }
    let (steady, loss) = match result {
        Ok(runs) => runs,
        Err(e) => {
            eprintln!("fleet bench: {e}");
            std::process::exit(1);
        }
    };
    let figures = quotas::Figures {
        shape: args.shape,
        controllers: args.controllers,
        steady_secs: steady.run.ran_secs,
        loss_secs: loss.run.ran_secs.saturating_sub(steady.run.ran_secs),
        steady_passes: steady.run.passes,
        loss_passes: loss.run.passes.saturating_sub(steady.run.passes),
        steady_calls: steady.run.world.stats.calls.clone(),
        loss_calls: difference(&loss.run, &steady.run),
        steady_wall_secs: steady.wall_secs,
        loss_wall_secs: loss.wall_secs,
        journal_bytes: loss.run.world.stats.journal_bytes,
        journal_write_units: loss.run.world.stats.journal_write_units,
        largest_item: loss.run.world.stats.largest_item.clone(),
        failed_calls: loss.run.world.stats.failed_calls,
        first_corrective_secs: first_corrective(&loss.run, args.fail_at * 60),
        evacuation: evacuation(&loss.run, args.fail_at * 60, REGIONS[0].0),
        tick_secs: loss.run.tick,
        peak_rss_mib: peak_rss_mib(),
    };
    print!("{}", figures.table());
    if let Some(path) = &args.json
        && let Err(e) = std::fs::write(path, figures.json())
    {
        eprintln!("fleet bench: writing {path}: {e}");
        std::process::exit(1);
    }
}
