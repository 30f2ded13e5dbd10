//! Building the SDK configuration shared by all adapters.
//!
//! Production uses the default credential chain and the SDK's standard retry (Route 53
//! overrides it: [`crate::route53`] does its own budgeted retries). Tests use static
//! credentials, an explicit endpoint (moto) and a single attempt, so an unimplemented
//! operation fails fast instead of being retried three times.

pub use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use std::time::Duration;

/// Where and how to reach AWS for one region.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// AWS region, e.g. `eu-central-1`.
    pub region: String,
    /// Endpoint override (e.g. `http://127.0.0.1:5000` for moto). When `None`, the SDK's
    /// standard `AWS_ENDPOINT_URL` environment variable still applies.
    pub endpoint_url: Option<String>,
}

/// Per-attempt and connect timeouts: an AWS control-plane call that takes longer is treated
/// as failed (and classified retryable).
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(20))
        .build()
}

/// Loads an [`SdkConfig`] for `settings.region` with the default credential chain.
pub async fn load(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(settings.region.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(timeouts());
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Loads an [`SdkConfig`] for tests: static credentials (`testing`/`testing`), the given
/// endpoint, and SDK retries disabled (one attempt).
pub async fn load_for_tests(region: &str, endpoint_url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint_url)
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "regionctl-tests",
        ))
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts())
        .load()
        .await
}
