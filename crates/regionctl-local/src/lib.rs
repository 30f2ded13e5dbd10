//! Local stand-ins for running regionctl without AWS, shared by `gameday --target moto` and
//! the test kit (`regionctl-testkit`) so that neither keeps a copy.
//!
//! # Layout
//! - [`moto`]: a moto server started with `scripts/moto.sh` (stopped when dropped, and by a
//!   watchdog when the process ends however it ends).
//! - [`network`]: moto's default VPC per region, read with unsigned EC2 Query calls.
//! - [`endpoint`]: a stub HTTP endpoint standing in for one region (200 while up, 503
//!   otherwise), on hyper.
//! - [`http`]: a client for controllers' admin endpoints on 127.0.0.1, on `ureq`.
//!
//! # Design
//! The crate depends on nothing in the workspace: the root package (the moto game-day
//! target) and the test kit both use it, and `regionctl-aws`'s tests use the kit, so a
//! dependency on either would close a cycle. Errors are `anyhow` errors whose messages the
//! `gameday` command prints as they are; the test kit turns them into panics. Never used
//! against real AWS.

pub mod endpoint;
pub mod http;
pub mod moto;
pub mod network;
