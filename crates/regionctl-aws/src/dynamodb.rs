//! DynamoDB: the journal table.
//!
//! # Table design
//!
//! In production the journal is a DynamoDB global table in multi-region eventual
//! consistency (MREC): conditional writes are checked only against the local replica and
//! conflicts resolve last-writer-wins. So safety never rests on a lock: every item is written
//! only by its owning region (the `owner` attribute), and decision ids are content hashes, so
//! the same decision reached twice maps to the same key and `attribute_not_exists(pk)` makes
//! the second write a no-op ([`PutOutcome::AlreadyExists`]).
//!
//! The items, their keys and their kinds are the controller's: the one key table is in
//! `regionctl-controller/src/journal.rs`. This client stores a
//! [`JournalItem`] as the string attributes `pk` (partition key), `sk` (sort key), `kind`,
//! `owner` and `body` (the JSON document as text), plus the number `expires_at`: the
//! table's TTL attribute, in epoch seconds. DynamoDB deletes expired items lazily (and moto
//! never does), so readers must ignore expired items themselves.
//!
//! Reading converts once, here ([`from_item`]), and item by item: an item without those
//! attributes, of a kind no controller writes, with a body over [`MAX_BODY_BYTES`] or a
//! body that is not JSON is an error in its place among the items read, never a failed
//! read. The journal is written by every controller and every operator, so one such item
//! must not make every reader stand down (issue 17, ADR 0012 §3: until the `journal_items`
//! fuzz target was written, an item of an unknown kind or without an attribute failed the
//! whole `Query`).

use crate::errors::{AwsError, Result};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types as ddb;
pub use regionctl_controller::ports::{ItemKind, JournalItem};
use std::collections::HashMap;

const SERVICE: &str = "dynamodb";

/// Result of a conditional create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The item was written.
    Written,
    /// An item with this key already exists; nothing was written.
    AlreadyExists,
}

/// A page-size-bounded journal client for one table in one region.
#[derive(Debug, Clone)]
pub struct Journal {
    client: aws_sdk_dynamodb::Client,
    table: String,
    page_size: i32,
}

fn s(v: &str) -> ddb::AttributeValue {
    ddb::AttributeValue::S(v.to_string())
}

fn to_item(item: &JournalItem) -> HashMap<String, ddb::AttributeValue> {
    let mut m = HashMap::from([
        ("pk".to_string(), s(&item.pk)),
        ("sk".to_string(), s(&item.sk)),
        ("kind".to_string(), s(item.kind.as_str())),
        ("owner".to_string(), s(&item.owner)),
        ("body".to_string(), s(&item.body.to_string())),
    ]);
    if let Some(t) = item.expires_at {
        m.insert(
            "expires_at".to_string(),
            ddb::AttributeValue::N(t.to_string()),
        );
    }
    m
}

/// The largest `body` attribute read: DynamoDB's item size limit (400 KB, attribute names
/// included), so no item DynamoDB stores is refused, and a response that is not DynamoDB's
/// cannot make the reader parse more. Writers stay far below it (the journal's budgets).
pub const MAX_BODY_BYTES: usize = 400 * 1024;

/// A journal item from its attributes as DynamoDB returns them, or why it is not one: a
/// missing or non-string attribute, an unknown kind, an oversized or unparseable body.
/// Each is an error for this item only (see the module docs).
pub fn from_item(m: &HashMap<String, ddb::AttributeValue>) -> Result<JournalItem> {
    let get = |k: &str| -> Result<String> {
        match m.get(k) {
            Some(ddb::AttributeValue::S(v)) => Ok(v.clone()),
            _ => Err(AwsError::missing(SERVICE, "GetItem/Query", k)),
        }
    };
    let (pk, sk) = (get("pk")?, get("sk")?);
    let kind_name = get("kind")?;
    let kind = ItemKind::parse(&kind_name).ok_or_else(|| AwsError::UnexpectedResponse {
        service: SERVICE,
        operation: "GetItem/Query",
        message: format!("journal item {pk} / {sk}: unknown kind {kind_name}"),
    })?;
    let owner = get("owner")?;
    let text = get("body")?;
    if text.len() > MAX_BODY_BYTES {
        return Err(AwsError::UnexpectedResponse {
            service: SERVICE,
            operation: "GetItem/Query",
            message: format!(
                "journal item {pk} / {sk}: body of {} bytes is over the {MAX_BODY_BYTES}-byte limit",
                text.len()
            ),
        });
    }
    let body = match serde_json::from_str(&text) {
        Ok(body) => body,
        Err(source) => return Err(AwsError::UnreadableItem { pk, sk, source }),
    };
    Ok(JournalItem {
        pk,
        sk,
        kind,
        owner,
        body,
        expires_at: match m.get("expires_at") {
            Some(ddb::AttributeValue::N(n)) => n.parse().ok(),
            _ => None,
        },
    })
}

impl Journal {
    /// A journal client for `table`.
    pub fn new(sdk: &SdkConfig, table: impl Into<String>) -> Self {
        Journal {
            client: aws_sdk_dynamodb::Client::new(sdk),
            table: table.into(),
            page_size: 100,
        }
    }

    /// Sets the query page size (tests use small pages to exercise pagination).
    pub fn with_page_size(mut self, page_size: i32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table (PAY_PER_REQUEST, string `pk`/`sk`) and enables TTL on
    /// `expires_at`. An existing table is left as is.
    pub async fn create_table(&self) -> Result<()> {
        let attr = |n: &str| {
            ddb::AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ddb::ScalarAttributeType::S)
                .build()
                .map_err(|e| AwsError::InvalidInput(e.to_string()))
        };
        let key = |n: &str, t: ddb::KeyType| {
            ddb::KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(|e| AwsError::InvalidInput(e.to_string()))
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(ddb::BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .key_schema(key("pk", ddb::KeyType::Hash)?)
            .key_schema(key("sk", ddb::KeyType::Range)?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_resource_in_use_exception()) => {}
            Err(e) => return Err(AwsError::from_sdk(SERVICE, "CreateTable", e)),
        }
        let ttl = ddb::TimeToLiveSpecification::builder()
            .attribute_name("expires_at")
            .enabled(true)
            .build()
            .map_err(|e| AwsError::InvalidInput(e.to_string()))?;
        match self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Already enabled (real DynamoDB rejects enabling twice).
            Err(e)
                if e.as_service_error()
                    .map(|se| se.to_string())
                    .is_some_and(|m| m.contains("already enabled")) =>
            {
                Ok(())
            }
            Err(e) => Err(AwsError::from_sdk(SERVICE, "UpdateTimeToLive", e)),
        }
    }

    /// Writes `item` only if no item with its key exists (`attribute_not_exists(pk)`).
    pub async fn put_new(&self, item: &JournalItem) -> Result<PutOutcome> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(item)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(PutOutcome::Written),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) => Err(AwsError::from_sdk(SERVICE, "PutItem", e)),
        }
    }

    /// Writes `item` unconditionally (heartbeats, digests: items only their owner writes).
    pub async fn put(&self, item: &JournalItem) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(item)))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "PutItem", e))?;
        Ok(())
    }

    /// Reads one item (strongly consistent in the local replica).
    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<JournalItem>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(SERVICE, "GetItem", e))?;
        out.item().map(from_item).transpose()
    }

    /// All items of `pk` whose `sk` begins with `sk_prefix`, in sort-key order (all pages),
    /// and the number of `Query` calls made. An item whose body cannot be read fails the
    /// whole read: tools and tests that read the journal want every item or an error (the
    /// controller's port reads with [`Journal::query_items`]).
    pub async fn query_prefix(&self, pk: &str, sk_prefix: &str) -> Result<(Vec<JournalItem>, u32)> {
        let (items, calls) = self.query_items(pk, sk_prefix).await?;
        Ok((items.into_iter().collect::<Result<_>>()?, calls))
    }

    /// [`Journal::query_prefix`], with an item that cannot be read (see [`from_item`]) as an
    /// error in its place.
    pub async fn query_items(
        &self,
        pk: &str,
        sk_prefix: &str,
    ) -> Result<(Vec<Result<JournalItem>>, u32)> {
        let mut out = Vec::new();
        let mut calls = 0;
        let mut start: Option<HashMap<String, ddb::AttributeValue>> = None;
        loop {
            calls += 1;
            // DynamoDB rejects an empty string in a key condition: no prefix, no sk clause.
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(pk));
            query = if sk_prefix.is_empty() {
                query.key_condition_expression("pk = :pk")
            } else {
                query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(sk_prefix))
            };
            let page = query
                .limit(self.page_size)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(SERVICE, "Query", e))?;
            for item in page.items() {
                out.push(from_item(item));
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok((out, calls)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_round_trips_through_attributes() {
        let item = JournalItem {
            pk: "DECISION#svc".into(),
            sk: "abc#INTENT".into(),
            kind: ItemKind::Decision,
            owner: "eu-central-1".into(),
            body: serde_json::json!({"id": "abc", "steps": [1, 2]}),
            expires_at: Some(42),
        };
        assert_eq!(from_item(&to_item(&item)).unwrap(), item);
        // A kind no controller writes (a `LEASE` never was) is not a journal item: no
        // longer coerced to `CONTROL`, and an error of this item only.
        for kind in ["NOPE", "LEASE"] {
            let mut broken = to_item(&item);
            broken.insert("kind".into(), s(kind));
            let err = from_item(&broken).expect_err(kind).to_string();
            assert!(err.contains(&format!("unknown kind {kind}")), "{err}");
            assert!(err.contains("DECISION#svc / abc#INTENT"), "{err}");
        }
        for missing in ["pk", "sk", "kind", "owner", "body"] {
            let mut broken = to_item(&item);
            broken.remove(missing);
            let err = from_item(&broken).expect_err(missing).to_string();
            assert!(err.contains(missing), "{err}");
        }
    }

    #[test]
    fn a_body_over_the_limit_is_refused_before_parsing() {
        let item = |len: usize| JournalItem {
            pk: "HEARTBEAT".into(),
            sk: "eu-west-1".into(),
            kind: ItemKind::Heartbeat,
            owner: "eu-west-1".into(),
            // A JSON string of `len` bytes with its quotes.
            body: serde_json::Value::String("x".repeat(len - 2)),
            expires_at: None,
        };
        let at_limit = item(MAX_BODY_BYTES);
        assert_eq!(from_item(&to_item(&at_limit)).unwrap(), at_limit);
        let err = from_item(&to_item(&item(MAX_BODY_BYTES + 1)))
            .expect_err("over the limit")
            .to_string();
        assert!(
            err.contains(
                "HEARTBEAT / eu-west-1: body of 409601 bytes is over the 409600-byte limit"
            ),
            "{err}"
        );
    }

    #[test]
    fn an_unreadable_body_is_an_error_of_its_own_not_null() {
        let item = JournalItem {
            pk: "HEARTBEAT".into(),
            sk: "eu-west-1".into(),
            kind: ItemKind::Heartbeat,
            owner: "eu-west-1".into(),
            body: serde_json::Value::Null,
            expires_at: None,
        };
        let mut attributes = to_item(&item);
        attributes.insert("body".into(), s("{not json"));
        match from_item(&attributes) {
            Err(AwsError::UnreadableItem { pk, sk, .. }) => {
                assert_eq!((pk.as_str(), sk.as_str()), ("HEARTBEAT", "eu-west-1"));
            }
            other => panic!("expected an unreadable item, got {other:?}"),
        }
        // `null` itself is a body like any other (a resumed pause).
        assert_eq!(from_item(&to_item(&item)).unwrap(), item);
    }
}
