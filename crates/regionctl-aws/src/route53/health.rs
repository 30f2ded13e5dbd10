//! Route 53 health checks: the data-plane switches of design §6.
//!
//! A switch is a `CLOUDWATCH_METRIC` health check bound to an alarm on a metric the
//! controllers publish, with `InsufficientDataHealthStatus=LastKnownStatus` so that dead
//! controllers change nothing. Creation is idempotent by `CallerReference`: an existing
//! check with the same reference is returned instead of creating a second one.

use super::{Priority, Route53Client, SERVICE};
use crate::errors::{AwsError, Result};
use aws_sdk_route53::types as r53;

/// What a health check watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheckTarget {
    /// Healthy while the CloudWatch alarm is not in ALARM (a data-plane switch).
    CloudWatchAlarm {
        /// Alarm name.
        alarm_name: String,
        /// Region of the alarm.
        alarm_region: String,
    },
    /// An HTTPS endpoint probed by Route 53's checkers.
    Https {
        /// Host name to probe.
        fqdn: String,
        /// Port.
        port: i32,
        /// Path, e.g. `/health`.
        path: String,
        /// Seconds between probes: 10 or 30.
        request_interval: i32,
        /// Consecutive failures before unhealthy (1–10).
        failure_threshold: i32,
    },
}

/// A listed health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckInfo {
    /// Health check id.
    pub id: String,
    /// The idempotency token it was created with.
    pub caller_reference: String,
    /// Route 53 type name (`CLOUDWATCH_METRIC`, `HTTPS`, ...).
    pub type_name: String,
    /// Whether health is inverted.
    pub inverted: bool,
    /// Whether the check is disabled (always healthy).
    pub disabled: bool,
    /// Optimistic-locking version.
    pub version: i64,
    /// The alarm a `CLOUDWATCH_METRIC` check watches: (name, region), if the backend keeps it.
    pub alarm: Option<(String, String)>,
}

/// Fields to change on an existing health check (`None` leaves a field alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HealthCheckUpdate {
    /// Invert health.
    pub inverted: Option<bool>,
    /// Disable the check.
    pub disabled: Option<bool>,
    /// Rebind to another alarm: (name, region).
    pub alarm: Option<(String, String)>,
    /// New failure threshold (HTTPS checks).
    pub failure_threshold: Option<i32>,
}

fn invalid(e: impl std::fmt::Display) -> AwsError {
    AwsError::InvalidInput(e.to_string())
}

fn alarm_identifier(name: &str, region: &str) -> Result<r53::AlarmIdentifier> {
    r53::AlarmIdentifier::builder()
        .name(name)
        .region(r53::CloudWatchRegion::from(region))
        .build()
        .map_err(invalid)
}

fn config(target: &HealthCheckTarget) -> Result<r53::HealthCheckConfig> {
    let b = match target {
        HealthCheckTarget::CloudWatchAlarm {
            alarm_name,
            alarm_region,
        } => r53::HealthCheckConfig::builder()
            .r#type(r53::HealthCheckType::CloudwatchMetric)
            .alarm_identifier(alarm_identifier(alarm_name, alarm_region)?)
            .insufficient_data_health_status(r53::InsufficientDataHealthStatus::LastKnownStatus),
        HealthCheckTarget::Https {
            fqdn,
            port,
            path,
            request_interval,
            failure_threshold,
        } => r53::HealthCheckConfig::builder()
            .r#type(r53::HealthCheckType::Https)
            .fully_qualified_domain_name(fqdn)
            .port(*port)
            .resource_path(path)
            .request_interval(*request_interval)
            .failure_threshold(*failure_threshold)
            .enable_sni(true),
    };
    b.build().map_err(invalid)
}

fn info(h: &r53::HealthCheck) -> HealthCheckInfo {
    let cfg = h.health_check_config();
    HealthCheckInfo {
        id: h.id().to_string(),
        caller_reference: h.caller_reference().to_string(),
        type_name: cfg
            .map(|c| c.r#type().as_str().to_string())
            .unwrap_or_default(),
        inverted: cfg.and_then(|c| c.inverted()).unwrap_or(false),
        disabled: cfg.and_then(|c| c.disabled()).unwrap_or(false),
        version: h.health_check_version(),
        alarm: cfg
            .and_then(|c| c.alarm_identifier())
            .map(|a| (a.name().to_string(), a.region().as_str().to_string())),
    }
}

impl Route53Client {
    /// Returns the id of the health check created with `caller_reference`, creating it with
    /// `target` if none exists.
    pub async fn ensure_health_check(
        &self,
        caller_reference: &str,
        target: &HealthCheckTarget,
    ) -> Result<String> {
        if let Some(existing) = self
            .list_health_checks()
            .await?
            .into_iter()
            .find(|h| h.caller_reference == caller_reference)
        {
            return Ok(existing.id);
        }
        let cfg = config(target)?;
        let (mut calls, mut retries) = (0, 0);
        let created = self
            .call(Priority::Write, &mut calls, &mut retries, || {
                let req = self
                    .client
                    .create_health_check()
                    .caller_reference(caller_reference)
                    .health_check_config(cfg.clone());
                async move {
                    req.send()
                        .await
                        .map_err(|e| AwsError::from_sdk(SERVICE, "CreateHealthCheck", e))
                }
            })
            .await;
        match created {
            Ok(out) => out
                .health_check()
                .map(|h| h.id().to_string())
                .ok_or_else(|| AwsError::missing(SERVICE, "CreateHealthCheck", "HealthCheck")),
            // Lost a race with another creator using the same reference: use theirs.
            Err(e) if e.code() == Some("HealthCheckAlreadyExists") => self
                .list_health_checks()
                .await?
                .into_iter()
                .find(|h| h.caller_reference == caller_reference)
                .map(|h| h.id)
                .ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// Updates an existing health check.
    pub async fn update_health_check(&self, id: &str, update: &HealthCheckUpdate) -> Result<()> {
        let alarm = match &update.alarm {
            Some((name, region)) => Some(alarm_identifier(name, region)?),
            None => None,
        };
        let (mut calls, mut retries) = (0, 0);
        self.call(Priority::Write, &mut calls, &mut retries, || {
            let mut req = self
                .client
                .update_health_check()
                .health_check_id(id)
                .set_inverted(update.inverted)
                .set_disabled(update.disabled)
                .set_failure_threshold(update.failure_threshold);
            if let Some(a) = &alarm {
                req = req
                    .alarm_identifier(a.clone())
                    .insufficient_data_health_status(
                        r53::InsufficientDataHealthStatus::LastKnownStatus,
                    );
            }
            async move {
                req.send()
                    .await
                    .map_err(|e| AwsError::from_sdk(SERVICE, "UpdateHealthCheck", e))
            }
        })
        .await?;
        Ok(())
    }

    /// Lists all health checks of the account (all pages).
    pub async fn list_health_checks(&self) -> Result<Vec<HealthCheckInfo>> {
        let (mut calls, mut retries) = (0, 0);
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let m = marker.clone();
            let page = self
                .call(Priority::Read, &mut calls, &mut retries, || {
                    let req = self
                        .client
                        .list_health_checks()
                        .set_marker(m.clone())
                        .max_items(100);
                    async move {
                        req.send()
                            .await
                            .map_err(|e| AwsError::from_sdk(SERVICE, "ListHealthChecks", e))
                    }
                })
                .await?;
            out.extend(page.health_checks().iter().map(info));
            match (page.is_truncated(), page.next_marker()) {
                (true, Some(next)) => marker = Some(next.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Adds (or overwrites) tags on a health check. Provisioning records a switch's wiring
    /// in tags as well as in the check itself, so it can be read back where a backend does
    /// not keep `AlarmIdentifier` (moto).
    pub async fn tag_health_check(&self, id: &str, tags: &[(String, String)]) -> Result<()> {
        let tags: Vec<r53::Tag> = tags
            .iter()
            .map(|(k, v)| r53::Tag::builder().key(k).value(v).build())
            .collect();
        let (mut calls, mut retries) = (0, 0);
        self.call(Priority::Write, &mut calls, &mut retries, || {
            let req = self
                .client
                .change_tags_for_resource()
                .resource_type(r53::TagResourceType::Healthcheck)
                .resource_id(id)
                .set_add_tags(Some(tags.clone()));
            async move {
                req.send()
                    .await
                    .map_err(|e| AwsError::from_sdk(SERVICE, "ChangeTagsForResource", e))
            }
        })
        .await?;
        Ok(())
    }

    /// A health check's tags.
    pub async fn health_check_tags(&self, id: &str) -> Result<Vec<(String, String)>> {
        let (mut calls, mut retries) = (0, 0);
        let out = self
            .call(Priority::Read, &mut calls, &mut retries, || {
                let req = self
                    .client
                    .list_tags_for_resource()
                    .resource_type(r53::TagResourceType::Healthcheck)
                    .resource_id(id);
                async move {
                    req.send()
                        .await
                        .map_err(|e| AwsError::from_sdk(SERVICE, "ListTagsForResource", e))
                }
            })
            .await?;
        Ok(out
            .resource_tag_set()
            .map(|set| {
                set.tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}
