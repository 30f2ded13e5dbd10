//! The regionctl controller, over ports.
//!
//! One reconcile pass ([`reconcile::reconcile_once`]) reads the world through small port
//! traits ([`ports`]), runs the pure core (evaluate, plan, guard), applies the plan in
//! dependency order (capacity before traffic), verifies it, and records intent and outcome
//! in the journal ([`journal`]). Nothing here knows about AWS or tokio: the AWS adapters and
//! the simulated world both implement the ports, so the daemon, `run --once`, game-days and
//! the simulator run this very code.
//!
//! # Layout
//! - [`ports`]: the traits and the domain types they speak.
//! - [`journal`]: journal item kinds, keys and records (decisions, heartbeats, observations).
//! - [`leader`]: who makes discretionary moves (failback, rebalancing).
//! - [`memory`]: what a controller carries between passes (health view, Route 53 zone copies).
//! - [`observe`]: alarms, probes and peers' digests → core observations.
//! - [`reconcile`]: the pass itself, with its report.
//! - [`apply`]: executing plan steps through the ports.
//! - [`policy_files`]: reading a policy directory from disk, bounded (every command's reader).

pub mod apply;
pub mod journal;
pub mod leader;
pub mod memory;
pub mod observe;
pub mod policy_files;
pub mod ports;
pub mod reconcile;
pub mod switches;
