//! The game-day file format (`chaos/*.yaml`), its JSON Schema, and loading with errors
//! that name the file, line, column and field.
//!
//! ```yaml
//! apiVersion: regionctl/v1
//! kind: GameDay
//! name: region-loss
//! description: …
//! world:
//!   policies: ../policies          # relative to this file
//!   duration: 45m
//!   seed: 42
//!   sim: {route53_pending: 30s, ecs_capacity_delay: 90s}
//! steady_state:
//!   - check: traffic-at-baseline
//! timeline:
//!   - {at: 5m, id: loss, what: endpoints-fail, where: {region: eu-central-1}}
//!   - {at: 20m, what: recover, faults: [loss]}
//! expect:
//!   - {kind: traffic, service: playback, region: eu-central-1, at_most: 0, within: 5m, after: loss}
//! rollback:
//!   - {what: recover, faults: [all]}
//! guardrails: {accounts: ["123456789012"], regions: [eu-central-1, eu-west-1, us-east-1]}
//! expected_verdict: pass
//! ```
//!
//! Loading is bounded like policy loading (the core's [`regionctl_core::policy::yaml`]
//! readers, built on `serde-saphyr` with budgets); typed errors are located through the
//! position tree. Semantic checks (unknown regions, services, cells or fault ids) run
//! against the policy bundle the scenario names.

use crate::duration::Dur;
use regionctl_core::health::AlarmState;
use regionctl_core::policy::Bundle;
use regionctl_core::policy::yaml::{self, FieldPath, Node};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The `apiVersion` this build reads.
pub const API_VERSION: &str = "regionctl/v1";

/// A game-day scenario.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Always `regionctl/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Always `GameDay`.
    pub kind: String,
    /// Short name (the default report directory is `reports/<name>/`).
    pub name: String,
    /// What the game-day shows, for people (and honestly what it does not).
    #[serde(default)]
    pub description: String,
    /// The world: policies, controllers, duration, seed, simulation knobs.
    pub world: WorldSpec,
    /// Checks that must hold just before the first fault; if one fails, the game-day
    /// aborts (no fault is injected) and the rollback runs.
    #[serde(default)]
    pub steady_state: Vec<SteadyCheck>,
    /// Faults and recoveries, in time order.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    /// What the control plane must do, and by when.
    #[serde(default)]
    pub expect: Vec<Expectation>,
    /// Steps that always run at the end, even after an abort.
    #[serde(default)]
    pub rollback: Vec<RollbackStep>,
    /// Where a real run may act (validated on every target).
    pub guardrails: Guardrails,
    /// The verdict this scenario expects (`fail` documents a known gap).
    #[serde(default)]
    pub expected_verdict: Verdict,
    /// Report settings.
    #[serde(default)]
    pub report: ReportSpec,
}

/// The world of a scenario.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    /// Policy directory, relative to the scenario file.
    pub policies: String,
    /// Controller regions (default: the ControllerConfig's `regions`).
    #[serde(default)]
    pub controllers: Option<Vec<String>>,
    /// Reconcile interval (default: the ControllerConfig's `tick_secs`).
    #[serde(default)]
    pub tick: Option<Dur>,
    /// How long the game-day runs (virtual time).
    pub duration: Dur,
    /// Seed of every random choice (overridden by `--seed`).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How the simulated AWS behaves.
    #[serde(default)]
    pub sim: SimSpec,
}

fn default_seed() -> u64 {
    1
}

/// Simulation knobs; unset ones take the defaults shown.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimSpec {
    /// Route 53 changes stay PENDING this long before answering uses them (30s).
    #[serde(default)]
    pub route53_pending: Option<Dur>,
    /// Up to this much more, at random (10s).
    #[serde(default)]
    pub route53_pending_jitter: Option<Dur>,
    /// Account-wide Route 53 API rate, requests per second (5).
    #[serde(default)]
    pub route53_rate_per_sec: Option<f64>,
    /// Route 53 token bucket size (20).
    #[serde(default)]
    pub route53_burst: Option<u32>,
    /// Attach Route 53 health checks on each region's endpoints to its records (false: as
    /// `regionctl provision` does today).
    #[serde(default)]
    pub route53_health_checks: Option<bool>,
    /// Endpoint failure time before a health check turns (30s).
    #[serde(default)]
    pub health_check_delay: Option<Dur>,
    /// New ECS tasks run after this long (90s).
    #[serde(default)]
    pub ecs_capacity_delay: Option<Dur>,
    /// Up to this much more, at random (30s).
    #[serde(default)]
    pub ecs_capacity_jitter: Option<Dur>,
    /// Journal replication lag between regional replicas, milliseconds (1500).
    #[serde(default)]
    pub journal_replication_lag_ms: Option<u64>,
    /// A region serving no traffic this long has INSUFFICIENT_DATA alarms (5m).
    #[serde(default)]
    pub alarm_idle_after: Option<Dur>,
}

/// `pass` or `fail`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every expectation met.
    #[default]
    Pass,
    /// At least one not met (or aborted).
    Fail,
}

impl Verdict {
    /// `PASS` / `FAIL`.
    pub fn upper(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
        }
    }
}

/// A steady-state check.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SteadyCheck {
    /// What to check.
    pub check: SteadyKind,
    /// Service (default: every service).
    #[serde(default)]
    pub service: Option<String>,
    /// Percentage points of slack for traffic checks (1).
    #[serde(default)]
    pub tolerance_percent: Option<f64>,
}

/// Steady-state check kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SteadyKind {
    /// Answered traffic matches the policies' baseline split in every cell.
    TrafficAtBaseline,
    /// Every controller sees every region that carries baseline traffic as healthy.
    Healthy,
    /// No decision has been recorded.
    NoDecisions,
    /// Every controller's last pass acted (none stood down).
    ControllersActing,
}

/// Fault and recovery kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum What {
    /// A region's endpoints fail probes and health checks (`where.region`, optional
    /// `where.services`).
    EndpointsFail,
    /// Same, by timing out (the simulation treats a timeout as a failure).
    EndpointsTimeout,
    /// Force alarms to `state` (`where.region`, optional `where.services`, `where.cells`);
    /// in the simulation the state holds until recovered.
    Alarm,
    /// Alarms flap between ALARM and OK every `period`.
    AlarmFlap,
    /// A region's AWS APIs are unreachable: calls from a controller there, and calls to
    /// its CloudWatch, ECS and ELB, fail (`where.region`).
    ApisUnreachable,
    /// A partition between two regions (`where.between`): journal replication between
    /// them stops and probes between them fail.
    Partition,
    /// A controller crashes (`where.region`); recovering it restarts it with no memory.
    ControllerCrash,
    /// A region's journal replica is unavailable (`where.region`).
    JournalUnavailable,
    /// Route 53's control plane (ChangeResourceRecordSets, List…) is unavailable; answering
    /// continues.
    Route53ControlPlaneDown,
    /// A controller's clock is off by `skew` (`where.region`; `-` for behind).
    ClockSkew,
    /// Only `fraction` of new ECS tasks in a region will start (`where.region`).
    CapacityShortfall,
    /// A new policy revision reaches the controllers one at a time: first the one in
    /// `where.region`, then the next in fleet order every `period` (default 60 s). Each
    /// then runs it; it changes no behaviour, only the bundle hash, so controllers on
    /// different revisions must not count each other toward quorum. Recovering it
    /// completes the rollout at once.
    PolicyRollout,
    /// Recover the faults named in `faults` (`all`: every fault in force).
    Recover,
}

impl What {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            What::EndpointsFail => "endpoints-fail",
            What::EndpointsTimeout => "endpoints-timeout",
            What::Alarm => "alarm",
            What::AlarmFlap => "alarm-flap",
            What::ApisUnreachable => "apis-unreachable",
            What::Partition => "partition",
            What::ControllerCrash => "controller-crash",
            What::JournalUnavailable => "journal-unavailable",
            What::Route53ControlPlaneDown => "route53-control-plane-down",
            What::ClockSkew => "clock-skew",
            What::CapacityShortfall => "capacity-shortfall",
            What::PolicyRollout => "policy-rollout",
            What::Recover => "recover",
        }
    }
}

/// Where a fault applies.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Where {
    /// Region.
    #[serde(default)]
    pub region: Option<String>,
    /// Two regions (partitions).
    #[serde(default)]
    pub between: Option<Vec<String>>,
    /// Services (default: all).
    #[serde(default)]
    pub services: Vec<String>,
    /// Cells (alarms only; default: region-wide alarms and every cell's).
    #[serde(default)]
    pub cells: Vec<String>,
}

/// An alarm state as scenarios write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ScenarioAlarmState {
    /// Breaching.
    #[serde(rename = "ALARM")]
    Alarm,
    /// Fine.
    #[serde(rename = "OK")]
    Ok,
    /// No data.
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl ScenarioAlarmState {
    /// The core's state.
    pub fn core(self) -> AlarmState {
        match self {
            ScenarioAlarmState::Alarm => AlarmState::Alarm,
            ScenarioAlarmState::Ok => AlarmState::Ok,
            ScenarioAlarmState::InsufficientData => AlarmState::InsufficientData,
        }
    }
}

/// One timeline entry.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    /// When, from the start of the game-day.
    pub at: Dur,
    /// Name, for `recover`, expectations' `after`/`until`, and reports.
    #[serde(default)]
    pub id: Option<String>,
    /// What happens.
    pub what: What,
    /// Where.
    #[serde(default, rename = "where")]
    pub place: Where,
    /// `alarm`: the state to force.
    #[serde(default)]
    pub state: Option<ScenarioAlarmState>,
    /// `alarm-flap`: time in each state.
    #[serde(default)]
    pub period: Option<Dur>,
    /// `clock-skew`: how far off, e.g. `90s` or `-2m`.
    #[serde(default)]
    pub skew: Option<String>,
    /// `capacity-shortfall`: fraction of new tasks that start (0–1).
    #[serde(default)]
    pub fraction: Option<f64>,
    /// `recover`: fault ids, or `all`.
    #[serde(default)]
    pub faults: Vec<String>,
    /// A note for the report.
    #[serde(default)]
    pub note: Option<String>,
}

/// Expectation kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectKind {
    /// Answered traffic share of `region` in the selected cells is within `at_most` /
    /// `at_least` percent: reached `within` a deadline after `after`, then held until
    /// `until`; without `within`, held from `after` to `until`.
    Traffic,
    /// Answered traffic of the selected cells (`cells`, minus `except_cells`) stays at the
    /// baseline split, ± `tolerance_percent`, for the whole game-day.
    TrafficSteady,
    /// `region`'s ECS desired count for `service` was raised before its Route 53 weight
    /// rose (after `after`).
    CapacityBeforeTraffic,
    /// The number of decisions recorded for `service` (every service if unset) is within
    /// `at_most` / `at_least`.
    Decisions,
    /// A decision for `service` whose reasons contain `reason_contains` exists (recorded
    /// `within` the deadline, if given; reaching `status`, if given).
    Decision,
    /// `region` is back at its baseline share in every cell `within` the deadline after
    /// `after`, in at least `min_stages` rising weight changes.
    Failback,
    /// The controller in `region` stood down (`stood_down: true`, the default) or never
    /// did (`false`), with a reason containing `reason_contains`.
    StandDown,
}

impl ExpectKind {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectKind::Traffic => "traffic",
            ExpectKind::TrafficSteady => "traffic-steady",
            ExpectKind::CapacityBeforeTraffic => "capacity-before-traffic",
            ExpectKind::Decisions => "decisions",
            ExpectKind::Decision => "decision",
            ExpectKind::Failback => "failback",
            ExpectKind::StandDown => "stand-down",
        }
    }
}

/// An expectation.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Name in reports (default: `kind#n`).
    #[serde(default)]
    pub id: Option<String>,
    /// What kind.
    pub kind: ExpectKind,
    /// Why it matters, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// Service.
    #[serde(default)]
    pub service: Option<String>,
    /// Region (a controller's region for `stand-down`).
    #[serde(default)]
    pub region: Option<String>,
    /// Cells (default: all of the service's).
    #[serde(default)]
    pub cells: Vec<String>,
    /// Cells left out.
    #[serde(default)]
    pub except_cells: Vec<String>,
    /// Upper bound (percent of answers, or a count for `decisions`).
    #[serde(default)]
    pub at_most: Option<f64>,
    /// Lower bound.
    #[serde(default)]
    pub at_least: Option<f64>,
    /// Deadline, counted from `after`.
    #[serde(default)]
    pub within: Option<Dur>,
    /// A timeline id (or a duration from the start); default: the first fault.
    #[serde(default)]
    pub after: Option<String>,
    /// A timeline id (or a duration from the start); default: the end.
    #[serde(default)]
    pub until: Option<String>,
    /// Slack for traffic checks, percentage points (default 1; 0 for `at_most: 0`).
    #[serde(default)]
    pub tolerance_percent: Option<f64>,
    /// `decision`/`stand-down`: text the reasons must contain.
    #[serde(default)]
    pub reason_contains: Option<String>,
    /// `decision`: an outcome status some pass reached (`applied`, `failed`, `waiting`,
    /// `awaiting-approval`, …).
    #[serde(default)]
    pub status: Option<String>,
    /// `failback`: fewest rising weight changes (stages).
    #[serde(default)]
    pub min_stages: Option<u32>,
    /// `stand-down`: whether it must have stood down (default true).
    #[serde(default)]
    pub stood_down: Option<bool>,
}

/// A rollback step.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackStep {
    /// `recover` (faults by id, or `all`) or `restart-controllers`.
    pub what: RollbackWhat,
    /// Fault ids, or `all`.
    #[serde(default)]
    pub faults: Vec<String>,
}

/// Rollback kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RollbackWhat {
    /// Recover faults.
    Recover,
    /// Restart every crashed controller.
    RestartControllers,
}

/// Where a real run may act.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guardrails {
    /// AWS account ids (12 digits) a real run may touch.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Regions a real run may touch; every region the scenario names must be here.
    pub regions: Vec<String>,
}

/// Report settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// Service charted in `traffic.svg` (default: the first expectation's service).
    #[serde(default)]
    pub chart_service: Option<String>,
}

/// The JSON Schema of scenario files (draft 2020-12).
pub fn scenario_schema() -> serde_json::Value {
    regionctl_core::policy::schema::canonical(
        serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or(serde_json::Value::Null),
    )
}

/// A problem with a scenario file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// File.
    pub file: String,
    /// 1-based line and column, if known.
    pub line: Option<(u32, u32)>,
    /// Field path (`timeline[2].where.region`), if any.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some((l, c)) => write!(f, "{}:{l}:{c}: ", self.file)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A parsed scenario with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The scenario.
    pub scenario: Scenario,
    /// Its file.
    pub path: PathBuf,
    /// The policy directory, resolved.
    pub policies: PathBuf,
    tree: Option<Node>,
    text: String,
}

impl Loaded {
    /// An error at `field` (a path like `timeline[2].where.region`).
    pub fn error(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        locate(&self.path, self.tree.as_ref(), field, message.into())
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn locate(path: &Path, tree: Option<&Node>, field: &str, message: String) -> ScenarioError {
    let line = tree.map(|t| {
        let (pos, _) = t.locate(&FieldPath::parse(field));
        (pos.line, pos.column)
    });
    ScenarioError {
        file: path.display().to_string(),
        line,
        field: field.to_string(),
        message,
    }
}

/// Reads and parses a scenario file (structure only; see [`validate`] for the rest).
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    let plain = |message: String| ScenarioError {
        file: path.display().to_string(),
        line: None,
        field: String::new(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| plain(format!("cannot read: {e}")))?;
    if meta.len() > yaml::MAX_FILE_BYTES as u64 {
        return Err(plain(format!(
            "{} bytes; scenario files are limited to {} bytes",
            meta.len(),
            yaml::MAX_FILE_BYTES
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| plain(format!("cannot read as UTF-8 text: {e}")))?;
    parse(path, &text)
}

/// Parses scenario text (`path` names it in errors and anchors `world.policies`).
pub fn parse(path: &Path, text: &str) -> Result<Loaded, ScenarioError> {
    let yaml_error = |e: yaml::YamlError| ScenarioError {
        file: path.display().to_string(),
        line: e.pos.map(|p| (p.line, p.column)),
        field: String::new(),
        message: format!("invalid YAML: {}", e.message),
    };
    let trees = yaml::parse_tree(text).map_err(yaml_error)?;
    let values = yaml::parse_values(text).map_err(yaml_error)?;
    let tree = trees.into_iter().next();
    let [value] = <[serde_json::Value; 1]>::try_from(values).map_err(|v| ScenarioError {
        file: path.display().to_string(),
        line: None,
        field: String::new(),
        message: format!("expected exactly one YAML document, found {}", v.len()),
    })?;
    let scenario: Scenario = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        locate(path, tree.as_ref(), &field, e.inner().to_string())
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let policies = base.join(&scenario.world.policies);
    let loaded = Loaded {
        scenario,
        path: path.to_path_buf(),
        policies,
        tree,
        text: text.to_string(),
    };
    if loaded.scenario.api_version != API_VERSION {
        return Err(loaded.error(
            "apiVersion",
            format!(
                "unsupported apiVersion `{}`; this build reads `{API_VERSION}`",
                loaded.scenario.api_version
            ),
        ));
    }
    if loaded.scenario.kind != "GameDay" {
        return Err(loaded.error(
            "kind",
            format!(
                "kind `{}` is not a game-day scenario; write `kind: GameDay`",
                loaded.scenario.kind
            ),
        ));
    }
    Ok(loaded)
}

/// Parses a `clock-skew` value: `90s`, `-2m`.
pub fn parse_skew(text: &str) -> Result<i64, String> {
    let (sign, rest) = match text.trim().strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, text.trim().trim_start_matches('+')),
    };
    let d = Dur::parse(rest)?;
    Ok(sign * i64::try_from(d.secs()).unwrap_or(i64::MAX) * 1000)
}

/// Resolves an `after`/`until` reference: a timeline id or a duration from the start.
pub fn resolve_ref(scenario: &Scenario, reference: &str) -> Option<u64> {
    scenario
        .timeline
        .iter()
        .find(|e| e.id.as_deref() == Some(reference))
        .map(|e| e.at.secs())
        .or_else(|| Dur::parse(reference).ok().map(Dur::secs))
}

/// Checks everything the types cannot: names against the bundle, ids, field combinations,
/// guardrails. Returns every problem found.
pub fn validate(loaded: &Loaded, bundle: &Bundle, controllers: &[String]) -> Vec<ScenarioError> {
    let s = &loaded.scenario;
    let mut errors = Vec::new();
    let mut err = |field: String, message: String| errors.push(loaded.error(&field, message));
    let known_region =
        |r: &str| bundle.regions.iter().any(|x| x == r) || controllers.iter().any(|x| x == r);
    let region_list = || {
        let mut all: Vec<String> = bundle.regions.clone();
        for c in controllers {
            if !all.contains(c) {
                all.push(c.clone());
            }
        }
        all.join(", ")
    };
    let service_list = || {
        bundle
            .services
            .iter()
            .map(|x| x.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if s.world.duration.secs() == 0 {
        err("world.duration".into(), "must be longer than 0s".into());
    }
    if s.world.tick.is_some_and(|t| t.secs() == 0) {
        err("world.tick".into(), "must be at least 1s".into());
    }
    if let Some(cs) = &s.world.controllers
        && cs.is_empty()
    {
        err(
            "world.controllers".into(),
            "name at least one controller region".into(),
        );
    }
    // Guardrails.
    let g = &s.guardrails;
    for (i, a) in g.accounts.iter().enumerate() {
        if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) {
            err(
                format!("guardrails.accounts[{i}]"),
                format!("`{a}` is not an AWS account id (12 digits)"),
            );
        }
    }
    if g.regions.is_empty() {
        err(
            "guardrails.regions".into(),
            "list the regions a real run may touch".into(),
        );
    }
    let allowed = |r: &str| g.regions.iter().any(|x| x == r);
    for (i, c) in controllers.iter().enumerate() {
        if !allowed(c) {
            err(
                if s.world.controllers.is_some() {
                    format!("world.controllers[{i}]")
                } else {
                    "guardrails.regions".into()
                },
                format!("controller region {c} is not in guardrails.regions"),
            );
        }
    }
    // Timeline.
    let ids: Vec<&str> = s.timeline.iter().filter_map(|e| e.id.as_deref()).collect();
    let mut last_at = 0;
    for (i, e) in s.timeline.iter().enumerate() {
        let f = |k: &str| format!("timeline[{i}].{k}");
        if e.at.secs() < last_at {
            err(
                f("at"),
                format!(
                    "timeline entries must be in time order ({} comes after {})",
                    e.at,
                    Dur(last_at)
                ),
            );
        }
        last_at = e.at.secs();
        if e.at.secs() > s.world.duration.secs() {
            err(
                f("at"),
                format!(
                    "{} is after the end of the game-day (world.duration {})",
                    e.at, s.world.duration
                ),
            );
        }
        if let Some(id) = &e.id {
            if ids.iter().filter(|x| **x == id).count() > 1 {
                err(f("id"), format!("id `{id}` is used more than once"));
            }
            if id == "all" {
                err(f("id"), "`all` is reserved (recover: [all])".into());
            }
        }
        let needs_region = matches!(
            e.what,
            What::EndpointsFail
                | What::EndpointsTimeout
                | What::Alarm
                | What::AlarmFlap
                | What::ApisUnreachable
                | What::ControllerCrash
                | What::JournalUnavailable
                | What::ClockSkew
                | What::CapacityShortfall
                | What::PolicyRollout
        );
        match &e.place.region {
            Some(r) if !known_region(r) => err(
                f("where.region"),
                format!("unknown region `{r}`; regions: {}", region_list()),
            ),
            Some(r) if !allowed(r) => err(
                f("where.region"),
                format!("region {r} is not in guardrails.regions"),
            ),
            None if needs_region => err(
                f("where"),
                format!("`{}` needs `where.region`", e.what.as_str()),
            ),
            _ => {}
        }
        if matches!(
            e.what,
            What::ControllerCrash
                | What::ClockSkew
                | What::JournalUnavailable
                | What::PolicyRollout
        ) && let Some(r) = &e.place.region
            && !controllers.contains(r)
        {
            err(
                f("where.region"),
                format!(
                    "no controller runs in {r}; controllers: {}",
                    controllers.join(", ")
                ),
            );
        }
        if e.what == What::Partition {
            match &e.place.between {
                Some(b) if b.len() == 2 && b[0] != b[1] => {
                    for (j, r) in b.iter().enumerate() {
                        if !known_region(r) {
                            err(
                                f(&format!("where.between[{j}]")),
                                format!("unknown region `{r}`; regions: {}", region_list()),
                            );
                        } else if !allowed(r) {
                            err(
                                f(&format!("where.between[{j}]")),
                                format!("region {r} is not in guardrails.regions"),
                            );
                        }
                    }
                }
                _ => err(
                    f("where"),
                    "`partition` needs `where.between: [REGION, REGION]` (two different regions)"
                        .into(),
                ),
            }
        }
        for (j, svc) in e.place.services.iter().enumerate() {
            if bundle.service_index(svc).is_none() {
                err(
                    f(&format!("where.services[{j}]")),
                    format!("unknown service `{svc}`; services: {}", service_list()),
                );
            }
        }
        if !e.place.cells.is_empty() {
            if e.what != What::Alarm && e.what != What::AlarmFlap {
                err(
                    f("where.cells"),
                    "cells apply to `alarm` and `alarm-flap` only".into(),
                );
            }
            for (j, cell) in e.place.cells.iter().enumerate() {
                let found = bundle
                    .services
                    .iter()
                    .filter(|x| e.place.services.is_empty() || e.place.services.contains(&x.name))
                    .any(|x| x.cells.iter().any(|c| &c.id == cell));
                if !found {
                    err(
                        f(&format!("where.cells[{j}]")),
                        format!("no service named here has a cell `{cell}`"),
                    );
                }
            }
        }
        match e.what {
            What::Alarm if e.state.is_none() => err(
                f("state"),
                "`alarm` needs `state: ALARM | OK | INSUFFICIENT_DATA`".into(),
            ),
            What::AlarmFlap if e.period.is_none_or(|p| p.secs() == 0) => {
                err(f("period"), "`alarm-flap` needs `period` (e.g. 30s)".into())
            }
            What::ClockSkew => match &e.skew {
                None => err(
                    f("skew"),
                    "`clock-skew` needs `skew` (e.g. `90s` or `-2m`)".into(),
                ),
                Some(k) => {
                    if let Err(m) = parse_skew(k) {
                        err(f("skew"), m);
                    }
                }
            },
            What::CapacityShortfall if e.fraction.is_none_or(|x| !(0.0..=1.0).contains(&x)) => {
                err(
                    f("fraction"),
                    "`capacity-shortfall` needs `fraction` between 0 and 1".into(),
                );
            }
            What::Recover => {
                if e.faults.is_empty() {
                    err(
                        f("faults"),
                        "`recover` needs `faults: [ID, …]` or `[all]`".into(),
                    );
                }
                for (j, id) in e.faults.iter().enumerate() {
                    let earlier = s.timeline[..i]
                        .iter()
                        .any(|x| x.id.as_deref() == Some(id.as_str()) && x.what != What::Recover);
                    if id != "all" && !earlier {
                        err(
                            f(&format!("faults[{j}]")),
                            format!("no earlier fault has id `{id}`"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    // Expectations.
    for (i, x) in s.expect.iter().enumerate() {
        let f = |k: &str| format!("expect[{i}].{k}");
        let service = match &x.service {
            Some(name) => match bundle.service_index(name) {
                Some(ix) => Some(&bundle.services[ix]),
                None => {
                    err(
                        f("service"),
                        format!("unknown service `{name}`; services: {}", service_list()),
                    );
                    None
                }
            },
            None => None,
        };
        let needs_service = !matches!(x.kind, ExpectKind::Decisions | ExpectKind::StandDown);
        if needs_service && x.service.is_none() {
            err(
                format!("expect[{i}]"),
                format!("`{}` needs `service`", x.kind.as_str()),
            );
        }
        let needs_region = matches!(
            x.kind,
            ExpectKind::Traffic
                | ExpectKind::CapacityBeforeTraffic
                | ExpectKind::Failback
                | ExpectKind::StandDown
        );
        match (&x.region, service) {
            (None, _) if needs_region => err(
                format!("expect[{i}]"),
                format!("`{}` needs `region`", x.kind.as_str()),
            ),
            (Some(r), Some(svc))
                if x.kind != ExpectKind::StandDown
                    && !svc.regions.iter().any(|sr| &sr.name == r) =>
            {
                err(
                    f("region"),
                    format!(
                        "service {} does not run in `{r}`; its regions: {}",
                        svc.name,
                        svc.regions
                            .iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            (Some(r), _) if x.kind == ExpectKind::StandDown && !controllers.contains(r) => {
                err(
                    f("region"),
                    format!(
                        "no controller runs in `{r}`; controllers: {}",
                        controllers.join(", ")
                    ),
                );
            }
            _ => {}
        }
        if let Some(svc) = service {
            for (key, cells) in [("cells", &x.cells), ("except_cells", &x.except_cells)] {
                for (j, cell) in cells.iter().enumerate() {
                    if !svc.cells.iter().any(|c| &c.id == cell) {
                        err(
                            f(&format!("{key}[{j}]")),
                            format!("service {} has no cell `{cell}`", svc.name),
                        );
                    }
                }
            }
        }
        for (key, r) in [("after", &x.after), ("until", &x.until)] {
            if let Some(r) = r
                && resolve_ref(s, r).is_none()
            {
                err(
                    f(key),
                    format!(
                        "`{r}` is neither a timeline id ({}) nor a duration",
                        if ids.is_empty() {
                            "none".to_string()
                        } else {
                            ids.join(", ")
                        }
                    ),
                );
            }
        }
        match x.kind {
            ExpectKind::Traffic if x.at_most.is_none() && x.at_least.is_none() => err(
                format!("expect[{i}]"),
                "`traffic` needs `at_most` or `at_least` (percent)".into(),
            ),
            ExpectKind::Decisions if x.at_most.is_none() && x.at_least.is_none() => err(
                format!("expect[{i}]"),
                "`decisions` needs `at_most` or `at_least` (a count)".into(),
            ),
            ExpectKind::Decision if x.reason_contains.is_none() && x.status.is_none() => {
                err(
                    format!("expect[{i}]"),
                    "`decision` needs `reason_contains` or `status`".into(),
                );
            }
            ExpectKind::Failback if x.within.is_none() => {
                err(format!("expect[{i}]"), "`failback` needs `within`".into())
            }
            _ => {}
        }
    }
    for (i, r) in s.rollback.iter().enumerate() {
        for (j, id) in r.faults.iter().enumerate() {
            if id != "all" && !ids.contains(&id.as_str()) {
                err(
                    format!("rollback[{i}].faults[{j}]"),
                    format!("no fault has id `{id}`"),
                );
            }
        }
        if r.what == RollbackWhat::Recover && r.faults.is_empty() {
            err(
                format!("rollback[{i}].faults"),
                "`recover` needs `faults: [ID, …]` or `[all]`".into(),
            );
        }
    }
    for (i, c) in s.steady_state.iter().enumerate() {
        if let Some(name) = &c.service
            && bundle.service_index(name).is_none()
        {
            err(
                format!("steady_state[{i}].service"),
                format!("unknown service `{name}`; services: {}", service_list()),
            );
        }
    }
    if let Some(name) = &s.report.chart_service
        && bundle.service_index(name).is_none()
    {
        err(
            "report.chart_service".into(),
            format!("unknown service `{name}`; services: {}", service_list()),
        );
    }
    errors
}
