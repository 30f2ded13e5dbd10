//! Benchmark: evacuating one region from 9,000 weighted Route 53 records, regionctl's batched
//! `apply_changes` against one `ChangeResourceRecordSets` call per record, on a local moto
//! server.
//!
//! Run through `scripts/bench-route53.sh` (starts and stops moto), or by hand against a
//! running moto: `MOTO_ENDPOINT=http://127.0.0.1:PORT cargo run -p regionctl-aws --example
//! route53_evacuation`. Only 127.0.0.1/localhost endpoints are accepted.
//!
//! Setup: one hosted zone, 3,000 names × 3 regions (eu-central-1, eu-west-1, us-east-1) of
//! weighted A records, weight 100 each, set identifier = region name, created with
//! `apply_changes` (CREATEs). Evacuating eu-central-1 = setting its 3,000 records to weight 0
//! (the other regions' equal weights then share its traffic). Measured, 3 repetitions each,
//! with the weights reset to 100 (untimed) after every measurement so all runs do the same
//! work:
//!
//! - (a) regionctl: one `apply_changes` with 3,000 UPSERTs (batches, INSYNC wait, read-back);
//! - (a') the same with `with_verify(false)` (no read-back), to separate the read-back cost;
//! - (b) naive: 3,000 sequential single-change `apply_changes` calls (verify off), i.e. one
//!   `ChangeResourceRecordSets` per record through the same budgeted client.
//!
//! The token bucket is configured so it never runs dry during the run (burst and refill of
//! 1,000,000), so the figures measure moto and the client, not an artificial rate limit. The
//! times at Route 53's real 5 requests/s account limit are computed from the call counts.

use regionctl_aws::route53::{ApplyReport, BucketConfig, Route53Client, SharedBucket};
use regionctl_aws::types::{RecordChange, RecordSet, RecordType, Routing};
use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

const NAMES: usize = 3_000;
const REGIONS: [&str; 3] = ["eu-central-1", "eu-west-1", "us-east-1"];
const FAILING: usize = 0; // eu-central-1
const WEIGHT: u8 = 100;
const REPS: usize = 3;
/// Route 53's documented control-plane limit: 5 requests per second per account.
const AWS_RPS: f64 = 5.0;
/// Route 53 counts an UPSERT twice toward the 1,000-changes-per-batch limit.
const BATCH_LIMIT: usize = 1_000;

/// A bucket that never runs dry in this benchmark (far more tokens than calls made).
const BENCH_BUCKET: BucketConfig = BucketConfig {
    burst: 1_000_000,
    refill_per_sec: 1_000_000,
    write_reserve: 0,
};

fn record(zone: &str, i: usize, region: usize, weight: u8) -> RecordSet {
    RecordSet {
        name: format!("svc{i}.{zone}"),
        rtype: RecordType::A.into(),
        ttl: 60,
        values: vec![format!("10.{region}.{}.{}", i / 250, i % 250)],
        routing: Routing::Weighted {
            set_identifier: REGIONS[region].to_string(),
            weight,
        },
        health_check_id: None,
    }
}

/// UPSERTs setting the failing region's records to `weight`.
fn failing_region(zone: &str, weight: u8) -> Vec<RecordChange> {
    (0..NAMES)
        .map(|i| RecordChange::upsert(record(zone, i, FAILING, weight)))
        .collect()
}

/// One timed measurement.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    change: u32,
    get: u32,
    list: u32,
    wall: Duration,
}

impl Sample {
    fn add(&mut self, r: &ApplyReport) {
        self.change += r.change_calls;
        self.get += r.get_change_calls;
        self.list += r.list_calls;
    }
    fn calls(&self) -> u32 {
        self.change + self.get + self.list
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (min, median) of the wall times, and the sample with the median wall time.
fn summarize(samples: &[Sample]) -> (Duration, Duration, Sample) {
    let mut sorted = samples.to_vec();
    sorted.sort_by_key(|s| s.wall);
    let median = sorted[sorted.len() / 2];
    (sorted[0].wall, median.wall, median)
}

/// Refuses anything but a loopback moto endpoint.
fn endpoint() -> String {
    let Ok(url) = std::env::var("MOTO_ENDPOINT") else {
        eprintln!(
            "error: MOTO_ENDPOINT is not set.\n\
             Start moto with `scripts/moto.sh start` and export the MOTO_ENDPOINT it prints \
             (e.g. MOTO_ENDPOINT=http://127.0.0.1:5000), or run scripts/bench-route53.sh."
        );
        std::process::exit(2);
    };
    let host = url
        .strip_prefix("http://")
        .unwrap_or(&url)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    if host != "127.0.0.1" && host != "localhost" {
        eprintln!("error: MOTO_ENDPOINT={url} is not a 127.0.0.1 endpoint; refusing to run");
        std::process::exit(2);
    }
    url
}

/// The three approaches' samples, one per repetition each.
#[derive(Debug, Default)]
struct Measurements {
    /// (a) regionctl: one `apply_changes`, read-back included.
    batched: Vec<Sample>,
    /// (a') the same without read-back.
    batched_nv: Vec<Sample>,
    /// (b) one single-change `apply_changes` per record.
    naive: Vec<Sample>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = endpoint();
    let sdk = regionctl_aws::config::load_for_tests("us-east-1", &url).await;
    let client = Route53Client::new(&sdk, Arc::new(SharedBucket::new(BENCH_BUCKET)));
    let (zone_name, zone_id) = create_zone(&client, &url).await?;
    create_records(&client, &zone_name, &zone_id).await?;
    let m = measure(&client, &zone_name, &zone_id).await?;
    print_table(&m);
    print_comparison(&m);
    Ok(())
}

/// A fresh hosted zone for this run on moto at `url`: (name, id).
async fn create_zone(
    client: &Route53Client,
    url: &str,
) -> Result<(String, String), Box<dyn Error>> {
    let stamp = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    let zone_name = format!("bench{stamp}.example.com.");
    let zone_id = client
        .create_hosted_zone(&zone_name, &format!("bench-{stamp}"))
        .await?;
    println!("moto endpoint: {url}");
    println!("hosted zone:   {zone_name} ({zone_id})");
    println!(
        "token bucket:  burst {}, refill {}/s, write reserve {} (never runs dry: no artificial throttling)",
        BENCH_BUCKET.burst, BENCH_BUCKET.refill_per_sec, BENCH_BUCKET.write_reserve
    );
    Ok((zone_name, zone_id))
}

/// Setup: 9,000 weighted records, created with the adapter (CREATE counts once: 333 names
/// of 3 records per batch), and checked by listing the zone.
async fn create_records(
    client: &Route53Client,
    zone_name: &str,
    zone_id: &str,
) -> Result<(), Box<dyn Error>> {
    let setup: Vec<RecordChange> = (0..NAMES)
        .flat_map(|i| {
            (0..REGIONS.len()).map(move |r| RecordChange::create(record(zone_name, i, r, WEIGHT)))
        })
        .collect();
    let started = Instant::now();
    let report = client.apply_changes(zone_id, setup).await?;
    println!(
        "setup:         {} records in {} ChangeResourceRecordSets calls, {} GetChange, {} list calls (read-back), {:.0} ms",
        report.changes,
        report.change_calls,
        report.get_change_calls,
        report.list_calls,
        ms(started.elapsed())
    );
    let (listed, _) = client.list_record_sets(zone_id).await?;
    let weighted = listed
        .iter()
        .filter(|r| matches!(r.routing, Routing::Weighted { .. }))
        .count();
    assert_eq!(weighted, NAMES * REGIONS.len(), "weighted records in zone");
    Ok(())
}

/// `REPS` repetitions of the three approaches, the weights reset (untimed) after each.
async fn measure(
    client: &Route53Client,
    zone_name: &str,
    zone_id: &str,
) -> Result<Measurements, Box<dyn Error>> {
    let no_verify = client.clone().with_verify(false);
    let evacuate = failing_region(zone_name, 0);
    let restore = failing_region(zone_name, WEIGHT);
    let reset = || async {
        no_verify
            .apply_changes(zone_id, restore.clone())
            .await
            .map(|_| ())
    };
    let mut m = Measurements::default();
    for rep in 1..=REPS {
        // (a) regionctl: one apply_changes, read-back included.
        let (s, retries) = timed_apply(client, zone_id, &evacuate).await?;
        assert_eq!(retries, 0, "no retries expected against moto");
        m.batched.push(s);
        reset().await?;
        // (a') regionctl without read-back.
        m.batched_nv
            .push(timed_apply(&no_verify, zone_id, &evacuate).await?.0);
        reset().await?;
        // (b) naive: one single-change batch per record, sequentially.
        m.naive
            .push(naive_run(&no_verify, zone_id, &evacuate).await?);
        assert_evacuated(client, zone_id).await?;
        reset().await?;
        eprintln!(
            "rep {rep}/{REPS}: regionctl {:.0} ms, regionctl no read-back {:.0} ms, naive {:.0} ms",
            ms(m.batched[rep - 1].wall),
            ms(m.batched_nv[rep - 1].wall),
            ms(m.naive[rep - 1].wall)
        );
    }
    Ok(m)
}

/// One timed `apply_changes` of every change: the sample and the retries it took.
async fn timed_apply(
    client: &Route53Client,
    zone_id: &str,
    changes: &[RecordChange],
) -> Result<(Sample, u32), Box<dyn Error>> {
    let started = Instant::now();
    let r = client.apply_changes(zone_id, changes.to_vec()).await?;
    let mut s = Sample {
        wall: started.elapsed(),
        ..Sample::default()
    };
    s.add(&r);
    Ok((s, r.retries))
}

/// One single-change `apply_changes` per change, sequentially, timed as a whole.
async fn naive_run(
    client: &Route53Client,
    zone_id: &str,
    changes: &[RecordChange],
) -> Result<Sample, Box<dyn Error>> {
    let mut s = Sample::default();
    let started = Instant::now();
    for change in changes {
        let r = client.apply_changes(zone_id, vec![change.clone()]).await?;
        s.add(&r);
    }
    s.wall = started.elapsed();
    Ok(s)
}

/// Untimed check that a run did evacuate every record of the failing region.
async fn assert_evacuated(client: &Route53Client, zone_id: &str) -> Result<(), Box<dyn Error>> {
    let (listed, _) = client.list_record_sets(zone_id).await?;
    let zeroed = listed
        .iter()
        .filter(|r| {
            matches!(&r.routing, Routing::Weighted { set_identifier, weight: 0 }
                if set_identifier == REGIONS[FAILING])
        })
        .count();
    assert_eq!(zeroed, NAMES, "naive run left records un-evacuated");
    Ok(())
}

/// Calls and wall times per approach.
fn print_table(m: &Measurements) {
    println!();
    println!(
        "Evacuating {} of {} weighted records ({NAMES} UPSERTs), {REPS} repetitions, {} build:",
        REGIONS[FAILING],
        NAMES * REGIONS.len(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "{:<34} {:>7} {:>10} {:>5} {:>6} {:>11} {:>11} {:>10}",
        "approach", "Change", "GetChange", "List", "total", "wall ms min", "wall ms med", "calls/s"
    );
    let rows = [
        ("(a) regionctl apply_changes", &m.batched),
        ("(a') regionctl, no read-back", &m.batched_nv),
        ("(b) naive, 1 call per record", &m.naive),
    ];
    for (label, samples) in rows {
        let (min, med, s) = summarize(samples);
        println!(
            "{:<34} {:>7} {:>10} {:>5} {:>6} {:>11.1} {:>11.1} {:>10.1}",
            label,
            s.change,
            s.get,
            s.list,
            s.calls(),
            ms(min),
            ms(med),
            f64::from(s.calls()) / med.as_secs_f64()
        );
    }
    println!("(calls/s = total calls / median wall time)");
}

/// (c): change calls against the minimum and against naive, and the times the call counts
/// would take at Route 53's account limit.
fn print_comparison(m: &Measurements) {
    let (_, a_med, a) = summarize(&m.batched);
    let (_, _, a_nv) = summarize(&m.batched_nv);
    let (_, b_med, b) = summarize(&m.naive);
    let minimum = (2 * NAMES).div_ceil(BATCH_LIMIT);
    println!();
    println!(
        "(c) regionctl ChangeResourceRecordSets calls / minimum ceil(2*{NAMES}/{BATCH_LIMIT}) = {} / {minimum} = {:.2}",
        a.change,
        f64::from(a.change) / minimum as f64
    );
    println!(
        "    naive / regionctl change calls = {} / {} = {:.0}x; median wall time naive / regionctl = {:.1}x",
        b.change,
        a.change,
        f64::from(b.change) / f64::from(a.change),
        b_med.as_secs_f64() / a_med.as_secs_f64()
    );
    println!();
    println!(
        "COMPUTED (not measured): time at Route 53's limit of {AWS_RPS} requests/s per account = calls / {AWS_RPS}"
    );
    println!(
        "  (rate floor only; excludes latency and real INSYNC propagation, which moto reports at once)"
    );
    let at_limit = |calls: u32| f64::from(calls) / AWS_RPS;
    println!(
        "  (b) naive:                       {:>5} calls -> {:>7.1} s",
        b.calls(),
        at_limit(b.calls())
    );
    println!(
        "  (a) regionctl, with read-back:   {:>5} calls -> {:>7.1} s",
        a.calls(),
        at_limit(a.calls())
    );
    println!(
        "  (a') regionctl, no read-back:    {:>5} calls -> {:>7.1} s",
        a_nv.calls(),
        at_limit(a_nv.calls())
    );
}
