//! EventBridge → SQS against moto: the alarm rule delivers (injected) alarm state changes,
//! messages are parsed and deleted; oversized events become claim checks.

use crate::harness::{sdk, unique};
use regionctl_aws::ErrorClass;
use regionctl_aws::eventbridge::{
    ALARM_DETAIL_TYPE, EventBridgeClient, MAX_ENTRY_BYTES, PublishOutcome,
};
use regionctl_aws::sqs::SqsClient;
use regionctl_aws::types::AlarmState;

#[tokio::test]
async fn alarm_events_reach_the_queue_and_are_parsed() {
    let conf = sdk("eu-west-1").await;
    let (sqs, eb) = (SqsClient::new(&conf), EventBridgeClient::new(&conf));
    let qname = unique("wake");
    let queue = sqs.create_queue(&qname).await.unwrap();
    assert_eq!(
        sqs.create_queue(&qname).await.unwrap(),
        queue,
        "CreateQueue is idempotent"
    );
    assert_eq!(sqs.queue_url(&qname).await.unwrap(), queue.url);
    assert!(queue.arn.ends_with(&qname));

    let prefix = unique("svc");
    let rule = unique("rule");
    let rule_arn = eb.put_alarm_rule(&rule, Some(&prefix)).await.unwrap();
    eb.put_sqs_target(&rule, "wake-queue", &queue.arn)
        .await
        .unwrap();
    sqs.allow_eventbridge(&queue, std::slice::from_ref(&rule_arn))
        .await
        .unwrap();
    assert!(
        sqs.policy(&queue.url)
            .await
            .unwrap()
            .unwrap()
            .contains(&rule_arn)
    );

    // moto never emits alarm events: inject one the way CloudWatch would shape it.
    let detail = serde_json::json!({
        "alarmName": format!("{prefix}-5xx"),
        "state": {"value": "ALARM", "reason": "threshold", "timestamp": "2026-11-22T10:00:00.123+0000"},
        "previousState": {"value": "OK"}
    })
    .to_string();
    let sent = eb
        .put_raw_event("aws.cloudwatch", ALARM_DETAIL_TYPE, &detail, &[])
        .await
        .unwrap();
    assert!(matches!(sent, PublishOutcome::Published { .. }));
    // An alarm outside the prefix and a regionctl event do not match the rule.
    let other = detail.replace(&prefix, "other");
    eb.put_raw_event("aws.cloudwatch", ALARM_DETAIL_TYPE, &other, &[])
        .await
        .unwrap();
    eb.put_event("regionctl Decision", "{\"id\":\"d1\"}", &[])
        .await
        .unwrap();

    let msgs = sqs.receive(&queue.url, 10, 1).await.unwrap();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let change = msgs[0].alarm_change.clone().unwrap();
    assert_eq!(change.alarm_name, format!("{prefix}-5xx"));
    assert_eq!(change.state, AlarmState::Alarm);
    assert_eq!(change.region, "eu-west-1");
    assert_eq!(change.timestamp_ms, 1_795_341_600_123);

    sqs.delete(&queue.url, &msgs[0].receipt_handle)
        .await
        .unwrap();
    assert!(sqs.receive(&queue.url, 10, 0).await.unwrap().is_empty());

    // Non-event bodies are received but not parsed.
    sqs.send(&queue.url, "hello").await.unwrap();
    let plain = sqs.receive(&queue.url, 10, 1).await.unwrap();
    assert_eq!(plain.len(), 1);
    assert!(plain[0].alarm_change.is_none());

    let err = sqs.queue_url(&unique("absent")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent, "{err}");
    let err = eb
        .put_rule(&unique("bad"), "{\"source\": \"not-an-array\"}")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidEventPatternException"), "{err}");
}

#[tokio::test]
async fn oversized_events_become_claim_checks() {
    let eb = EventBridgeClient::new(&sdk("eu-west-1").await);
    let detail = format!("{{\"blob\":\"{}\"}}", "x".repeat(MAX_ENTRY_BYTES));
    match eb
        .put_event("regionctl Decision", &detail, &[])
        .await
        .unwrap()
    {
        PublishOutcome::TooLarge { bytes } => assert!(bytes > MAX_ENTRY_BYTES),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let ok = eb
        .put_event(
            "regionctl Decision",
            "{\"ref\":\"journal://d1\"}",
            &["arn:aws:regionctl:::decision/d1".into()],
        )
        .await
        .unwrap();
    assert!(matches!(ok, PublishOutcome::Published { ref event_id } if !event_id.is_empty()));
}
