//! SQS: the wake-up queue fed by an EventBridge rule on alarm state changes.
//!
//! Events only wake the reconcile loop early (it is level-triggered), so a lost or
//! duplicated message never matters. Messages are deleted only after the caller has handled
//! them: [`SqsClient::receive`] returns receipt handles and the caller calls
//! [`SqsClient::delete`].

use crate::errors::{AwsError, Result};
use crate::types::{AlarmStateChange, parse_alarm_state};
use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;

const SERVICE: &str = "sqs";

/// A queue's URL and ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    /// Queue URL (for SQS calls).
    pub url: String,
    /// Queue ARN (for EventBridge targets and policies).
    pub arn: String,
}

/// A received message. Delete it with [`SqsClient::delete`] once handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// SQS message id.
    pub message_id: String,
    /// Handle needed to delete the message.
    pub receipt_handle: String,
    /// Raw body.
    pub body: String,
    /// The alarm state change, if the body is a "CloudWatch Alarm State Change" event.
    pub alarm_change: Option<AlarmStateChange>,
}

/// An SQS client for one region.
#[derive(Debug, Clone)]
pub struct SqsClient {
    client: aws_sdk_sqs::Client,
}

impl SqsClient {
    /// A client from an [`SdkConfig`].
    pub fn new(sdk: &SdkConfig) -> Self {
        SqsClient {
            client: aws_sdk_sqs::Client::new(sdk),
        }
    }

    /// Creates the queue if needed (CreateQueue is idempotent for equal attributes) and
    /// returns its URL and ARN.
    pub async fn create_queue(&self, name: &str) -> Result<QueueRef> {
        let out = self
            .client
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "CreateQueue", e))?;
        let url = out
            .queue_url()
            .ok_or_else(|| AwsError::missing(SERVICE, "CreateQueue", "QueueUrl"))?
            .to_string();
        let arn = self.queue_arn(&url).await?;
        Ok(QueueRef { url, arn })
    }

    /// Looks up a queue URL by name.
    pub async fn queue_url(&self, name: &str) -> Result<String> {
        let out = self
            .client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "GetQueueUrl", e))?;
        out.queue_url()
            .map(str::to_string)
            .ok_or_else(|| AwsError::missing(SERVICE, "GetQueueUrl", "QueueUrl"))
    }

    /// Reads a queue's ARN.
    pub async fn queue_arn(&self, url: &str) -> Result<String> {
        self.attribute(url, QueueAttributeName::QueueArn)
            .await?
            .ok_or_else(|| AwsError::missing(SERVICE, "GetQueueAttributes", "QueueArn"))
    }

    /// Sets a queue policy that lets EventBridge rules `rule_arns` send to the queue.
    pub async fn allow_eventbridge(&self, queue: &QueueRef, rule_arns: &[String]) -> Result<()> {
        let policy = eventbridge_policy(&queue.arn, rule_arns);
        self.client
            .set_queue_attributes()
            .queue_url(&queue.url)
            .attributes(QueueAttributeName::Policy, policy)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "SetQueueAttributes", e))?;
        Ok(())
    }

    /// Reads the queue's policy document, if any.
    pub async fn policy(&self, url: &str) -> Result<Option<String>> {
        self.attribute(url, QueueAttributeName::Policy).await
    }

    /// One attribute of a queue, if it has it.
    async fn attribute(&self, url: &str, name: QueueAttributeName) -> Result<Option<String>> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(name.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "GetQueueAttributes", e))?;
        Ok(out.attributes().and_then(|a| a.get(&name)).cloned())
    }

    /// Long-polls for up to `max` (1–10) messages, waiting up to `wait_seconds` (0–20).
    pub async fn receive(
        &self,
        url: &str,
        max: i32,
        wait_seconds: i32,
    ) -> Result<Vec<ReceivedMessage>> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait_seconds.clamp(0, 20))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let body = m.body().unwrap_or_default().to_string();
                if body.len() > MAX_EVENT_BYTES {
                    tracing::warn!(
                        message_id = m.message_id().unwrap_or_default(),
                        bytes = body.len(),
                        "SQS message over {MAX_EVENT_BYTES} bytes (larger than any EventBridge event): not read as an alarm event"
                    );
                }
                Some(ReceivedMessage {
                    message_id: m.message_id()?.to_string(),
                    receipt_handle: m.receipt_handle()?.to_string(),
                    alarm_change: parse_alarm_state_change(&body),
                    body,
                })
            })
            .collect())
    }

    /// Deletes a handled message.
    pub async fn delete(&self, url: &str, receipt_handle: &str) -> Result<()> {
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "DeleteMessage", e))?;
        Ok(())
    }

    /// Sends a raw message (tests and tooling).
    pub async fn send(&self, url: &str, body: &str) -> Result<()> {
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "SendMessage", e))?;
        Ok(())
    }
}

/// A queue policy allowing `events.amazonaws.com` to send, restricted to `rule_arns`.
pub fn eventbridge_policy(queue_arn: &str, rule_arns: &[String]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "regionctl-eventbridge",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}}
        }]
    })
    .to_string()
}

/// The largest message body read as an event: EventBridge's event size limit (256 KB), so
/// any real event fits; the queue itself takes bodies up to 1 MiB from any sender it allows.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Parses an EventBridge "CloudWatch Alarm State Change" envelope. Anything else (other
/// detail types, malformed JSON, unknown states, a body over [`MAX_EVENT_BYTES`]) yields
/// `None`: the loop re-reads alarm state every tick anyway.
pub fn parse_alarm_state_change(body: &str) -> Option<AlarmStateChange> {
    if body.len() > MAX_EVENT_BYTES {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    if v.get("detail-type")?.as_str()? != "CloudWatch Alarm State Change" {
        return None;
    }
    let detail = v.get("detail")?;
    let state = detail.get("state")?;
    Some(AlarmStateChange {
        alarm_name: detail.get("alarmName")?.as_str()?.to_string(),
        state: parse_alarm_state(state.get("value")?.as_str()?)?,
        timestamp_ms: parse_timestamp_ms(state.get("timestamp")?.as_str()?)?,
        region: v.get("region")?.as_str()?.to_string(),
    })
}

/// CloudWatch writes `2019-10-02T17:04:40.985+0000` (no colon in the offset); RFC 3339 is
/// accepted too.
fn parse_timestamp_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::AlarmState;

    fn envelope(detail_type: &str, state: &str, ts: &str) -> String {
        serde_json::json!({
            "version": "0", "id": "x", "detail-type": detail_type, "source": "aws.cloudwatch",
            "time": "2019-10-02T17:04:40Z", "region": "eu-central-1", "resources": [],
            "detail": {"alarmName": "api-5xx", "state": {"value": state, "reason": "r", "timestamp": ts},
                       "previousState": {"value": "OK"}}
        })
        .to_string()
    }

    #[test]
    fn parses_alarm_state_change() {
        let got = parse_alarm_state_change(&envelope(
            "CloudWatch Alarm State Change",
            "ALARM",
            "2019-10-02T17:04:40.985+0000",
        ))
        .unwrap();
        assert_eq!(got.alarm_name, "api-5xx");
        assert_eq!(got.state, AlarmState::Alarm);
        assert_eq!(got.timestamp_ms, 1_570_035_880_985);
        assert_eq!(got.region, "eu-central-1");
        let rfc = parse_alarm_state_change(&envelope(
            "CloudWatch Alarm State Change",
            "OK",
            "2019-10-02T17:04:40.985Z",
        ))
        .unwrap();
        assert_eq!(rfc.timestamp_ms, 1_570_035_880_985);
    }

    #[test]
    fn ignores_other_events_and_garbage() {
        assert!(
            parse_alarm_state_change(&envelope(
                "Something Else",
                "ALARM",
                "2019-10-02T17:04:40.985+0000"
            ))
            .is_none()
        );
        assert!(
            parse_alarm_state_change(&envelope(
                "CloudWatch Alarm State Change",
                "WEIRD",
                "2019-10-02T17:04:40.985+0000"
            ))
            .is_none()
        );
        assert!(
            parse_alarm_state_change(&envelope(
                "CloudWatch Alarm State Change",
                "OK",
                "yesterday"
            ))
            .is_none()
        );
        assert!(parse_alarm_state_change("not json").is_none());
    }

    #[test]
    fn a_body_over_the_limit_is_not_parsed() {
        let padded = |len: usize| {
            let event = envelope(
                "CloudWatch Alarm State Change",
                "ALARM",
                "2019-10-02T17:04:40.985+0000",
            );
            // Whitespace before the closing brace: still the same JSON document.
            let pad = len - event.len();
            format!("{}{}}}", &event[..event.len() - 1], " ".repeat(pad))
        };
        let at_limit = padded(MAX_EVENT_BYTES);
        assert_eq!(at_limit.len(), MAX_EVENT_BYTES);
        assert!(parse_alarm_state_change(&at_limit).is_some());
        assert!(parse_alarm_state_change(&padded(MAX_EVENT_BYTES + 1)).is_none());
    }

    #[test]
    fn policy_names_queue_and_rules() {
        let p: serde_json::Value =
            serde_json::from_str(&eventbridge_policy("arn:q", &["arn:r".to_string()])).unwrap();
        assert_eq!(p["Statement"][0]["Resource"], "arn:q");
        assert_eq!(
            p["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"][0],
            "arn:r"
        );
    }
}
