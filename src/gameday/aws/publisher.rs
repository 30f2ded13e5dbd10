//! The chaos injector of `--target aws`: which alarms it publishes `Fault = 1` for, the
//! calls, and the rollback that publishes 0 for every alarm it ever touched.

use super::super::Console;
use crate::chaos;
use anyhow::{Context, Result, anyhow};
use regionctl_aws::cloudwatch::{CloudWatchClient, MetricPoint};
use regionctl_aws::types::AlarmState;
use regionctl_sim::gameday::AlarmTarget;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Attempts per region to publish 0 on rollback.
const ROLLBACK_ATTEMPTS: u32 = 3;
/// Datums per PutMetricData call (the API takes up to 1,000).
const DATUMS_PER_CALL: usize = 500;

/// What the chaos injector has done: alarms it publishes 1 for now (by fault id), and every
/// alarm it ever published for (rollback publishes 0 for all of them).
#[derive(Default)]
pub(super) struct Chaos {
    pub(super) active: BTreeMap<String, Vec<AlarmTarget>>,
    pub(super) touched: BTreeSet<AlarmTarget>,
    /// PutMetricData calls made.
    pub(super) published: usize,
}

impl Chaos {
    /// Every alarm a fault in force holds.
    pub(super) fn on(&self) -> BTreeSet<AlarmTarget> {
        self.active.values().flatten().cloned().collect()
    }
}

/// Publishes `value` for every target's chaos metric, per region (one call per 500);
/// returns the calls made.
pub(super) async fn publish(
    cw: &BTreeMap<String, CloudWatchClient>,
    targets: &BTreeSet<AlarmTarget>,
    value: f64,
) -> Result<usize> {
    let mut by_region: BTreeMap<&str, Vec<MetricPoint>> = BTreeMap::new();
    for t in targets {
        let m = chaos::metric(&t.service, &t.region, &t.alarm);
        by_region
            .entry(t.region.as_str())
            .or_default()
            .push(MetricPoint {
                name: m.metric_name,
                dimensions: m.dimensions,
                value,
                timestamp_ms: None,
            });
    }
    let mut calls = 0;
    for (region, points) in by_region {
        let client = cw
            .get(region)
            .ok_or_else(|| anyhow!("no CloudWatch client for {region}"))?;
        for chunk in points.chunks(DATUMS_PER_CALL) {
            client
                .put_metric_data(chaos::NAMESPACE, chunk)
                .await
                .with_context(|| format!("publishing the chaos metric in {region}"))?;
            calls += 1;
        }
    }
    Ok(calls)
}

/// Rollback: publish 0 for every chaos metric touched, retrying; says what it could not do.
pub(super) async fn rollback(
    cw: &BTreeMap<String, CloudWatchClient>,
    chaos: &Chaos,
    console: &dyn Console,
) -> bool {
    let mut ok = true;
    let regions: BTreeSet<&str> = chaos.touched.iter().map(|t| t.region.as_str()).collect();
    for region in regions {
        let mine: BTreeSet<AlarmTarget> = chaos
            .touched
            .iter()
            .filter(|t| t.region == region)
            .cloned()
            .collect();
        let mut attempt = 1;
        let failed = loop {
            match publish(cw, &mine, chaos::FAULT_OFF).await {
                Ok(_) => break None,
                Err(e) if attempt >= ROLLBACK_ATTEMPTS => break Some(e),
                Err(_) => {
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                    attempt += 1;
                }
            }
        };
        if let Some(e) = failed {
            ok = false;
            console.warn(&format!(
                "ROLLBACK FAILED in {region}: {e:#}\n  publish 0 yourself for {} in namespace {}, \
                 metric {} (or wait 2–3 minutes: without data the alarms fall back to their \
                 real metric)",
                mine.iter()
                    .map(|t| t.alarm.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                chaos::NAMESPACE,
                chaos::METRIC_NAME
            ));
        }
    }
    ok
}

/// Says each targeted alarm's state when it changes: the live view of real evaluation.
pub(super) async fn report_alarm_states(
    cw: &BTreeMap<String, CloudWatchClient>,
    touched: &BTreeSet<AlarmTarget>,
    seen: &mut BTreeMap<String, AlarmState>,
    elapsed: f64,
    console: &dyn Console,
) {
    for (region, client) in cw {
        let names: Vec<String> = touched
            .iter()
            .filter(|x| &x.region == region)
            .map(|x| x.alarm.clone())
            .collect();
        if names.is_empty() {
            continue;
        }
        let Ok(found) = client.alarms_by_names(&names).await else {
            continue;
        };
        for a in found {
            if seen.get(&a.name) != Some(&a.state) {
                console.progress(&format!(
                    "[{elapsed:6.1}s] alarm {} in {region}: {}",
                    a.name,
                    regionctl_aws::types::alarm_state_name(a.state)
                ));
                seen.insert(a.name.clone(), a.state);
            }
        }
    }
}
