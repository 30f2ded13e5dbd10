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
//! - [`admit`]: what a controller believes of what it reads from the journal (writer is the
//!   key, time bounded, malformed items skipped and reported, controls read cautiously).
//! - [`status`]: the states records carry (step, outcome, controller), as enums.
//! - [`reconcile`]: the pass itself, a table of contents of the stages below.
//! - [`fleet`]: the pure fleet step (quorum, stand-down, leader, this pass's heartbeat);
//!   [`coordinate`] runs it between journal reads and writes.
//! - [`leader`]: who makes discretionary moves (failback, rebalancing), and where to.
//! - [`dispute`]: regions an acting peer sees failing gain no traffic from this controller.
//! - [`observe`]: alarms, probes and peers' digests → core observations.
//! - [`live`]: the live state (Route 53, ECS, ALB, switches), with zone copies re-read.
//! - [`memory`]: what a controller carries between passes (health view, Route 53 zone copies,
//!   [`pending`] journal writes).
//! - [`pending`]: outcomes and last moves the journal refused, retried every pass.
//! - [`planning`]: controls, cooldowns and the plan, made again after re-reads.
//! - [`episode`]: a service's incidents and the start the fleet agrees on for each (part of
//!   decision ids, so an approval belongs to one incident).
//! - [`approval`]: approvals of `propose` decisions, in rounds.
//! - [`decide`]: per service, intent → approval → apply → outcome; [`record`] builds the
//!   decision record and its id.
//! - [`hold`]: a hold (fail static, too few healthy regions) recorded as a `held` decision,
//!   once per incident.
//! - [`apply`]: executing plan steps through the ports.
//! - [`switches`]: reading and keeping up the data-plane switches.
//! - [`report`]: what a pass did.
//! - [`trace`]: the spans a pass opens (phases, decisions, steps) for the daemon's logs and
//!   metrics.
//! - [`policy_files`]: reading a policy directory from disk, bounded (every command's reader).

pub mod admit;
pub mod alarm_view;
pub mod apply;
pub mod approval;
pub mod capacity;
pub mod coordinate;
pub mod decide;
pub mod dispute;
pub mod episode;
pub mod fleet;
pub mod hold;
pub mod journal;
pub mod leader;
pub mod live;
pub mod memory;
pub mod observe;
pub mod pace;
pub mod pending;
pub mod planning;
pub mod policy_files;
pub mod ports;
pub mod probes;
pub mod reconcile;
pub mod record;
pub mod report;
pub mod status;
pub mod switches;
pub mod trace;

#[cfg(test)]
mod fake;
