//! The record ports: `Journal` (the DynamoDB table, keys in
//! `regionctl-controller/src/journal.rs`) and `Events` (EventBridge, with a claim check for
//! details over the size limit).

use super::{AwsWorld, Host, now_millis};
use crate::dynamodb::PutOutcome;
use crate::eventbridge::PublishOutcome;
use regionctl_controller::journal::budget;
use regionctl_controller::ports::{
    ErrorClass, Events, Journal, JournalItem, PortError, PortResult,
};

impl<H: Host> AwsWorld<H> {
    /// An item over its kind's size budget, or the host's refusal of a write (a test
    /// failpoint), as DynamoDB's would read.
    fn refused(&self, item: &JournalItem) -> PortResult<()> {
        budget::admit_write(item)?;
        if self.host.refuse_journal_write(&item.sk) {
            return Err(PortError::new(
                "dynamodb",
                "PutItem",
                ErrorClass::Permanent,
                format!(
                    "AccessDeniedException: write of {} refused (failpoint)",
                    item.sk
                ),
            ));
        }
        Ok(())
    }
}

impl<H: Host> Journal for AwsWorld<H> {
    async fn put_new(&self, item: &JournalItem) -> PortResult<bool> {
        self.refused(item)?;
        match self
            .journal
            .put_new(item)
            .await
            .map_err(|e| e.into_port("dynamodb", "PutItem"))?
        {
            PutOutcome::Written => Ok(true),
            PutOutcome::AlreadyExists => Ok(false),
        }
    }

    async fn put(&self, item: &JournalItem) -> PortResult<()> {
        self.refused(item)?;
        self.journal
            .put(item)
            .await
            .map_err(|e| e.into_port("dynamodb", "PutItem"))
    }

    async fn query(&self, pk: &str, prefix: &str) -> PortResult<Vec<PortResult<JournalItem>>> {
        let (items, _pages) = self
            .journal
            .query_items(pk, prefix)
            .await
            .map_err(|e| e.into_port("dynamodb", "Query"))?;
        let now_secs = now_millis() / 1000;
        Ok(items
            .into_iter()
            // TTL deletion is lazy (and moto never deletes): ignore expired items here.
            .filter(|it| {
                it.as_ref()
                    .map_or(true, |it| it.expires_at.is_none_or(|t| t > now_secs))
            })
            .map(|it| it.map_err(|e| e.into_port("dynamodb", "Query")))
            .collect())
    }
}

impl<H> Events for AwsWorld<H> {
    async fn publish(&self, detail_type: &str, detail: &serde_json::Value) -> PortResult<()> {
        let text = detail.to_string();
        match self
            .events
            .put_event(detail_type, &text, &[])
            .await
            .map_err(|e| e.into_port("eventbridge", "PutEvents"))?
        {
            PublishOutcome::TooLarge { bytes } => {
                // Claim check: the full record is in the journal; publish a reference.
                let reference = serde_json::json!({ "claim_check": true, "bytes": bytes, "decision": detail.pointer("/decision/id") });
                self.events
                    .put_event(detail_type, &reference.to_string(), &[])
                    .await
                    .map_err(|e| e.into_port("eventbridge", "PutEvents"))?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
