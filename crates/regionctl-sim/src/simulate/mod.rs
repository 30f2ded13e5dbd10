//! `regionctl simulate`: many seeded fault schedules over the simulated world, each run
//! through the game-day engine with the safety invariants ([`crate::invariants`]) checked
//! after every simulated second.
//!
//! A seed is turned into a game-day [`Scenario`](crate::scenario::Scenario)
//! ([`schedule::generate`]), written as YAML, parsed back exactly as `regionctl gameday`
//! would parse a file, validated, and run. So the reproduction file of a violation is that
//! very text: replaying it with `regionctl gameday` runs the same schedule on the same seed.
//!
//! Runs are independent, so seeds are spread over threads; results are merged in seed
//! order, and nothing depends on which thread ran what: totals and traces are identical
//! for any thread count.

pub mod schedule;

use crate::engine::{self, Event, Options};
use crate::invariants::{Summary, Violation};
use crate::scenario;
use crate::world::{Effect, EffectKind};
use regionctl_core::policy::{Bundle, SourceFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// How to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    /// The policy directory (as given; written into reproduction files relative to them).
    pub policies: PathBuf,
    /// Controller regions.
    pub controllers: Vec<String>,
    /// First seed.
    pub from: u64,
    /// Number of seeds.
    pub seeds: u64,
    /// Simulated time per seed, seconds.
    pub duration_secs: u64,
    /// Worker threads (1 or more).
    pub threads: usize,
}

/// One seed's result.
#[derive(Debug, Clone)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Seconds simulated.
    pub ran_secs: u64,
    /// Why the run aborted (steady state not reached), if it did: counted as a failure.
    pub aborted: Option<String>,
    /// Faults injected by kind.
    pub faults: BTreeMap<String, u64>,
    /// The invariants.
    pub invariants: Summary,
    /// The scenario text (YAML) that was run.
    pub scenario_yaml: String,
    /// The full event timeline.
    pub events: Vec<Event>,
    /// Controller passes run.
    pub passes: u64,
    /// What the seed cost the simulated AWS.
    pub cost: Cost,
}

/// What a run cost the simulated AWS where size shows first: the journal's largest item
/// (DynamoDB's 400 KB limit, the heartbeat's budget), Route 53's token bucket, and how many
/// weights were written at all (at fleet size, evacuations may be the data-plane
/// switches' alone).
#[derive(Debug, Clone, Default)]
pub struct Cost {
    /// The largest journal item written: bytes, `pk / sk`, and the seed that wrote it.
    pub largest_item: Option<(u64, String, u64)>,
    /// Route 53 calls accepted.
    pub route53_calls: u64,
    /// Route 53 calls throttled.
    pub route53_throttled: u64,
    /// Route 53 weights changed (records written with a new weight).
    pub weight_writes: u64,
    /// Data-plane switches flipped.
    pub switch_flips: u64,
}

impl Cost {
    /// Adds another run's cost (the larger of the two largest items).
    fn absorb(&mut self, other: &Cost) {
        if other.largest_item.as_ref().map(|i| i.0) > self.largest_item.as_ref().map(|i| i.0) {
            self.largest_item.clone_from(&other.largest_item);
        }
        self.route53_calls += other.route53_calls;
        self.route53_throttled += other.route53_throttled;
        self.weight_writes += other.weight_writes;
        self.switch_flips += other.switch_flips;
    }
}

impl SeedResult {
    /// True when something went wrong (a violation, or no fault could be injected).
    pub fn failed(&self) -> bool {
        self.aborted.is_some() || !self.invariants.violations.is_empty()
    }

    /// The events that led to `v`: faults, recoveries, decisions, stand-downs and alerts up
    /// to the violation, the last `n` of them.
    pub fn timeline_before(&self, v: &Violation, n: usize) -> Vec<String> {
        let relevant: Vec<&Event> = self
            .events
            .iter()
            .filter(|e| {
                e.t <= v.t
                    && matches!(
                        e.kind.as_str(),
                        "fault" | "recover" | "decision" | "status" | "stand-down" | "alert"
                    )
            })
            .collect();
        let skip = relevant.len().saturating_sub(n);
        relevant[skip..]
            .iter()
            .map(|e| crate::report::event_line(e))
            .collect()
    }

    /// The full trace: one JSON line per event, then the invariants' summary. Byte-identical
    /// for the same seed, policies and duration.
    pub fn trace(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
        // A struct, not `json!`: a `json!` object's key order depends on whether some crate
        // in the build turned on serde_json's `preserve_order` (the AWS SDK's HTTP client
        // does, in test builds), and the trace must not depend on what was built with it.
        // The fields are in the order `json!` used to sort them into.
        #[derive(serde::Serialize)]
        struct Totals<'a> {
            aborted: &'a Option<String>,
            faults: &'a BTreeMap<String, u64>,
            invariants: &'a Summary,
            passes: u64,
            ran_secs: u64,
            seed: u64,
        }
        let totals = Totals {
            aborted: &self.aborted,
            faults: &self.faults,
            invariants: &self.invariants,
            passes: self.passes,
            ran_secs: self.ran_secs,
            seed: self.seed,
        };
        out.push_str(&serde_json::to_string(&totals).unwrap_or_default());
        out.push('\n');
        out
    }
}

/// Totals over every seed.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Seeds run.
    pub seeds: u64,
    /// Seconds simulated.
    pub simulated_secs: u64,
    /// Controller passes.
    pub passes: u64,
    /// Faults injected by kind.
    pub faults: BTreeMap<String, u64>,
    /// Invariant checks and exemptions (violations listed per seed in `failures`).
    pub invariants: Summary,
    /// Seeds with a violation or an abort, in seed order.
    pub failures: Vec<SeedResult>,
    /// What the seeds cost the simulated AWS.
    pub cost: Cost,
}

/// Why a simulation could not start.
#[derive(Debug)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

/// Loads the policy bundle of `dir`.
pub fn load_bundle(dir: &Path) -> Result<Bundle, SetupError> {
    let files = regionctl_controller::policy_files::read(&[dir])
        .map_err(|e| SetupError(format!("cannot read policies: {}", e.with_cause())))?;
    if files.is_empty() {
        return Err(SetupError(format!(
            "{}: no policy files (*.yaml, *.yml)",
            dir.display()
        )));
    }
    load_files(&files, &dir.display().to_string())
}

/// Loads a bundle from files in memory (a generated fleet) as [`load_bundle`] loads a
/// directory's; `what` names them in the error.
pub fn load_files(files: &[SourceFile], what: &str) -> Result<Bundle, SetupError> {
    regionctl_core::policy::load(files).map_err(|diags| {
        let text: String = diags
            .iter()
            .filter(|d| d.is_error())
            .map(ToString::to_string)
            .collect();
        SetupError(format!("the policy bundle {what} is invalid:\n{text}"))
    })
}

/// Where a scenario for seed `seed` lives when it is run in memory (it anchors the policy
/// path; nothing is written there).
fn virtual_path(policies: &Path, seed: u64) -> PathBuf {
    policies
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("simulate-seed-{seed}.yaml"))
}

/// Runs one seed. `policies_ref` is the policy path as the scenario text names it,
/// relative to `anchor` (the scenario's own path).
pub fn run_seed(cfg: &Config, bundle: &Bundle, seed: u64) -> Result<SeedResult, SetupError> {
    let anchor = virtual_path(&cfg.policies, seed);
    let policies_ref = cfg.policies.file_name().map_or_else(
        || cfg.policies.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    run_scenario_text(cfg, bundle, seed, &anchor, &policies_ref)
}

fn run_scenario_text(
    cfg: &Config,
    bundle: &Bundle,
    seed: u64,
    anchor: &Path,
    policies_ref: &str,
) -> Result<SeedResult, SetupError> {
    let (generated, faults) = schedule::generate(
        seed,
        bundle,
        &cfg.controllers,
        cfg.duration_secs,
        policies_ref,
    );
    let text = schedule::to_yaml(&generated);
    let loaded = scenario::parse(anchor, &text)
        .map_err(|e| SetupError(format!("seed {seed}: generated scenario unreadable: {e}")))?;
    let errors = scenario::validate(&loaded, bundle, &cfg.controllers);
    if let Some(e) = errors.first() {
        return Err(SetupError(format!(
            "seed {seed}: generated scenario invalid: {e}"
        )));
    }
    let run = engine::run(
        loaded,
        bundle.clone(),
        cfg.controllers.clone(),
        &Options { seed: None },
        &mut |_| {},
    );
    let stats = &run.world.stats;
    let cost = Cost {
        largest_item: stats
            .largest_item
            .as_ref()
            .map(|(bytes, key)| (*bytes, key.clone(), seed)),
        route53_calls: stats.route53_calls,
        route53_throttled: stats.route53_throttled,
        weight_writes: count_effects(&run.world.effects, |k| {
            matches!(k, EffectKind::Weight { .. })
        }),
        switch_flips: count_effects(&run.world.effects, |k| {
            matches!(k, EffectKind::Switch { .. })
        }),
    };
    // A fault counts as injected only if the run got to it.
    let injected = if run.aborted.is_some() {
        BTreeMap::new()
    } else {
        faults
    };
    Ok(SeedResult {
        seed,
        ran_secs: run.ran_secs,
        aborted: run.aborted.clone(),
        faults: injected,
        invariants: run.invariants.clone(),
        scenario_yaml: text,
        events: run.events,
        passes: run.passes,
        cost,
    })
}

/// How many of `effects` are of a kind `is` accepts.
fn count_effects(effects: &[Effect], is: impl Fn(&EffectKind) -> bool) -> u64 {
    effects.iter().filter(|e| is(&e.what)).count() as u64
}

/// Runs every seed of `cfg`; `progress` sees each result in seed order as soon as it and
/// every earlier seed are done.
pub fn run_all(
    cfg: &Config,
    bundle: &Bundle,
    progress: &mut (dyn FnMut(&SeedResult) + Send),
) -> Result<Totals, SetupError> {
    let next = AtomicU64::new(0);
    let n = cfg.seeds;
    let slots: Mutex<BTreeMap<u64, Result<SeedResult, SetupError>>> = Mutex::new(BTreeMap::new());
    let totals = Mutex::new(Totals::default());
    let emitted = Mutex::new((0u64, progress));
    let merge =
        |slots: &mut BTreeMap<u64, Result<SeedResult, SetupError>>| -> Result<(), SetupError> {
            let mut guard = emitted
                .lock()
                .map_err(|_| SetupError("a worker panicked".into()))?;
            let (done, progress) = &mut *guard;
            while let Some(r) = slots.remove(done) {
                let r = r?;
                progress(&r);
                let mut t = totals
                    .lock()
                    .map_err(|_| SetupError("a worker panicked".into()))?;
                t.seeds += 1;
                t.simulated_secs += r.ran_secs;
                t.passes += r.passes;
                t.cost.absorb(&r.cost);
                for (k, v) in &r.faults {
                    *t.faults.entry(k.clone()).or_default() += v;
                }
                let mut counts = r.invariants.clone();
                counts.violations.clear();
                t.invariants.absorb(&counts);
                if r.failed() {
                    t.invariants
                        .violations
                        .extend(r.invariants.violations.iter().cloned());
                    t.failures.push(r);
                }
                *done += 1;
            }
            Ok(())
        };
    let error: Mutex<Option<SetupError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..cfg.threads.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let result = run_seed(cfg, bundle, cfg.from + i);
                    let failed = result.is_err();
                    let merged = match slots.lock() {
                        Ok(mut s) => {
                            s.insert(i, result);
                            merge(&mut s)
                        }
                        Err(_) => Err(SetupError("a worker panicked".into())),
                    };
                    if let Err(e) = merged {
                        if let Ok(mut slot) = error.lock() {
                            slot.get_or_insert(e);
                        }
                        next.store(n, Ordering::SeqCst);
                        break;
                    }
                    if failed {
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().ok().flatten() {
        return Err(e);
    }
    totals
        .into_inner()
        .map_err(|_| SetupError("a worker panicked".into()))
}

/// Writes the reproduction scenario of a failed seed into `out` (created), with its policy
/// path relative to that directory. Returns the file's path.
pub fn write_reproduction(
    cfg: &Config,
    result: &SeedResult,
    out: &Path,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    let path = out.join(format!("seed-{}.yaml", result.seed));
    let policies = relative(&absolute(out)?, &absolute(&cfg.policies)?);
    let marker = format!("policies: {}", yaml_string(&policies_ref_of(cfg)));
    let text =
        result
            .scenario_yaml
            .replacen(&marker, &format!("policies: {}", yaml_string(&policies)), 1);
    let mut header = format!(
        "# Reproduces `regionctl simulate` seed {}: replay with `regionctl gameday {}`.\n",
        result.seed,
        path.display()
    );
    for v in &result.invariants.violations {
        header.push_str(&format!(
            "# violated {} at {}s: {}\n",
            v.invariant, v.t, v.detail
        ));
    }
    if let Some(a) = &result.aborted {
        header.push_str(&format!("# aborted: {a}\n"));
    }
    std::fs::write(&path, format!("{header}{text}"))?;
    Ok(path)
}

fn policies_ref_of(cfg: &Config) -> String {
    cfg.policies.file_name().map_or_else(
        || cfg.policies.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn absolute(p: &Path) -> std::io::Result<PathBuf> {
    if p.exists() {
        p.canonicalize()
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

/// `to` relative to directory `from` (both absolute).
fn relative(from: &Path, to: &Path) -> String {
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    out.display().to_string()
}
