//! The `regionctl` library behind the binary: the host of the controller's AWS world, the
//! long-running controller, provisioning, probes and the real-time game-day targets.
//!
//! # Layout
//! - [`aws_world`]: the controller's AWS world (`regionctl_aws::world`) hosted by this
//!   process: its probes and failpoints.
//! - [`chaos`]: the chaos metric game-days on real accounts fail alarms with (ADR 0008).
//! - [`controller_config`]: the bundle's `ControllerConfig`, checked for the commands that
//!   run or reach the fleet.
//! - [`daemon`]: `regionctl run` as a service (ticks, SQS wake-ups, reload, admin HTTP).
//! - [`gameday`]: the real-time game-day targets (moto, a real account) of the game-day
//!   engine in `regionctl-sim`, and `regionctl sandbox` (the moto world, left running).
//! - [`provision`]: create what the policies reference (moto and sandbox accounts).
//! - [`probe`]: an observer's own HTTP/TCP probes.
//! - [`telemetry`]: logs (tracing, text or JSON) and the span timings behind `/metrics`.
//! - [`zones`]: hosted zones named by domain, resolved to ids through Route 53.
//! - [`failpoints`]: faults tests switch on in real processes (feature `failpoints`).

pub mod aws_world;
pub mod chaos;
pub mod controller_config;
pub mod daemon;
pub mod failpoints;
pub mod gameday;
pub mod probe;
pub mod provision;
pub mod telemetry;
pub mod zones;
