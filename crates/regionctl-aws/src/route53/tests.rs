//! Unit tests for the paths moto cannot exercise: throttling, 5xx, PENDING changes.

use super::*;
use crate::types::{RecordSet, RecordType, Routing};
use aws_sdk_route53::Client;
use aws_sdk_route53::operation::change_resource_record_sets::{
    ChangeResourceRecordSetsError, ChangeResourceRecordSetsOutput,
};
use aws_sdk_route53::operation::get_change::GetChangeOutput;
use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
use aws_sdk_route53::types::error::{InvalidChangeBatch, PriorRequestNotComplete};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use aws_smithy_types::error::ErrorMetadata;

fn change_info(status: r53::ChangeStatus) -> r53::ChangeInfo {
    r53::ChangeInfo::builder()
        .id("/change/C1")
        .status(status)
        .submitted_at(DateTime::from_secs(0))
        .build()
        .unwrap()
}

fn change_ok(status: r53::ChangeStatus) -> ChangeResourceRecordSetsOutput {
    ChangeResourceRecordSetsOutput::builder()
        .change_info(change_info(status))
        .build()
}

fn get_change(status: r53::ChangeStatus) -> GetChangeOutput {
    GetChangeOutput::builder()
        .change_info(change_info(status))
        .build()
}

fn throttling() -> ChangeResourceRecordSetsError {
    ChangeResourceRecordSetsError::generic(
        ErrorMetadata::builder()
            .code("Throttling")
            .message("Rate exceeded")
            .build(),
    )
}

fn weighted(name: &str, id: &str, weight: u8) -> RecordSet {
    RecordSet {
        name: name.to_string(),
        rtype: RecordType::A.into(),
        ttl: 60,
        values: vec!["10.0.0.1".to_string()],
        routing: Routing::Weighted {
            set_identifier: id.to_string(),
            weight,
        },
        health_check_id: None,
    }
}

fn fast(client: Client) -> Route53Client {
    Route53Client::from_client(client, Arc::new(SharedBucket::new(BucketConfig::default())))
        .with_retry(RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
        })
        .with_insync(InsyncPolicy {
            poll_interval: Duration::from_millis(10),
            max_polls: 5,
        })
        .with_verify(false)
}

fn one_change() -> Vec<RecordChange> {
    vec![RecordChange::upsert(weighted("api.example.com.", "eu", 0))]
}

#[tokio::test(start_paused = true)]
async fn throttling_then_success_is_retried() {
    let rule = mock!(Client::change_resource_record_sets)
        .sequence()
        .error(throttling)
        .times(2)
        .output(|| change_ok(r53::ChangeStatus::Insync))
        .build();
    let r53c = fast(mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&rule]));
    let report = r53c.apply_changes("Z1", one_change()).await.unwrap();
    assert_eq!(report.change_calls, 3);
    assert_eq!(report.retries, 2);
    assert_eq!(report.batches, 1);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn prior_request_not_complete_is_retried() {
    let rule = mock!(Client::change_resource_record_sets)
        .sequence()
        .error(|| {
            ChangeResourceRecordSetsError::PriorRequestNotComplete(
                PriorRequestNotComplete::builder()
                    .meta(
                        ErrorMetadata::builder()
                            .code("PriorRequestNotComplete")
                            .build(),
                    )
                    .build(),
            )
        })
        .output(|| change_ok(r53::ChangeStatus::Insync))
        .build();
    let r53c = fast(mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&rule]));
    let report = r53c.apply_changes("Z1", one_change()).await.unwrap();
    assert_eq!((report.change_calls, report.retries), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn server_error_is_retried() {
    let rule = mock!(Client::change_resource_record_sets)
        .sequence()
        .http_status(500, None)
        .output(|| change_ok(r53::ChangeStatus::Insync))
        .build();
    let r53c = fast(mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&rule]));
    let report = r53c.apply_changes("Z1", one_change()).await.unwrap();
    assert_eq!((report.change_calls, report.retries), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded() {
    let rule = mock!(Client::change_resource_record_sets)
        .sequence()
        .error(throttling)
        .repeatedly()
        .build();
    let r53c = fast(mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&rule]));
    let err = r53c.apply_changes("Z1", one_change()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Throttled);
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    let rule = mock!(Client::change_resource_record_sets).then_error(|| {
        ChangeResourceRecordSetsError::InvalidChangeBatch(
            InvalidChangeBatch::builder()
                .meta(
                    ErrorMetadata::builder()
                        .code("InvalidChangeBatch")
                        .message("not found")
                        .build(),
                )
                .build(),
        )
    });
    let r53c = fast(mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&rule]));
    let err = r53c.apply_changes("Z1", one_change()).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(err.code(), Some("InvalidChangeBatch"));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn pending_change_is_polled_until_insync() {
    let change = mock!(Client::change_resource_record_sets)
        .then_output(|| change_ok(r53::ChangeStatus::Pending));
    let poll = mock!(Client::get_change)
        .sequence()
        .output(|| get_change(r53::ChangeStatus::Pending))
        .times(2)
        .output(|| get_change(r53::ChangeStatus::Insync))
        .build();
    let r53c = fast(mock_client!(
        aws_sdk_route53,
        RuleMode::MatchAny,
        [&change, &poll]
    ));
    let report = r53c.apply_changes("Z1", one_change()).await.unwrap();
    assert_eq!(report.get_change_calls, 3);
    assert_eq!(report.change_ids, vec!["/change/C1".to_string()]);
}

#[tokio::test(start_paused = true)]
async fn never_insync_is_a_bounded_error() {
    let change = mock!(Client::change_resource_record_sets)
        .then_output(|| change_ok(r53::ChangeStatus::Pending));
    let poll = mock!(Client::get_change)
        .sequence()
        .output(|| get_change(r53::ChangeStatus::Pending))
        .repeatedly()
        .build();
    let r53c = fast(mock_client!(
        aws_sdk_route53,
        RuleMode::MatchAny,
        [&change, &poll]
    ));
    let err = r53c.apply_changes("Z1", one_change()).await.unwrap_err();
    assert!(matches!(err, AwsError::NotInsync { polls: 5, .. }), "{err}");
    assert_eq!(poll.num_calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn guard_rejection_sends_nothing() {
    let change = mock!(Client::change_resource_record_sets)
        .then_output(|| change_ok(r53::ChangeStatus::Insync));
    let r53c = fast(mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&change]));
    // 600 upserts -> 2 batches; the guard rejects any state that is not complete.
    let changes: Vec<_> = (0..600)
        .map(|i| RecordChange::upsert(weighted(&format!("s{i}.example.com."), "eu", 0)))
        .collect();
    let err = r53c
        .apply_guarded("Z1", changes, |applied| {
            if applied.len() == 600 {
                Ok(())
            } else {
                Err(format!("{} of 600 written", applied.len()))
            }
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AwsError::GuardRejected { batch_index: 0, why } if why.contains("of 600 written")),
        "{err}"
    );
    assert_eq!(change.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn read_back_mismatch_is_reported() {
    let change = mock!(Client::change_resource_record_sets)
        .then_output(|| change_ok(r53::ChangeStatus::Insync));
    let list = mock!(Client::list_resource_record_sets).then_output(|| {
        let stale = r53::ResourceRecordSet::builder()
            .name("api.example.com.")
            .r#type(r53::RrType::A)
            .ttl(60)
            .set_identifier("eu")
            .weight(100)
            .resource_records(
                r53::ResourceRecord::builder()
                    .value("10.0.0.1")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        ListResourceRecordSetsOutput::builder()
            .resource_record_sets(stale)
            .is_truncated(false)
            .max_items(300)
            .build()
            .unwrap()
    });
    let r53c = fast(mock_client!(
        aws_sdk_route53,
        RuleMode::MatchAny,
        [&change, &list]
    ))
    .with_verify(true);
    let err = r53c.apply_changes("Z1", one_change()).await.unwrap_err();
    match err {
        AwsError::ReadBackMismatch { mismatches, .. } => {
            assert_eq!(mismatches.len(), 1, "{mismatches:?}")
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn compare_handles_delete_then_create() {
    let old = weighted("a.example.com", "eu", 10);
    let new = weighted("a.example.com", "eu", 20);
    let changes = RecordChange::compare_and_swap(old.clone(), new.clone()).to_vec();
    assert!(compare(&changes, std::slice::from_ref(&new)).is_empty());
    assert_eq!(compare(&changes, &[old]).len(), 1);
    assert_eq!(
        compare(&[RecordChange::delete(new.clone())], &[new]).len(),
        1
    );
}
