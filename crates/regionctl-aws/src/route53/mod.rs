//! Route 53: read record sets, apply batched weight changes, wait for INSYNC, read back.
//!
//! Route 53's control plane is rate-limited per account and lives in us-east-1, so every
//! call here goes through one process-wide [`SharedBucket`] (writes first), failed calls are
//! retried by this module (SDK retries are disabled for this client) with backoff and full
//! jitter, and changes are sent in the fewest batches [`plan_batches`] allows.
//!
//! Retrying a `ChangeResourceRecordSets` after a timeout is safe for UPSERTs (absolute and
//! idempotent); a retried CREATE/DELETE may fail with `InvalidChangeBatch` if the first
//! attempt did land, which the caller sees as a permanent error and resolves by re-reading.

mod batch;
mod bucket;
mod convert;
mod health;
mod retry;
mod zones;

pub use batch::{BatchLimits, PlanError, change_cost, plan_batches, plan_batches_with};
pub use bucket::{BucketConfig, BucketState, Priority, SharedBucket};
pub use health::{HealthCheckInfo, HealthCheckTarget, HealthCheckUpdate};
pub use retry::RetryPolicy;

use crate::errors::{AwsError, ErrorClass, Result};
use crate::types::{ChangeAction, RecordChange, RecordSet, RecordSetType};
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_sdk_route53::types as r53;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

const SERVICE: &str = "route53";

/// How to wait for a change to reach INSYNC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InsyncPolicy {
    /// Sleep between `GetChange` polls.
    pub poll_interval: Duration,
    /// Maximum `GetChange` calls before giving up with [`AwsError::NotInsync`].
    pub max_polls: u32,
}

impl Default for InsyncPolicy {
    fn default() -> Self {
        // Route 53 usually propagates within 60 s.
        InsyncPolicy {
            poll_interval: Duration::from_secs(2),
            max_polls: 90,
        }
    }
}

/// What an apply did: the call counts are what the rate budget was spent on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Number of change batches sent.
    pub batches: usize,
    /// `ChangeResourceRecordSets` calls, including retried attempts.
    pub change_calls: u32,
    /// `GetChange` calls.
    pub get_change_calls: u32,
    /// `ListResourceRecordSets` calls made by the read-back.
    pub list_calls: u32,
    /// Attempts that failed and were retried (all operations).
    pub retries: u32,
    /// The change ids, one per batch.
    pub change_ids: Vec<String>,
    /// Number of record changes applied.
    pub changes: usize,
}

/// A Route 53 client with budgeted, retried calls.
#[derive(Debug, Clone)]
pub struct Route53Client {
    client: aws_sdk_route53::Client,
    bucket: Arc<SharedBucket>,
    retry: RetryPolicy,
    insync: InsyncPolicy,
    verify: bool,
    page_size: i32,
}

impl Route53Client {
    /// A client from an [`SdkConfig`] with SDK retries disabled (this client retries itself).
    pub fn new(sdk: &SdkConfig, bucket: Arc<SharedBucket>) -> Self {
        Self::from_client(aws_sdk_route53::Client::new(sdk), bucket)
    }

    /// Wraps an existing SDK client (e.g. a mock), disabling its SDK-level retries so that
    /// every attempt goes through the bucket and is counted.
    pub fn from_client(client: aws_sdk_route53::Client, bucket: Arc<SharedBucket>) -> Self {
        let conf = client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build();
        let client = aws_sdk_route53::Client::from_conf(conf);
        Route53Client {
            client,
            bucket,
            retry: RetryPolicy::default(),
            insync: InsyncPolicy::default(),
            verify: true,
            page_size: 300,
        }
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the INSYNC wait policy.
    pub fn with_insync(mut self, insync: InsyncPolicy) -> Self {
        self.insync = insync;
        self
    }

    /// Whether [`Route53Client::apply_changes`] reads back and compares (default: yes).
    pub fn with_verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// Sets the `ListResourceRecordSets` page size (AWS maximum 300).
    pub fn with_page_size(mut self, page_size: i32) -> Self {
        self.page_size = page_size.clamp(1, 300);
        self
    }

    /// The underlying SDK client.
    pub fn sdk(&self) -> &aws_sdk_route53::Client {
        &self.client
    }

    /// Runs `f` under the bucket with bounded retries. `calls` counts attempts, `retries`
    /// counts failed attempts that were retried.
    async fn call<T, F, Fut>(
        &self,
        priority: Priority,
        calls: &mut u32,
        retries: &mut u32,
        mut f: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0u32;
        loop {
            self.bucket.acquire(priority).await;
            *calls += 1;
            attempt += 1;
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) if e.class().is_retryable() && attempt < self.retry.max_attempts.max(1) => {
                    if e.class() == ErrorClass::Throttled {
                        // We were throttled despite the bucket: other clients share the
                        // account budget. Start from empty so the whole process slows down.
                        self.bucket.drain();
                    }
                    tracing::warn!(error = %e, attempt, "route53 call failed, retrying");
                    *retries += 1;
                    tokio::time::sleep(self.retry.backoff(attempt - 1)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Creates a hosted zone (provisioning and tests) and returns its id without the
    /// `/hostedzone/` prefix.
    pub async fn create_hosted_zone(&self, name: &str, caller_reference: &str) -> Result<String> {
        let zone = regionctl_core::policy::ZoneName {
            name: name.to_string(),
            vpc: None,
        };
        // A public zone: the VPC region is not used.
        self.create_zone(&zone, "us-east-1", caller_reference).await
    }

    /// Lists every record set of a zone (all pages). Returns the records and the number of
    /// `ListResourceRecordSets` calls made.
    pub async fn list_record_sets(&self, zone_id: &str) -> Result<(Vec<RecordSet>, u32)> {
        let (mut calls, mut retries) = (0, 0);
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut next: Option<(String, r53::RrType, Option<String>)> = None;
        loop {
            let start = next.clone();
            let page = self
                .call(Priority::Read, &mut calls, &mut retries, || {
                    let mut req = self
                        .client
                        .list_resource_record_sets()
                        .hosted_zone_id(zone_id)
                        .max_items(self.page_size);
                    if let Some((name, rtype, ident)) = &start {
                        req = req
                            .start_record_name(name)
                            .start_record_type(rtype.clone())
                            .set_start_record_identifier(ident.clone());
                    }
                    async move {
                        req.send()
                            .await
                            .map_err(|e| AwsError::from_sdk(SERVICE, "ListResourceRecordSets", e))
                    }
                })
                .await?;
            for record in page
                .resource_record_sets()
                .iter()
                .map(convert::from_sdk_record)
            {
                // Real Route 53 never repeats a record across pages; moto does when a page
                // boundary falls between weighted sets of one name (it ignores
                // StartRecordIdentifier). Dropping repeats is harmless on AWS.
                if seen.insert(record.key()) {
                    out.push(record);
                }
            }
            match (
                page.is_truncated(),
                page.next_record_name(),
                page.next_record_type(),
            ) {
                (true, Some(name), Some(rtype)) => {
                    next = Some((
                        name.to_string(),
                        rtype.clone(),
                        page.next_record_identifier().map(str::to_string),
                    ));
                }
                _ => return Ok((out, calls)),
            }
        }
    }

    /// Applies `changes` in the fewest batches (see [`plan_batches`]), waiting for INSYNC
    /// after each batch and reading back at the end.
    pub async fn apply_changes(
        &self,
        zone_id: &str,
        changes: Vec<RecordChange>,
    ) -> Result<ApplyReport> {
        self.apply_guarded(zone_id, changes, |_| Ok(())).await
    }

    /// Like [`Route53Client::apply_changes`], but first checks `guard` on the state after
    /// every batch (given all changes applied so far). If any state fails, nothing is sent
    /// and [`AwsError::GuardRejected`] names the first failing batch and why. Batches are
    /// sent in order and each waits for INSYNC before the next, so the world passes only
    /// through guarded states.
    pub async fn apply_guarded<G>(
        &self,
        zone_id: &str,
        changes: Vec<RecordChange>,
        guard: G,
    ) -> Result<ApplyReport>
    where
        G: Fn(&[RecordChange]) -> std::result::Result<(), String>,
    {
        let expected = changes.clone();
        let batches = plan_batches(changes).map_err(|e| AwsError::InvalidInput(e.to_string()))?;
        let mut applied: Vec<RecordChange> = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            applied.extend(batch.iter().cloned());
            guard(&applied).map_err(|why| AwsError::GuardRejected {
                batch_index: i,
                why,
            })?;
        }
        let sdk_batches = batches
            .iter()
            .map(|b| {
                b.iter()
                    .map(convert::to_sdk_change)
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;

        let mut report = ApplyReport {
            batches: batches.len(),
            changes: expected.len(),
            ..ApplyReport::default()
        };
        for changes in sdk_batches {
            let batch = r53::ChangeBatch::builder()
                .set_changes(Some(changes))
                .comment("regionctl")
                .build()
                .map_err(|e| AwsError::InvalidInput(e.to_string()))?;
            let out = self
                .call(
                    Priority::Write,
                    &mut report.change_calls,
                    &mut report.retries,
                    || {
                        let req = self
                            .client
                            .change_resource_record_sets()
                            .hosted_zone_id(zone_id)
                            .change_batch(batch.clone());
                        async move {
                            req.send().await.map_err(|e| {
                                AwsError::from_sdk(SERVICE, "ChangeResourceRecordSets", e)
                            })
                        }
                    },
                )
                .await?;
            let info = out.change_info().ok_or_else(|| {
                AwsError::missing(SERVICE, "ChangeResourceRecordSets", "ChangeInfo")
            })?;
            let id = info.id().to_string();
            if *info.status() != r53::ChangeStatus::Insync {
                report.get_change_calls +=
                    self.wait_insync_counted(&id, &mut report.retries).await?;
            }
            report.change_ids.push(id);
        }

        if self.verify && !expected.is_empty() {
            let (actual, calls) = self.list_record_sets(zone_id).await?;
            report.list_calls = calls;
            let mismatches = compare(&expected, &actual);
            if !mismatches.is_empty() {
                return Err(AwsError::ReadBackMismatch {
                    zone_id: zone_id.to_string(),
                    mismatches,
                });
            }
        }
        Ok(report)
    }

    /// Polls `GetChange` until the change is INSYNC, at most `max_polls` times. Returns the
    /// number of `GetChange` calls made.
    pub async fn wait_insync(&self, change_id: &str) -> Result<u32> {
        let mut retries = 0;
        self.wait_insync_counted(change_id, &mut retries).await
    }

    async fn wait_insync_counted(&self, change_id: &str, retries: &mut u32) -> Result<u32> {
        let mut calls = 0u32;
        for poll in 0..self.insync.max_polls {
            if poll > 0 {
                tokio::time::sleep(self.insync.poll_interval).await;
            }
            let mut attempts = 0;
            let out = self
                .call(Priority::Read, &mut attempts, retries, || {
                    let req = self.client.get_change().id(change_id);
                    async move {
                        req.send()
                            .await
                            .map_err(|e| AwsError::from_sdk(SERVICE, "GetChange", e))
                    }
                })
                .await?;
            calls += attempts;
            let status = out.change_info().map(|i| i.status().clone());
            if status == Some(r53::ChangeStatus::Insync) {
                return Ok(calls);
            }
        }
        Err(AwsError::NotInsync {
            change_id: change_id.to_string(),
            polls: self.insync.max_polls,
        })
    }
}

type Key = (String, RecordSetType, Option<String>);

/// Compares the intended result of `changes` with listed record sets: one line per
/// record set that differs.
pub fn compare(changes: &[RecordChange], actual: &[RecordSet]) -> Vec<String> {
    let mut want: HashMap<Key, Option<&RecordSet>> = HashMap::new();
    let mut order: Vec<Key> = Vec::new();
    for c in changes {
        let key = c.record.key();
        if !want.contains_key(&key) {
            order.push(key.clone());
        }
        want.insert(key, (c.action != ChangeAction::Delete).then_some(&c.record));
    }
    let have: HashMap<Key, &RecordSet> = actual.iter().map(|r| (r.key(), r)).collect();
    let mut mismatches = Vec::new();
    for key in order {
        let label = format!(
            "{} {} {}",
            key.0,
            key.1.as_str(),
            key.2.as_deref().unwrap_or("-")
        );
        match (want.get(&key).copied().flatten(), have.get(&key)) {
            (None, None) => {}
            (None, Some(_)) => mismatches.push(format!("{label}: deleted but still present")),
            (Some(_), None) => mismatches.push(format!("{label}: missing")),
            (Some(w), Some(h)) => {
                let mut wv = w.values.clone();
                let mut hv = h.values.clone();
                wv.sort();
                hv.sort();
                if wv != hv
                    || w.ttl != h.ttl
                    || w.routing != h.routing
                    || w.health_check_id != h.health_check_id
                {
                    mismatches.push(format!("{label}: want {w:?}, have {h:?}"));
                }
            }
        }
    }
    mismatches
}

#[cfg(test)]
mod tests;
