//! Fuzz target for the SQS wake-up messages: a message body (UTF-8, lossily) through
//! `regionctl_aws::sqs::parse_alarm_state_change`, the parser of EventBridge's
//! "CloudWatch Alarm State Change" events. Anyone the queue policy allows can send a body.
//!
//! Properties: nothing panics; a body over `MAX_EVENT_BYTES` is never read as an event;
//! an event read is the alarm-state-change envelope it came from (its detail type, alarm
//! name and region).
#![no_main]

use libfuzzer_sys::fuzz_target;
use regionctl_aws::sqs::{MAX_EVENT_BYTES, parse_alarm_state_change};

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let Some(event) = parse_alarm_state_change(&body) else {
        return;
    };
    assert!(body.len() <= MAX_EVENT_BYTES);
    let v: serde_json::Value = serde_json::from_str(&body).expect("an event read is JSON");
    assert_eq!(v["detail-type"], "CloudWatch Alarm State Change");
    assert_eq!(
        v["detail"]["alarmName"].as_str(),
        Some(event.alarm_name.as_str())
    );
    assert_eq!(v["region"].as_str(), Some(event.region.as_str()));
});
