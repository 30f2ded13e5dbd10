// Cleanup in tests (removing temp dirs, killing children) ignores failures on purpose.
#![allow(clippy::let_underscore_must_use)]
//! End-to-end tests of the `regionctl` binary (one test binary: each extra one costs a large
//! link on a 2-core machine).
//!
//! - `admin`: the admin port of a running controller (headers, token, limits, cap).
//! - `cli`: offline commands on the example policies (golden files in `tests/golden/`).
//! - `moto`: `provision` and `run --once` against a moto server (AWS over the real wire
//!   protocol), started by the test kit's harness through `scripts/moto.sh`.
//! - `fleet`: three `regionctl run` processes (the test kit's process fleet) on one moto.
//! - `gameday_aws`, `gameday_moto`: `gameday --target aws|moto` guardrails and chaos metric.
//! - `probes`: HTTP(S) probes against local servers (TLS with a test CA made by `openssl`).
//! - `iam`: the IAM policies `regionctl iam` generates (and `deploy/` holds) against the AWS
//!   calls in the code.
//! - `browser`: the status page in headless Chromium.
//! - `sandbox`: `regionctl sandbox` as the README runs it: pages, `status`, a region loss.

mod admin;
mod browser;
mod cli;
mod fleet;
mod gameday_aws;
mod gameday_moto;
mod iam;
mod moto;
mod probes;
mod sandbox;

/// The test kit's moto harness, and SDK configurations for its server (built here: the
/// kit does not depend on `regionctl-aws`).
mod harness {
    pub use regionctl_testkit::moto::{endpoint, unique};

    /// Test SDK configuration for `region` (static credentials, no SDK retries).
    pub async fn sdk(region: &str) -> regionctl_aws::config::SdkConfig {
        regionctl_aws::config::load_for_tests(region, endpoint()).await
    }
}
