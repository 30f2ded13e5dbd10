//! Resolving the hosted zones a bundle names by domain (`routing.hosted_zone`) to their
//! ids, before the bundle meets Route 53: the daemon at start-up and on every reload,
//! `provision`, `iam` and game-days (see `regionctl_core::policy::ZoneName` for the
//! design, ADR 0017 for the choice).

use regionctl_aws::route53::{Route53Client, SharedBucket};
use regionctl_core::policy::Bundle;
use std::sync::Arc;

/// Resolves every zone `bundle` names by domain through Route 53 (us-east-1, or
/// `endpoint_url`). A bundle naming none makes no call. The error names each zone that
/// could not be resolved and the services that use it.
pub async fn resolve(bundle: &mut Bundle, endpoint_url: Option<String>) -> Result<(), String> {
    let named = bundle.named_zones();
    if named.is_empty() {
        return Ok(());
    }
    let sdk = regionctl_aws::config::load(&regionctl_aws::config::AwsSettings {
        region: "us-east-1".into(),
        endpoint_url,
    })
    .await;
    let route53 = Route53Client::new(&sdk, Arc::new(SharedBucket::new(Default::default())));
    resolve_with(bundle, &route53).await
}

/// [`resolve`] with a given client.
pub async fn resolve_with(bundle: &mut Bundle, route53: &Route53Client) -> Result<(), String> {
    let named = bundle.named_zones();
    let mut ids = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for (zone, services) in &named {
        match route53.find_zone(zone).await {
            Ok(id) => {
                ids.insert(zone.clone(), id);
            }
            Err(e) => problems.push(format!(
                "routing.hosted_zone of {}: {e}\n",
                services.join(", ")
            )),
        }
    }
    bundle.resolve_zones(&ids);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.concat())
    }
}

/// [`resolve`] for a synchronous command (its own current-thread runtime; none when the
/// bundle names no zone by domain).
pub fn resolve_blocking(bundle: &mut Bundle, endpoint_url: Option<String>) -> Result<(), String> {
    if bundle.named_zones().is_empty() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime to resolve hosted zones: {e}\n"))?;
    runtime.block_on(resolve(bundle, endpoint_url))
}
