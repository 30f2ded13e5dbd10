//! The summary of the trials: time percentiles, calls per pass and per decision, per
//! operation; printed for people and as JSON (`target/bench-reaction.json`).

use crate::trial::Trial;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// A figure of every trial: its JSON key, its printed name and how to read it.
type Series<T> = (&'static str, &'static str, fn(&Trial) -> T);

/// Nearest-rank percentile of sorted values.
fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn stats(name: &str, values: impl Iterator<Item = f64>, out: &mut String) -> serde_json::Value {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (p50, p90, p99) = (pct(&v, 0.50), pct(&v, 0.90), pct(&v, 0.99));
    let (min, max) = (
        v.first().copied().unwrap_or(f64::NAN),
        v.last().copied().unwrap_or(f64::NAN),
    );
    writeln!(
        out,
        "  {name:<34} p50 {p50:>8.1}  p90 {p90:>8.1}  p99 {p99:>8.1}  max {max:>8.1}  min {min:>8.1}  mean {mean:>8.1}"
    )
    .expect("writing to a String cannot fail");
    serde_json::json!({"p50": p50, "p90": p90, "p99": p99, "max": max, "min": min, "mean": mean})
}

fn counts(name: &str, values: impl Iterator<Item = usize>, out: &mut String) -> serde_json::Value {
    let v: Vec<usize> = values.collect();
    let min = v.iter().copied().min().unwrap_or(0);
    let max = v.iter().copied().max().unwrap_or(0);
    let mean = v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
    writeln!(out, "  {name:<34} min {min}  max {max}  mean {mean:.2}")
        .expect("writing to a String cannot fail");
    serde_json::json!({"min": min, "max": max, "mean": mean})
}

/// The summary as text and as the JSON object's fields.
pub fn summary(
    results: &[Trial],
    warmup: usize,
    wall: Duration,
) -> (String, serde_json::Map<String, serde_json::Value>) {
    let trials = results.len();
    let mut out = String::new();
    writeln!(
        out,
        "\n== reaction: alarm event received (t0) → first corrective AWS call (t1); {trials} trials (+{warmup} warm-up), {:.1} s ==",
        wall.as_secs_f64()
    )
    .expect("writing to a String cannot fail");
    let mut json = serde_json::Map::new();
    json.insert("trials".into(), trials.into());
    json.insert("warmup".into(), warmup.into());
    json.insert("wall_secs".into(), wall.as_secs_f64().into());
    times(results, &mut out, &mut json);
    json.insert("calls".into(), calls(results, &mut out));
    json.insert("ops".into(), per_operation(results, &mut out).into());
    (out, json)
}

/// Milliseconds: end to end, SDK, overhead, whole pass, delivery; first and last ten.
fn times(
    results: &[Trial],
    out: &mut String,
    json: &mut serde_json::Map<String, serde_json::Value>,
) {
    writeln!(out, "milliseconds:").expect("writing to a String cannot fail");
    let series: [Series<f64>; 5] = [
        ("e2e_ms", "end-to-end t1 - t0", |t| t.e2e_ms),
        ("sdk_ms", "SDK round trips in [t0, t1]", |t| t.sdk_ms),
        ("overhead_ms", "controller overhead (difference)", |t| {
            t.overhead_ms
        }),
        ("pass_ms", "whole pass (t0 → pass end)", |t| t.pass_ms),
        ("delivery_ms", "inject start → t0 (moto delivery)", |t| {
            t.inject_to_t0_ms
        }),
    ];
    for (key, name, value) in series {
        json.insert(key.into(), stats(name, results.iter().map(value), out));
    }
    let ten = results.len().min(10);
    let first10 = results.iter().take(ten).map(|t| t.e2e_ms).sum::<f64>() / ten.max(1) as f64;
    let last10 = results
        .iter()
        .rev()
        .take(ten)
        .map(|t| t.e2e_ms)
        .sum::<f64>()
        / ten.max(1) as f64;
    writeln!(
        out,
        "  e2e mean of first {ten} trials {first10:.1} ms, last {ten} trials {last10:.1} ms"
    )
    .expect("writing to a String cannot fail");
}

/// Calls per pass, and per decision.
fn calls(results: &[Trial], out: &mut String) -> serde_json::Value {
    writeln!(out, "calls per pass:").expect("writing to a String cannot fail");
    let series: [Series<usize>; 10] = [
        ("before_t1", "port calls before t1", |t| t.calls_before_t1),
        ("total", "port calls in the pass (AWS)", |t| t.calls_total),
        ("api_total", "AWS API calls (incl. R53 GetChange)", |t| {
            t.api_calls_total as usize
        }),
        ("mutating", "mutating (corrective) calls", |t| t.mutating),
        ("decisions", "decisions", |t| t.decisions),
        ("heartbeat_writes", "heartbeat writes", |t| {
            t.heartbeat_writes
        }),
        ("digest_writes", "digest writes", |t| t.digest_writes),
        ("journal_reads", "journal reads (Query)", |t| {
            t.journal_reads
        }),
        ("journal_writes", "journal writes (PutItem)", |t| {
            t.journal_writes
        }),
        ("publishes", "event publishes (PutEvents)", |t| t.publishes),
    ];
    let mut json = serde_json::Map::new();
    for (key, name, value) in series {
        json.insert(key.into(), counts(name, results.iter().map(value), out));
    }
    let decisions = results.iter().map(|t| t.decisions).sum::<usize>().max(1) as f64;
    let per_decision_all = results.iter().map(|t| t.calls_total).sum::<usize>() as f64 / decisions;
    let per_decision_mut = results.iter().map(|t| t.mutating).sum::<usize>() as f64 / decisions;
    writeln!(
        out,
        "  per decision: {per_decision_all:.2} port calls in all, {per_decision_mut:.2} mutating"
    )
    .expect("writing to a String cannot fail");
    json.insert("per_decision_all".into(), per_decision_all.into());
    json.insert("per_decision_mutating".into(), per_decision_mut.into());
    json.into()
}

/// Per operation: mean calls per pass, mean milliseconds per call, mean calls before t1.
fn per_operation(
    results: &[Trial],
    out: &mut String,
) -> serde_json::Map<String, serde_json::Value> {
    writeln!(
        out,
        "per operation (mean per pass; mean ms per call; mean per pass before t1):"
    )
    .expect("writing to a String cannot fail");
    let n = results.len().max(1) as f64;
    let mut ops: BTreeMap<String, (usize, f64, usize)> = BTreeMap::new();
    for t in results {
        for (op, (count, total)) in &t.ops {
            let e = ops.entry(op.clone()).or_default();
            e.0 += count;
            e.1 += total;
        }
        for (op, count) in &t.ops_before_t1 {
            ops.entry(op.clone()).or_default().2 += count;
        }
    }
    let mut json = serde_json::Map::new();
    for (op, (count, total, before)) in &ops {
        let per_pass = *count as f64 / n;
        let per_call = total / (*count).max(1) as f64;
        let before = *before as f64 / n;
        writeln!(
            out,
            "  {op:<40} {per_pass:>6.2} /pass  {per_call:>7.2} ms/call  {before:>6.2} before t1"
        )
        .expect("writing to a String cannot fail");
        json.insert(
            op.clone(),
            serde_json::json!({"per_pass": per_pass, "ms_per_call": per_call, "before_t1_per_pass": before}),
        );
    }
    json
}
