//! Integration tests against moto (one test binary: each extra binary costs a large link).
//!
//! Run `scripts/moto.sh install` once; the tests start their own moto server on a free
//! 127.0.0.1 port (or use `MOTO_ENDPOINT`) through the test kit (`regionctl-testkit`).
//! Every test uses unique resource names, so the tests run in parallel against one server.

/// The test kit's moto harness, and SDK configurations for its server.
mod harness {
    pub use regionctl_testkit::moto::{default_network, endpoint, unique};

    /// Test SDK configuration for `region` (static credentials, no SDK retries).
    pub async fn sdk(region: &str) -> regionctl_aws::config::SdkConfig {
        regionctl_aws::config::load_for_tests(region, endpoint()).await
    }
}

#[path = "moto/route53.rs"]
mod route53;

#[path = "moto/cloudwatch.rs"]
mod cloudwatch;

#[path = "moto/events.rs"]
mod events;

#[path = "moto/dynamodb.rs"]
mod dynamodb;

#[path = "moto/compute.rs"]
mod compute;

#[path = "moto/world.rs"]
mod world;
