//! The journal table against moto: conditional create, get, paginated prefix query (keys
//! shaped as in `regionctl-controller/src/journal.rs`).

use crate::harness::{sdk, unique};
use regionctl_aws::dynamodb::{ItemKind, Journal, JournalItem, PutOutcome};
use serde_json::{Value, json};

fn item(pk: &str, sk: &str, kind: ItemKind, body: Value) -> JournalItem {
    JournalItem {
        pk: pk.into(),
        sk: sk.into(),
        kind,
        owner: "eu-central-1".into(),
        body,
        expires_at: Some(4_000_000_000),
    }
}

#[tokio::test]
async fn journal_conditional_writes_and_queries() {
    let journal = Journal::new(&sdk("eu-central-1").await, unique("journal")).with_page_size(7);
    journal.create_table().await.unwrap();
    journal.create_table().await.unwrap(); // idempotent

    let intent = item(
        "DECISION#svc",
        "d1#INTENT",
        ItemKind::Decision,
        json!({"v": 1}),
    );
    assert_eq!(journal.put_new(&intent).await.unwrap(), PutOutcome::Written);
    let again = JournalItem {
        body: json!({"v": 2}),
        ..intent.clone()
    };
    assert_eq!(
        journal.put_new(&again).await.unwrap(),
        PutOutcome::AlreadyExists
    );
    assert_eq!(
        journal.get(&intent.pk, &intent.sk).await.unwrap(),
        Some(intent.clone())
    );
    assert_eq!(journal.get(&intent.pk, "nope").await.unwrap(), None);

    // Heartbeats are overwritten by their owner.
    let hb = item(
        "HEARTBEAT",
        "eu-central-1",
        ItemKind::Heartbeat,
        json!({"policy": "h1"}),
    );
    journal.put(&hb).await.unwrap();
    journal
        .put(&JournalItem {
            body: json!({"policy": "h2"}),
            ..hb.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        journal.get(&hb.pk, &hb.sk).await.unwrap().unwrap().body,
        json!({"policy": "h2"})
    );

    for tick in 0..25u64 {
        let intent = item(
            "DECISION#paged",
            &format!("{:013}#INTENT", 1_700_000_000_000 + tick),
            ItemKind::Decision,
            json!({}),
        );
        journal.put_new(&intent).await.unwrap();
    }
    journal
        .put_new(&item(
            "DECISION#paged",
            "9999999999999#INTENT",
            ItemKind::Decision,
            json!({}),
        ))
        .await
        .unwrap();
    let (found, calls) = journal.query_prefix("DECISION#paged", "17").await.unwrap();
    assert_eq!(found.len(), 25);
    assert!(found.windows(2).all(|w| w[0].sk < w[1].sk));
    assert_eq!(calls, 4, "25 items at 7 per page");

    // A table that does not exist is a permanent error.
    let missing = Journal::new(&sdk("eu-central-1").await, unique("nope"));
    let err = missing.get("a", "b").await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err}");
}
