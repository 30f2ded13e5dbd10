//! The `Dns` port on Route 53: weighted records, written with the health checks they had.

use super::AwsWorld;
use crate::types::{RecordChange, RecordSet, Routing};
use regionctl_controller::ports::{BatchCheck, ChangeReport, Dns, PortResult, WeightedRecord};
use std::collections::HashMap;

/// A record name as the health-check cache keys it.
fn record_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The port's view of a listed record set: weighted sets of the types regionctl manages.
fn weighted(r: RecordSet) -> Option<WeightedRecord> {
    match r.routing {
        Routing::Weighted {
            set_identifier,
            weight,
        } => Some(WeightedRecord {
            name: r.name.trim_end_matches('.').to_string(),
            record_type: r.rtype.managed()?,
            set_identifier,
            value: r.values.first().cloned().unwrap_or_default(),
            ttl: r.ttl,
            weight,
        }),
        _ => None,
    }
}

impl<H> AwsWorld<H> {
    /// Remembers the health check of every weighted record set read from `zone`.
    fn remember_health_checks(&self, zone: &str, records: &[RecordSet]) {
        if let Ok(mut known) = self.health_checks.lock() {
            for r in records {
                if let (Routing::Weighted { set_identifier, .. }, Some(id)) =
                    (&r.routing, &r.health_check_id)
                {
                    known.insert(
                        (
                            zone.to_string(),
                            record_key(&r.name),
                            set_identifier.clone(),
                        ),
                        id.clone(),
                    );
                }
            }
        }
    }

    /// The UPSERTs that write `records` into `zone`, each with the health check it was last
    /// read with.
    fn upserts(&self, zone: &str, records: &[WeightedRecord]) -> Vec<RecordChange> {
        let known = self
            .health_checks
            .lock()
            .map(|k| k.clone())
            .unwrap_or_default();
        records
            .iter()
            .map(|r| {
                let health_check_id = known
                    .get(&(
                        zone.to_string(),
                        record_key(&r.name),
                        r.set_identifier.clone(),
                    ))
                    .cloned();
                RecordChange::upsert(RecordSet {
                    name: r.name.clone(),
                    rtype: r.record_type.into(),
                    ttl: r.ttl,
                    values: vec![r.value.clone()],
                    routing: Routing::Weighted {
                        set_identifier: r.set_identifier.clone(),
                        weight: r.weight,
                    },
                    health_check_id,
                })
            })
            .collect()
    }
}

impl<H> Dns for AwsWorld<H> {
    async fn read_weighted(&self, zone: &str) -> PortResult<Vec<WeightedRecord>> {
        let (records, _calls) = self
            .route53
            .list_record_sets(zone)
            .await
            .map_err(|e| e.into_port("route53", "ListResourceRecordSets"))?;
        self.remember_health_checks(zone, &records);
        Ok(records.into_iter().filter_map(weighted).collect())
    }

    async fn upsert_weighted(
        &self,
        zone: &str,
        records: &[WeightedRecord],
        check: BatchCheck<'_>,
    ) -> PortResult<ChangeReport> {
        // The guard sees the state after each batch as the records written so far (a batch
        // never splits a name and type, so every cell is either old or new).
        let by_key: HashMap<(&str, &str), &WeightedRecord> = records
            .iter()
            .map(|r| ((r.name.as_str(), r.set_identifier.as_str()), r))
            .collect();
        let guard = |applied: &[RecordChange]| {
            let written: Vec<WeightedRecord> = applied
                .iter()
                .filter_map(|c| match &c.record.routing {
                    Routing::Weighted { set_identifier, .. } => by_key
                        .get(&(c.record.name.as_str(), set_identifier.as_str()))
                        .map(|r| (*r).clone()),
                    _ => None,
                })
                .collect();
            check(&written).map_err(|violations| {
                violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        };
        let report = self
            .route53
            .apply_guarded(zone, self.upserts(zone, records), guard)
            .await
            .map_err(|e| e.into_port("route53", "ChangeResourceRecordSets"))?;
        Ok(ChangeReport {
            calls: report.change_calls + report.get_change_calls + report.list_calls,
            records: u32::try_from(report.changes).unwrap_or(u32::MAX),
            verified: true,
        })
    }
}
