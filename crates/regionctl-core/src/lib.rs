//! The pure decision core of regionctl.
//!
//! Nothing in this crate does I/O, reads a clock or spawns a task: time is an argument
//! ([`time::Timestamp`]), files arrive as text, and every function returns plain values. The
//! daemon, `regionctl plan`, policy tests, game-days and the simulator all call these same
//! functions, so they cannot drift apart. `clippy.toml` in this crate bans the clock and
//! filesystem calls.
//!
//! # Layout
//! - [`time`]: timestamps as plain values.
//! - [`grid`]: [`grid::Grid`], the table of a service's cells (or switch slots) by its
//!   regions that every per-(cell, region) value is kept in.
//! - [`policy`]: the YAML format ([`policy::raw`], one module per part of a document),
//!   bounded loading with positions ([`policy::yaml`]), compiler-style diagnostics,
//!   validation into an indexed [`policy::Bundle`] (bundle-wide checks in `validate`, each
//!   service compiled stage by stage in `compile`).
//! - [`health`]: observations → debounced, quorum-confirmed health view (one evaluation step
//!   in `health::evaluation`).
//! - [`live`]: what the world looks like now (weights, capacity, balancer splits).
//! - [`controls`]: pause and time-boxed overrides.
//! - [`plan`]: health view + live state → a dependency-ordered plan of steps with reasons
//!   (each service planned by a chain of stages in `plan::service`).
//! - [`guard`]: the safety rules, checked over the state a plan produces.
//! - [`traffic`]: the traffic split implied by a set of weights.
//! - [`testing`]: policy unit tests (`regionctl test`).

pub mod controls;
pub mod grid;
pub mod guard;
pub mod health;
pub mod live;
pub mod plan;
#[cfg(feature = "planted-bugs")]
pub mod planted;
pub mod policy;
pub mod signal_scenario;
pub mod switch;
pub mod testing;
pub mod time;
pub mod traffic;
