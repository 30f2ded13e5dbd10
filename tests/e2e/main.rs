// Cleanup in tests (removing temp dirs, killing children) ignores failures on purpose.
#![allow(clippy::let_underscore_must_use)]
//! End-to-end tests of the `regionctl` binary (one test binary: each extra one costs a large
//! link on a 2-core machine).
//!
//! - `cli`: offline commands on the example policies (golden files in `tests/golden/`).
//! - `moto`: `provision` and `run --once` against a moto server (AWS over the real wire
//!   protocol), started by `scripts/moto.sh`.
//! - `gameday_aws`: `gameday --target aws` guardrails and chaos metric, on moto.
//! - `probes`: HTTP(S) probes against local servers (TLS with a test CA made by `openssl`).

mod browser;
mod cli;
mod fleet;
mod gameday_aws;
mod gameday_moto;
#[path = "../../crates/regionctl-aws/tests/moto/harness.rs"]
#[allow(dead_code)]
mod harness;
mod iam;
mod moto;
mod probes;
