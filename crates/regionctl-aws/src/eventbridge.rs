//! EventBridge: the alarm-state rule that wakes controllers, and publishing decision events.
//!
//! PutEvents entries are limited to 256 KB. A decision event that would exceed it is not
//! sent: [`EventBridgeClient::put_event`] returns [`PublishOutcome::TooLarge`] so the caller
//! can store the detail elsewhere (the journal) and publish a reference (claim check).

use crate::errors::{AwsError, Result};
use aws_config::SdkConfig;
use aws_sdk_eventbridge::types as eb;

const SERVICE: &str = "eventbridge";
/// Source of every event regionctl publishes.
pub const SOURCE: &str = "regionctl";
/// The maximum size of one PutEvents entry, in bytes.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;
/// The detail type of CloudWatch alarm state change events.
pub const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

/// What happened to a published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Accepted by EventBridge.
    Published {
        /// The event id.
        event_id: String,
    },
    /// Not sent: the entry would be `bytes` long, over [`MAX_ENTRY_BYTES`].
    TooLarge {
        /// Computed entry size.
        bytes: usize,
    },
}

/// The size EventBridge charges an entry: source, detail type, detail and resources in
/// UTF-8 bytes, plus 14 bytes for the time field.
pub fn entry_size(source: &str, detail_type: &str, detail: &str, resources: &[String]) -> usize {
    14 + source.len()
        + detail_type.len()
        + detail.len()
        + resources.iter().map(String::len).sum::<usize>()
}

/// The event pattern matching alarm state changes, optionally only alarms with a prefix.
pub fn alarm_rule_pattern(alarm_name_prefix: Option<&str>) -> String {
    let mut pattern = serde_json::json!({
        "source": ["aws.cloudwatch"],
        "detail-type": [ALARM_DETAIL_TYPE],
    });
    if let Some(prefix) = alarm_name_prefix {
        pattern["detail"] = serde_json::json!({"alarmName": [{"prefix": prefix}]});
    }
    pattern.to_string()
}

/// An EventBridge client for one region (default bus).
#[derive(Debug, Clone)]
pub struct EventBridgeClient {
    client: aws_sdk_eventbridge::Client,
}

impl EventBridgeClient {
    /// A client from an [`SdkConfig`].
    pub fn new(sdk: &SdkConfig) -> Self {
        EventBridgeClient {
            client: aws_sdk_eventbridge::Client::new(sdk),
        }
    }

    /// Creates or updates the alarm-state-change rule; returns its ARN.
    pub async fn put_alarm_rule(
        &self,
        rule_name: &str,
        alarm_name_prefix: Option<&str>,
    ) -> Result<String> {
        self.put_rule(rule_name, &alarm_rule_pattern(alarm_name_prefix))
            .await
    }

    /// Creates or updates a rule with an explicit pattern; returns its ARN.
    pub async fn put_rule(&self, rule_name: &str, pattern: &str) -> Result<String> {
        let out = self
            .client
            .put_rule()
            .name(rule_name)
            .event_pattern(pattern)
            .state(eb::RuleState::Enabled)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "PutRule", e))?;
        out.rule_arn()
            .map(str::to_string)
            .ok_or_else(|| AwsError::missing(SERVICE, "PutRule", "RuleArn"))
    }

    /// Points `rule_name` at an SQS queue.
    pub async fn put_sqs_target(
        &self,
        rule_name: &str,
        target_id: &str,
        queue_arn: &str,
    ) -> Result<()> {
        let target = eb::Target::builder()
            .id(target_id)
            .arn(queue_arn)
            .build()
            .map_err(|e| AwsError::InvalidInput(e.to_string()))?;
        let out = self
            .client
            .put_targets()
            .rule(rule_name)
            .targets(target)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "PutTargets", e))?;
        if out.failed_entry_count() > 0 {
            let msg = out
                .failed_entries()
                .first()
                .and_then(|f| f.error_message())
                .unwrap_or("unknown")
                .to_string();
            return Err(AwsError::UnexpectedResponse {
                service: SERVICE,
                operation: "PutTargets",
                message: msg,
            });
        }
        Ok(())
    }

    /// Publishes a regionctl event (`source = regionctl`), unless it is too large.
    pub async fn put_event(
        &self,
        detail_type: &str,
        detail: &str,
        resources: &[String],
    ) -> Result<PublishOutcome> {
        self.put_raw_event(SOURCE, detail_type, detail, resources)
            .await
    }

    /// Publishes an event with any source. Real AWS rejects `aws.*` sources from callers;
    /// on moto this is how tests inject "CloudWatch Alarm State Change" events, which moto
    /// never emits itself.
    pub async fn put_raw_event(
        &self,
        source: &str,
        detail_type: &str,
        detail: &str,
        resources: &[String],
    ) -> Result<PublishOutcome> {
        let bytes = entry_size(source, detail_type, detail, resources);
        if bytes > MAX_ENTRY_BYTES {
            return Ok(PublishOutcome::TooLarge { bytes });
        }
        let entry = eb::PutEventsRequestEntry::builder()
            .source(source)
            .detail_type(detail_type)
            .detail(detail)
            .set_resources(Some(resources.to_vec()))
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "PutEvents", e))?;
        let first = out.entries().first();
        match first.and_then(|e| e.event_id()) {
            Some(id) if out.failed_entry_count() == 0 => Ok(PublishOutcome::Published {
                event_id: id.to_string(),
            }),
            _ => Err(AwsError::UnexpectedResponse {
                service: SERVICE,
                operation: "PutEvents",
                message: first
                    .and_then(|e| e.error_message().or(e.error_code()))
                    .unwrap_or("entry failed without a message")
                    .to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_size_counts_all_parts() {
        assert_eq!(entry_size("ab", "cd", "{}", &["r".to_string()]), 14 + 7);
        // Multi-byte characters count in bytes.
        assert_eq!(entry_size("", "", "é", &[]), 16);
    }

    #[test]
    fn pattern_matches_alarm_changes_with_optional_prefix() {
        let p: serde_json::Value = serde_json::from_str(&alarm_rule_pattern(Some("svc-"))).unwrap();
        assert_eq!(p["source"][0], "aws.cloudwatch");
        assert_eq!(p["detail-type"][0], ALARM_DETAIL_TYPE);
        assert_eq!(p["detail"]["alarmName"][0]["prefix"], "svc-");
        let q: serde_json::Value = serde_json::from_str(&alarm_rule_pattern(None)).unwrap();
        assert!(q.get("detail").is_none());
    }
}
