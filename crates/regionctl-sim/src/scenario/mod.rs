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
//!
//! # Layout
//! - `format`: the file's types (what each field means), the JSON Schema;
//! - `load`: reading and parsing a file, errors located by line, column and field;
//! - `validate`: the checks the types cannot make, one function per part of the file.

mod format;
mod load;
mod validate;

pub use format::{
    API_VERSION, ExpectKind, Expectation, Forgery, Guardrails, OverrideKind, ReportSpec,
    RollbackStep, RollbackWhat, Scenario, ScenarioAlarmState, SimSpec, SteadyCheck, SteadyKind,
    TimelineEntry, Verdict, What, Where, WorldSpec, WrittenItem, scenario_schema,
};
pub use load::{Loaded, ScenarioError, load, parse, parse_skew, resolve_ref};
pub use validate::validate;
