//! DynamoDB: the journal table (decisions, observations, heartbeats, leases, controls).
//!
//! # Table design
//!
//! In production the journal is a DynamoDB global table in multi-region eventual
//! consistency (MREC): conditional writes are checked only against the local replica and
//! conflicts resolve last-writer-wins. So safety never rests on a lock:
//!
//! * **Every item is written only by its owning region** (the `owner` attribute, also part
//!   of the key), so last-writer-wins never decides between two regions.
//! * **Decision ids are content hashes** of (scope, policy-bundle hash, target state): the
//!   same decision reached twice maps to the same key, and `attribute_not_exists(pk)` makes
//!   the second write a no-op ([`PutOutcome::AlreadyExists`]).
//!
//! Keys are strings `pk` (partition) and `sk` (sort); queries are "all items of a pk whose sk
//! begins with a prefix". Item kinds:
//!
//! | kind | pk | sk | written | TTL |
//! |---|---|---|---|---|
//! | `DECISION` intent | `DECISION#{scope}` | `{decision_id}#{owner}#INTENT` | once, before acting | 90 days |
//! | `DECISION` outcome | `DECISION#{scope}` | `{decision_id}#{owner}#OUTCOME` | once, after verifying | 90 days |
//! | `OBSERVATION` digest | `OBS#{owner}` | `{tick_ms:013}` | one per observer per tick (all cells in one item) | 1 day |
//! | `HEARTBEAT` | `HEARTBEAT` | `{owner}#{controller}` | overwritten each tick; carries the policy-bundle hash | 1 hour |
//! | `LEASE` | `LEASE#{scope}` | `{owner}` | overwritten by its owner; only reduces duplicate calls | lease end |
//! | `CONTROL` pause/override | `CONTROL` | `PAUSE#{owner}` / `OVERRIDE#{scope}#{owner}` | by an operator through the region's controller | override end |
//!
//! A decision is recorded as two items (intent, then outcome) so a crash between acting and
//! recording leaves an intent without an outcome, which the next tick re-verifies. TTL is
//! the numeric attribute `expires_at` (epoch seconds); DynamoDB deletes expired items lazily
//! (and moto never does), so readers must ignore expired items themselves.

use crate::errors::{AwsError, Result};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types as ddb;
use std::collections::HashMap;

const SERVICE: &str = "dynamodb";

/// The kind of a journal item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A decision intent or outcome.
    Decision,
    /// One observer's digest for one tick.
    Observation,
    /// A controller heartbeat.
    Heartbeat,
    /// A lease (advisory).
    Lease,
    /// A pause switch or manual override.
    Control,
}

impl ItemKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Decision => "DECISION",
            ItemKind::Observation => "OBSERVATION",
            ItemKind::Heartbeat => "HEARTBEAT",
            ItemKind::Lease => "LEASE",
            ItemKind::Control => "CONTROL",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<ItemKind> {
        [
            ItemKind::Decision,
            ItemKind::Observation,
            ItemKind::Heartbeat,
            ItemKind::Lease,
            ItemKind::Control,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One journal item. The payload is an opaque JSON document owned by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalItem {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
    /// Item kind.
    pub kind: ItemKind,
    /// The region that owns (and alone writes) this item.
    pub owner: String,
    /// Payload (JSON).
    pub body: String,
    /// Expiry in epoch seconds (the table's TTL attribute).
    pub expires_at: Option<i64>,
}

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
        ("body".to_string(), s(&item.body)),
    ]);
    if let Some(t) = item.expires_at {
        m.insert(
            "expires_at".to_string(),
            ddb::AttributeValue::N(t.to_string()),
        );
    }
    m
}

fn from_item(m: &HashMap<String, ddb::AttributeValue>) -> Result<JournalItem> {
    let get = |k: &str| -> Result<String> {
        match m.get(k) {
            Some(ddb::AttributeValue::S(v)) => Ok(v.clone()),
            _ => Err(AwsError::missing(SERVICE, "GetItem/Query", k)),
        }
    };
    let kind_name = get("kind")?;
    Ok(JournalItem {
        pk: get("pk")?,
        sk: get("sk")?,
        kind: ItemKind::parse(&kind_name).ok_or_else(|| AwsError::UnexpectedResponse {
            service: SERVICE,
            operation: "GetItem/Query",
            message: format!("unknown kind {kind_name}"),
        })?,
        owner: get("owner")?,
        body: get("body")?,
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

    /// Writes `item` unconditionally (heartbeats, leases: items only their owner writes).
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

    /// All items of `pk` whose `sk` begins with `sk_prefix`, in sort-key order (all pages).
    /// Returns the items and the number of `Query` calls made.
    pub async fn query_prefix(&self, pk: &str, sk_prefix: &str) -> Result<(Vec<JournalItem>, u32)> {
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
                out.push(from_item(item)?);
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
            sk: "abc#eu-central-1#INTENT".into(),
            kind: ItemKind::Decision,
            owner: "eu-central-1".into(),
            body: "{}".into(),
            expires_at: Some(42),
        };
        assert_eq!(from_item(&to_item(&item)).unwrap(), item);
        let mut broken = to_item(&item);
        broken.insert("kind".into(), s("NOPE"));
        assert!(from_item(&broken).is_err());
    }
}
