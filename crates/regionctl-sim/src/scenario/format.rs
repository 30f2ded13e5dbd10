//! The game-day file's types: what each field means, with their defaults, and the JSON
//! Schema derived from them.

use crate::duration::Dur;
use regionctl_core::health::AlarmState;
use regionctl_core::policy::raw::SignalRole;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod edge;
pub use edge::{Forgery, WrittenItem};

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
    /// The share of alarm state change events (EventBridge → SQS) lost before each
    /// controller receives them, 0 to 1 (0). The controllers must still see every change
    /// within their alarm resync bound.
    #[serde(default)]
    pub alarm_event_loss: Option<f64>,
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
    /// The journal refuses the writes of some item kinds (`items`; default all four) from
    /// the controller in `where.region`, while the rest of the journal works: reads,
    /// other kinds' writes, other controllers (issue 17: nothing applied unrecorded).
    JournalWriteFail,
    /// A rogue writer with the journal's credentials writes `forgery` items into the
    /// replica of `where.region` every tick (a controller's region; `victim`: the
    /// controller whose items it overwrites, default the first other controller). It
    /// never writes decisions, controls or approvals. Recovering it stops the writes; what
    /// it wrote stays (as in DynamoDB) until its owner overwrites it or it expires.
    RogueWriter,
    /// Recover the faults named in `faults` (`all`: every fault in force).
    Recover,
    /// An operator pauses automation (`regionctl pause`; `note` is the reason): the
    /// controllers plan and record, and change nothing, until `resume`.
    Pause,
    /// An operator resumes automation (`regionctl resume`).
    Resume,
    /// An operator overrides (`regionctl override`): `action` (`drain` or `restore`) of
    /// `where.region`, for at most one service (`where.services`) and one cell
    /// (`where.cells`), for `duration` (default 30 minutes); `note` is the reason.
    Override,
    /// An operator approves (`regionctl approve`) the newest decision of the one service
    /// in `where.services` that awaits approval, in its current round.
    Approve,
}

/// What an `override` timeline entry does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OverrideKind {
    /// Keep the region drained, whatever its health says.
    Drain,
    /// Allow failback into the region now.
    Restore,
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
            What::JournalWriteFail => "journal-write-fail",
            What::RogueWriter => "rogue-writer",
            What::Recover => "recover",
            What::Pause => "pause",
            What::Resume => "resume",
            What::Override => "override",
            What::Approve => "approve",
        }
    }

    /// An operator's action, not a fault: nothing to recover, and it has no effect on
    /// the world but what it writes to the journal.
    pub fn is_operator_action(self) -> bool {
        matches!(
            self,
            What::Pause | What::Resume | What::Override | What::Approve
        )
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
    /// Alarms only: the roles of the alarms forced (default: `failure` and `critical`, the
    /// alarms an outage trips), e.g. `[shadow]` to trip a trial alarm on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<SignalRole>,
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
    /// `journal-write-fail`: the item kinds whose writes fail (default: all four).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<WrittenItem>,
    /// `rogue-writer`: what it forges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forgery: Option<Forgery>,
    /// `rogue-writer`: the controller whose items it forges (default: the first controller
    /// other than `where.region`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victim: Option<String>,
    /// `override`: drain or restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OverrideKind>,
    /// `override`: how long it holds (default 30 minutes, at most 24 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Dur>,
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
    /// `region`'s ECS desired count for `service` is within `at_least` / `at_most`
    /// (tasks): reached `within` a deadline after `after`, then held until `until`;
    /// without `within`, held from `after` to `until`.
    EcsDesired,
    /// The Lambda target group's share of `region`'s ALB listener for `service` is within
    /// `at_least` / `at_most` percent (± `tolerance_percent`, default 0): reached and held
    /// as for `ecs-desired`.
    LambdaShare,
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
            ExpectKind::EcsDesired => "ecs-desired",
            ExpectKind::LambdaShare => "lambda-share",
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
    /// Upper bound (percent of answers or of a listener's weights, or a count for
    /// `decisions` and `ecs-desired`).
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
