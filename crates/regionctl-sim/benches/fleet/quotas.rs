//! The fleet benchmark's figures, held against AWS's default per-account quotas.

use regionctl_sim::generate::FleetShape;
use std::collections::BTreeMap;

/// Default request-rate quotas per account (and region, except Route 53), in requests per
/// second, as AWS documents them at the time of writing. Most are adjustable: check the
/// account's Service Quotas. Those marked `assumed` are not published as one figure; the
/// value is the documented sustained rate of the API's throttling bucket or an estimate.
const QUOTAS: [(&str, f64, &str); 9] = [
    ("cloudwatch:DescribeAlarms", 9.0, "CloudWatch API quota"),
    ("cloudwatch:GetMetricData", 50.0, "CloudWatch API quota"),
    ("cloudwatch:PutMetricData", 500.0, "CloudWatch API quota"),
    ("route53:", 5.0, "one quota for every Route 53 call, global"),
    (
        "ecs:DescribeServices",
        20.0,
        "ECS throttling, sustained (assumed)",
    ),
    (
        "ecs:UpdateService",
        10.0,
        "ECS throttling, sustained (assumed)",
    ),
    ("elbv2:DescribeListeners", 10.0, "ELB throttling (assumed)"),
    ("elbv2:ModifyListener", 5.0, "ELB throttling (assumed)"),
    (
        "events:PutEvents",
        400.0,
        "lowest regional default (assumed)",
    ),
];

/// Everything the benchmark measured.
pub struct Figures {
    pub shape: FleetShape,
    pub controllers: usize,
    pub steady_secs: u64,
    pub loss_secs: u64,
    pub steady_passes: u64,
    pub loss_passes: u64,
    pub steady_calls: BTreeMap<String, u64>,
    pub loss_calls: BTreeMap<String, u64>,
    pub steady_wall_secs: f64,
    pub loss_wall_secs: f64,
    pub journal_bytes: u64,
    pub journal_write_units: u64,
    pub largest_item: Option<(u64, String)>,
    pub failed_calls: u64,
    pub first_corrective_secs: Option<u64>,
    pub evacuation: Evacuation,
    pub tick_secs: u64,
    pub peak_rss_mib: Option<f64>,
}

/// How far the region loss's evacuation got by the end of the run.
pub struct Evacuation {
    /// Hosted zones in the world (one per service in the generated bundle).
    pub zones: usize,
    /// Zones whose records in the lost region are all at weight 0.
    pub evacuated: usize,
    /// Seconds from the failure to each evacuated zone's last weight write, ascending.
    pub done_at: Vec<u64>,
    /// Zones each controller wrote weights to after the failure.
    pub zones_by_writer: BTreeMap<String, usize>,
    /// Zones written by more than one controller after the failure.
    pub written_twice: usize,
}

impl Evacuation {
    /// Seconds from the failure until `share` of all zones were evacuated, if they were.
    pub fn time_to(&self, share: f64) -> Option<u64> {
        let needed = (self.zones as f64 * share).ceil() as usize;
        needed
            .checked_sub(1)
            .and_then(|i| self.done_at.get(i))
            .copied()
    }

    /// The evacuation's lines of the report.
    fn describe(&self) -> String {
        let at = |share: f64| {
            self.time_to(share)
                .map_or("not reached".to_string(), |t| format!("{t} s"))
        };
        let writers: Vec<String> = self
            .zones_by_writer
            .iter()
            .map(|(by, n)| format!("{by} {n}"))
            .collect();
        format!(
            "evacuated by the end: {} of {} zones (every record of the lost region at 0); half after {}, 90 % after {}, all after {}\nzones written per controller: {} ({} zone(s) written by more than one)",
            self.evacuated,
            self.zones,
            at(0.5),
            at(0.9),
            at(1.0),
            writers.join(", "),
            self.written_twice
        )
    }
}

/// One row of the quota table: an API in one region (or `global`).
struct Row {
    key: String,
    steady: f64,
    loss: f64,
    quota: f64,
    source: &'static str,
}

impl Row {
    fn use_percent(&self) -> f64 {
        100.0 * self.steady.max(self.loss) / self.quota
    }
}

impl Figures {
    /// Requests per second by quota: Route 53's calls summed into one global row, every
    /// other API per region.
    fn rows(&self) -> Vec<Row> {
        let rate = |calls: &BTreeMap<String, u64>, secs: u64| {
            let mut out: BTreeMap<String, f64> = BTreeMap::new();
            for (key, n) in calls {
                let key = if key.starts_with("route53:") {
                    "route53:* @global".to_string()
                } else {
                    key.replace('@', " @")
                };
                *out.entry(key).or_default() += *n as f64 / secs.max(1) as f64;
            }
            out
        };
        let steady = rate(&self.steady_calls, self.steady_secs);
        let loss = rate(&self.loss_calls, self.loss_secs);
        let mut keys: Vec<&String> = steady.keys().chain(loss.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|k| !k.starts_with("dynamodb:"))
            .map(|k| {
                let (quota, source) = QUOTAS
                    .iter()
                    .find(|(prefix, _, _)| k.starts_with(prefix))
                    .map_or((f64::INFINITY, "no rate quota"), |(_, q, s)| (*q, *s));
                Row {
                    key: k.clone(),
                    steady: steady.get(k).copied().unwrap_or(0.0),
                    loss: loss.get(k).copied().unwrap_or(0.0),
                    quota,
                    source,
                }
            })
            .collect()
    }

    /// The write units per second of the whole run, held against one partition's limit (the
    /// journal's hot partitions `HEARTBEAT` and `OBS` take most of them).
    fn write_units_per_sec(&self) -> f64 {
        self.journal_write_units as f64 / (self.steady_secs + self.loss_secs).max(1) as f64
    }

    fn busiest(&self) -> Option<Row> {
        self.rows()
            .into_iter()
            .max_by(|a, b| a.use_percent().total_cmp(&b.use_percent()))
    }

    /// The figures as a Markdown report.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let s = &self.shape;
        let per_pass = |wall: f64, passes: u64| 1_000.0 * wall / passes.max(1) as f64;
        line(
            &mut out,
            format!(
                "# Fleet benchmark: {} services × {} cells × {} regions, {} controllers, tick {} s\n",
                s.services, s.cells, s.regions, self.controllers, self.tick_secs
            ),
        );
        line(
            &mut out,
            "| | steady | region loss |\n|---|---:|---:|".to_string(),
        );
        line(
            &mut out,
            format!(
                "| simulated seconds | {} | {} |\n| controller passes | {} | {} |",
                self.steady_secs, self.loss_secs, self.steady_passes, self.loss_passes
            ),
        );
        line(
            &mut out,
            format!(
                "| wall ms per pass (controller + simulated world) | {:.1} | {:.1} |\n",
                per_pass(self.steady_wall_secs, self.steady_passes),
                per_pass(self.loss_wall_secs, self.loss_passes)
            ),
        );
        line(
            &mut out,
            "| AWS API (per account) | steady /s | loss /s | default quota /s | busiest use | quota |\n|---|---:|---:|---:|---:|---|".to_string(),
        );
        for r in self.rows() {
            line(
                &mut out,
                format!(
                    "| {} | {:.2} | {:.2} | {} | {:.1} % | {} |",
                    r.key,
                    r.steady,
                    r.loss,
                    r.quota,
                    r.use_percent(),
                    r.source
                ),
            );
        }
        self.journal_and_verdict(&mut out);
        out
    }

    fn journal_and_verdict(&self, out: &mut String) {
        let wcu = self.write_units_per_sec();
        let (largest, key) = self
            .largest_item
            .clone()
            .unwrap_or((0, "nothing written".into()));
        line(
            out,
            format!(
                "\n| journal | |\n|---|---:|\n| bytes written | {} |\n| write units | {} ({wcu:.1}/s; one partition takes 1,000/s) |\n| largest item | {largest} bytes ({key}) |\n| failed AWS calls (faults and refused writes) | {} |",
                self.journal_bytes, self.journal_write_units, self.failed_calls
            ),
        );
        let reaction = self
            .first_corrective_secs
            .map_or("none".to_string(), |t| format!("{t} s"));
        let rss = self
            .peak_rss_mib
            .map_or("unknown".to_string(), |m| format!("{m:.1} MiB"));
        let busiest = self.busiest();
        line(
            out,
            format!(
                "\nfirst failing alarm → first corrective write: {reaction} (tick {} s)\npeak RSS (benchmark process: both runs, the simulated world included): {rss}",
                self.tick_secs
            ),
        );
        line(out, self.evacuation.describe());
        if let Some(b) = busiest {
            line(
                out,
                format!(
                    "busiest quota: {} at {:.1} % (goal: ≤ 33 % for the whole fleet)",
                    b.key,
                    b.use_percent()
                ),
            );
        }
        line(
            out,
            format!("largest journal item: {largest} bytes (goal: ≤ 102,400)"),
        );
    }

    /// The figures as JSON (for scripts comparing runs).
    pub fn json(&self) -> String {
        let rows: Vec<serde_json::Value> = self
            .rows()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "api": r.key, "steady_per_sec": r.steady, "loss_per_sec": r.loss,
                    "quota_per_sec": r.quota, "use_percent": r.use_percent(),
                })
            })
            .collect();
        let value = serde_json::json!({
            "services": self.shape.services, "cells": self.shape.cells,
            "regions": self.shape.regions, "controllers": self.controllers,
            "steady_passes": self.steady_passes, "loss_passes": self.loss_passes,
            "steady_wall_secs": self.steady_wall_secs, "loss_wall_secs": self.loss_wall_secs,
            "quotas": rows, "journal_bytes": self.journal_bytes,
            "journal_write_units": self.journal_write_units,
            "largest_item": self.largest_item, "failed_calls": self.failed_calls,
            "first_corrective_secs": self.first_corrective_secs,
            "evacuated_zones": self.evacuation.evacuated,
            "zones": self.evacuation.zones,
            "evacuated_half_secs": self.evacuation.time_to(0.5),
            "evacuated_90_secs": self.evacuation.time_to(0.9),
            "evacuated_all_secs": self.evacuation.time_to(1.0),
            "zones_by_writer": self.evacuation.zones_by_writer,
            "zones_written_twice": self.evacuation.written_twice,
            "peak_rss_mib": self.peak_rss_mib,
        });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

/// Appends `text` and a newline.
fn line(out: &mut String, text: String) {
    out.push_str(&text);
    out.push('\n');
}
