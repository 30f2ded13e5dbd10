//! The simulated AWS world and game-days for regionctl.
//!
//! The controller's logic is a step function over ports
//! ([`regionctl_controller::ports`]). This crate implements every port in process, over one
//! [`world::World`] with a **virtual clock**, so the real
//! [`regionctl_controller::reconcile::reconcile_once`] runs unchanged, many controllers at
//! once, a 30-minute incident in a second of wall time, the same way for the same seed.
//!
//! # Layout
//! - [`world`]: the simulated AWS services (Route 53 with PENDING changes, health checks and
//!   its answering rules, a token bucket; CloudWatch alarms; ECS capacity that arrives late;
//!   ALB weights; a journal with regional replicas, replication lag and last-writer-wins;
//!   EventBridge; endpoints) and the faults it can suffer, plus
//!   [`world::ControllerView`], one controller's view of it (the ports).
//! - [`scenario`]: the game-day file format (`chaos/*.yaml`), its JSON Schema and loading
//!   with file:line:column errors.
//! - [`gameday`]: the game-day engine every target shares (ADR 0010): the
//!   [`gameday::Target`] trait, the timeline driver, the typed evidence, and the judge of
//!   steady-state checks and expectations.
//! - [`engine`]: the simulated target: [`engine::Sim`] runs the controllers, injects faults
//!   and meters answered traffic per (service, cell, region) every virtual second;
//!   [`engine::run`] plays a scenario on it.
//! - [`invariants`]: the safety invariants (DESIGN.md §7), checked after every simulated
//!   second of every game-day and simulation.
//! - [`simulate`]: `regionctl simulate`: seeded fault schedules generated as scenarios, run
//!   through the engine, counted, traced and written out as reproductions.
//! - [`report`]: the terminal timeline, `report.md`, `report.json` and `traffic.svg`.
//! - [`duration`]: `5m`, `90s`, `1h30m`.
//! - [`generate`]: a bundle of N services × C cells × R regions (`simulate
//!   --generate-services`, the fleet benchmark), rendered with [`policy_yaml`]'s builders.
//!
//! # Determinism
//! Every random choice comes from one ChaCha stream seeded by the scenario (or `--seed`);
//! every collection that is iterated is ordered (`BTreeMap`, `Vec`); nothing reads the wall
//! clock. The same scenario and seed produce byte-identical reports.

/// Appends one formatted line to a `String`.
macro_rules! wl {
    ($dst:expr) => {
        $dst.push('\n')
    };
    ($dst:expr, $($arg:tt)*) => {{
        $dst.push_str(&format!($($arg)*));
        $dst.push('\n');
    }};
}

pub mod duration;
pub mod engine;
pub mod gameday;
pub mod generate;
pub mod invariants;
pub mod policy_yaml;
pub mod report;
pub mod scenario;
pub mod simulate;
mod svg;
pub mod world;

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Runs a future that never suspends (every simulated port completes at once) to
/// completion. `None` if it suspended anyway, which would be a bug in a simulated port.
pub fn block_on<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}
