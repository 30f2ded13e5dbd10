//! One controller's view of the world: every port of `regionctl-controller`.
//!
//! Faults depend on who is asking: a controller in a region whose APIs are unreachable
//! reaches nothing; calls to such a region's CloudWatch, ECS or ELB fail for everyone; the
//! journal a controller uses is its own region's replica; its clock may be skewed.

use super::{EffectKind, World, route53};
use regionctl_controller::ports::{
    Alarms, Balancer, BatchCheck, ChangeReport, Clock, Compute, DESCRIBE_SERVICES_MAX, Dns,
    ErrorClass, Events, Journal, JournalItem, PortError, PortResult, Prober, Switches,
    WeightedRecord,
};
use regionctl_core::health::AlarmObservation;
use regionctl_core::live::{AlbState, EcsState};
use regionctl_core::policy::Probe;
use regionctl_core::switch::SwitchRef;
use regionctl_core::time::Timestamp;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// A controller (in `region`) looking at the shared world.
#[derive(Debug, Clone, Copy)]
pub struct ControllerView<'w> {
    world: &'w RefCell<World>,
    region: &'w str,
}

impl<'w> ControllerView<'w> {
    /// The view of the controller in `region`.
    pub fn new(world: &'w RefCell<World>, region: &'w str) -> Self {
        ControllerView { world, region }
    }

    /// Fails if this controller's own region cannot reach AWS.
    fn reach(
        &self,
        w: &mut World,
        service: &'static str,
        operation: &'static str,
    ) -> PortResult<()> {
        if w.faults.unreachable.contains(self.region) {
            return Err(w.fail(
                service,
                operation,
                ErrorClass::Retryable,
                format!("{}: network unreachable from {}", service, self.region),
            ));
        }
        Ok(())
    }

    /// Fails if `region`'s regional APIs cannot be reached from here.
    fn reach_region(
        &self,
        w: &mut World,
        region: &str,
        service: &'static str,
        operation: &'static str,
    ) -> PortResult<()> {
        self.reach(w, service, operation)?;
        if w.faults.unreachable.contains(region) {
            return Err(w.fail(
                service,
                operation,
                ErrorClass::Retryable,
                format!("{service}.{region}.amazonaws.com: connection timed out"),
            ));
        }
        Ok(())
    }

    /// Route 53 admission: reachability, control plane, token bucket.
    fn route53(&self, w: &mut World, operation: &'static str, cost: u32) -> PortResult<()> {
        w.stats.count("route53", operation, "global", cost);
        self.reach(w, "route53", operation)?;
        if w.faults.route53_down {
            return Err(w.fail(
                "route53",
                operation,
                ErrorClass::Retryable,
                "ServiceUnavailable: the Route 53 control plane is unavailable".into(),
            ));
        }
        let now = w.now;
        if !w.bucket.take(cost, now, ROUTE53_RETRY_PATIENCE_SECS) {
            return Err(w.fail(
                "route53",
                operation,
                ErrorClass::Throttled,
                "Throttling: Rate exceeded".into(),
            ));
        }
        w.stats.route53_calls += u64::from(cost);
        Ok(())
    }

    /// The journal replica this controller uses.
    fn journal(&self, w: &mut World, operation: &'static str) -> PortResult<()> {
        w.stats.count("dynamodb", operation, self.region, 1);
        self.reach(w, "dynamodb", operation)?;
        if w.faults.journal_down.contains(self.region) {
            return Err(w.fail(
                "dynamodb",
                operation,
                ErrorClass::Retryable,
                format!(
                    "InternalServerError: the {} replica is unavailable",
                    self.region
                ),
            ));
        }
        Ok(())
    }

    /// A write to this controller's replica: reachable, and not of a kind the journal
    /// refuses from it (`journal-write-fail`).
    fn journal_write(&self, w: &mut World, item: &JournalItem) -> PortResult<()> {
        self.journal(w, "PutItem")?;
        if w.faults.write_fails(self.region, item) {
            return Err(w.fail(
                "dynamodb",
                "PutItem",
                ErrorClass::Retryable,
                format!(
                    "InternalServerError: the write of {} / {} failed",
                    item.pk, item.sk
                ),
            ));
        }
        Ok(())
    }

    fn local_now(&self, w: &World) -> Timestamp {
        Timestamp(w.now.millis() + w.skew_ms.get(self.region).copied().unwrap_or(0))
    }
}

/// Refuses an item over its kind's size budget, as every journal adapter does
/// (`regionctl_controller::journal::budget`).
fn within_budget(w: &mut World, item: &JournalItem) -> PortResult<()> {
    match regionctl_controller::journal::budget::check(item) {
        Ok(()) => Ok(()),
        Err(over) => Err(w.fail(
            "dynamodb",
            "PutItem",
            ErrorClass::Permanent,
            over.to_string(),
        )),
    }
}

/// How long the Route 53 adapter's retries wait out throttling, in the mean: its default
/// `RetryPolicy` (6 attempts, full-jitter backoff capped at 200 ms · 2^k) sleeps up to
/// 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s, half of that on average. A call that the refill can serve
/// within this succeeds (late); beyond it, the adapter gives up and the pass sees
/// `Throttled`. Without it the simulated fleet's own reads starved every write at 2 calls/s
/// (simulate seed 49), which the real adapter would not.
const ROUTE53_RETRY_PATIENCE_SECS: f64 = 3.1;

/// Alarm names per `DescribeAlarms` call (the adapter's chunk: the API's limit).
const MAX_NAMES_PER_CALL: usize = 100;
/// Metric values per `PutMetricData` call (the API's limit).
const PUT_METRIC_DATA_PAGE: usize = 1_000;
/// Metrics per `GetMetricData` call (the API's limit).
const GET_METRIC_DATA_PAGE: usize = 500;
/// Items per journal `Query` page (the DynamoDB adapter's page size).
const QUERY_PAGE: usize = 100;

fn pages(n: usize, per: usize) -> u32 {
    u32::try_from(n.div_ceil(per).max(1)).unwrap_or(u32::MAX)
}

impl Dns for ControllerView<'_> {
    async fn read_weighted(&self, zone: &str) -> PortResult<Vec<WeightedRecord>> {
        let mut w = self.world.borrow_mut();
        let n = w.zones.get(zone).map_or(0, |z| z.records.len());
        self.route53(
            &mut w,
            "ListResourceRecordSets",
            pages(n, route53::LIST_PAGE),
        )?;
        match w.zones.get(zone) {
            Some(z) => Ok(z.records.values().map(|r| r.current.clone()).collect()),
            None => Err(w.fail(
                "route53",
                "ListResourceRecordSets",
                ErrorClass::Permanent,
                format!("NoSuchHostedZone: {zone}"),
            )),
        }
    }

    async fn upsert_weighted(
        &self,
        zone: &str,
        records: &[WeightedRecord],
        check: BatchCheck<'_>,
    ) -> PortResult<ChangeReport> {
        // The simulated zone takes the change whole: its one state is checked before any
        // call, as the adapter checks every batch's.
        if let Err(violations) = check(records) {
            let why: Vec<String> = violations.iter().map(ToString::to_string).collect();
            return Err(PortError::new(
                "route53",
                "ChangeResourceRecordSets",
                ErrorClass::Permanent,
                format!("guard rejected the change: {}", why.join("; ")),
            ));
        }
        let mut w = self.world.borrow_mut();
        if !w.zones.contains_key(zone) {
            return Err(w.fail(
                "route53",
                "ChangeResourceRecordSets",
                ErrorClass::Permanent,
                format!("NoSuchHostedZone: {zone}"),
            ));
        }
        // One change batch per 1,000 changes (an UPSERT counts twice), one read-back.
        let batches = pages(records.len() * 2, route53::BATCH_CHANGES);
        self.route53(&mut w, "ChangeResourceRecordSets", batches + 1)?;
        w.change_records(self.region, zone, records);
        // The adapter waits for INSYNC; in the simulation the change is accepted now and
        // answering follows when it is INSYNC (see `World::answering_weights`).
        Ok(ChangeReport {
            calls: batches + 1,
            records: u32::try_from(records.len()).unwrap_or(u32::MAX),
            verified: true,
        })
    }
}

impl Alarms for ControllerView<'_> {
    async fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> PortResult<Vec<(String, AlarmObservation)>> {
        let mut w = self.world.borrow_mut();
        let calls = pages(names.len(), MAX_NAMES_PER_CALL);
        w.stats.count("cloudwatch", "DescribeAlarms", region, calls);
        self.reach_region(&mut w, region, "cloudwatch", "DescribeAlarms")?;
        Ok(names
            .iter()
            .filter_map(|n| w.alarm(region, n).map(|a| (n.clone(), a.observed)))
            .collect())
    }
}

impl Compute for ControllerView<'_> {
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> PortResult<Vec<Option<EcsState>>> {
        let mut w = self.world.borrow_mut();
        let calls = pages(services.len(), DESCRIBE_SERVICES_MAX);
        w.stats.count("ecs", "DescribeServices", region, calls);
        self.reach_region(&mut w, region, "ecs", "DescribeServices")?;
        Ok(services
            .iter()
            .map(|service| {
                w.ecs
                    .get(&(region.to_string(), cluster.to_string(), service.clone()))
                    .map(|s| EcsState {
                        desired: s.desired,
                        running: s.running,
                        pending: s.pending(),
                    })
            })
            .collect())
    }

    async fn set_desired(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> PortResult<()> {
        let mut w = self.world.borrow_mut();
        w.stats.count("ecs", "UpdateService", region, 1);
        self.reach_region(&mut w, region, "ecs", "UpdateService")?;
        let key = (region.to_string(), cluster.to_string(), service.to_string());
        if w.scale(self.region, &key, desired) {
            Ok(())
        } else {
            Err(w.fail(
                "ecs",
                "UpdateService",
                ErrorClass::Permanent,
                format!("ServiceNotFoundException: {cluster}/{service} in {region}"),
            ))
        }
    }
}

impl Balancer for ControllerView<'_> {
    async fn read_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
    ) -> PortResult<Option<AlbState>> {
        let mut w = self.world.borrow_mut();
        w.stats.count("elbv2", "DescribeListeners", region, 1);
        self.reach_region(&mut w, region, "elbv2", "DescribeListeners")?;
        Ok(w.albs
            .get(&(region.to_string(), listener.to_string()))
            .filter(|(f, l, _)| f == fargate && l == lambda)
            .map(|(_, _, s)| *s))
    }

    async fn set_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
        weights: AlbState,
    ) -> PortResult<()> {
        let mut w = self.world.borrow_mut();
        // The adapter reads the listener first, so that only the forward's weights change.
        w.stats.count("elbv2", "DescribeListeners", region, 1);
        w.stats.count("elbv2", "ModifyListener", region, 1);
        self.reach_region(&mut w, region, "elbv2", "ModifyListener")?;
        let key = (region.to_string(), listener.to_string());
        if !w.albs.contains_key(&key) {
            return Err(w.fail(
                "elbv2",
                "ModifyListener",
                ErrorClass::Permanent,
                format!("ListenerNotFound: {listener}"),
            ));
        }
        w.albs
            .insert(key, (fargate.to_string(), lambda.to_string(), weights));
        w.record_effect(
            self.region,
            EffectKind::Alb {
                region: region.to_string(),
                listener: listener.to_string(),
                fargate: weights.fargate,
                lambda: weights.lambda,
            },
        );
        Ok(())
    }
}

impl Journal for ControllerView<'_> {
    async fn put_new(&self, item: &JournalItem) -> PortResult<bool> {
        let mut w = self.world.borrow_mut();
        self.journal_write(&mut w, item)?;
        within_budget(&mut w, item)?;
        // Conditional writes are checked against the local replica only (MREC).
        if w.journal.contains(self.region, &item.pk, &item.sk) {
            return Ok(false);
        }
        w.stats.wrote(item);
        w.journal_write(self.region, item);
        Ok(true)
    }

    async fn put(&self, item: &JournalItem) -> PortResult<()> {
        let mut w = self.world.borrow_mut();
        self.journal_write(&mut w, item)?;
        within_budget(&mut w, item)?;
        w.stats.wrote(item);
        w.journal_write(self.region, item);
        Ok(())
    }

    async fn query(&self, pk: &str, prefix: &str) -> PortResult<Vec<PortResult<JournalItem>>> {
        let mut w = self.world.borrow_mut();
        self.journal(&mut w, "Query")?;
        // TTL deletion is lazy: readers drop expired items by their own clock.
        let now_secs = self.local_now(&w).millis() / 1000;
        let items = w.journal.query(self.region, pk, prefix).len();
        // The first page is counted by `journal`; the adapter pages at 100 items.
        let more = pages(items, QUERY_PAGE).saturating_sub(1);
        w.stats.count("dynamodb", "Query", self.region, more);
        Ok(w.journal
            .query(self.region, pk, prefix)
            .into_iter()
            .filter(|it| it.expires_at.is_none_or(|t| t > now_secs))
            // Replicas hold the items as written: every one reads.
            .map(Ok)
            .collect())
    }
}

impl Events for ControllerView<'_> {
    async fn publish(&self, detail_type: &str, detail: &serde_json::Value) -> PortResult<()> {
        let mut w = self.world.borrow_mut();
        w.stats.count("events", "PutEvents", self.region, 1);
        self.reach(&mut w, "eventbridge", "PutEvents")?;
        let at = w.now;
        w.published.push(super::Published {
            at,
            by: self.region.to_string(),
            detail_type: detail_type.to_string(),
            detail: detail.clone(),
        });
        w.stats.events += 1;
        Ok(())
    }
}

impl Prober for ControllerView<'_> {
    async fn probe(&self, probe: &Probe) -> bool {
        let w = self.world.borrow();
        match w.probe_targets.get(&probe.target) {
            // Every (service, region) behind the target must answer.
            Some(targets) => targets
                .iter()
                .all(|(service, region)| w.probe_ok(self.region, service, region)),
            None => false,
        }
    }
}

impl Clock for ControllerView<'_> {
    fn now(&self) -> Timestamp {
        self.local_now(&self.world.borrow())
    }
}

impl Switches for ControllerView<'_> {
    async fn publish_switches(&self, values: &[(SwitchRef, bool)]) -> PortResult<()> {
        let mut w = self.world.borrow_mut();
        // One PutMetricData per alarm region; a region that cannot be reached fails the
        // call (the adapter publishes region by region, so the others still go out).
        let mut failure = None;
        let mut regions: Vec<&str> = values
            .iter()
            .map(|(s, _)| s.alarm_region.as_str())
            .collect();
        regions.sort_unstable();
        regions.dedup();
        for region in regions {
            let n = values
                .iter()
                .filter(|(s, _)| s.alarm_region == region)
                .count();
            let calls = pages(n, PUT_METRIC_DATA_PAGE);
            w.stats.count("cloudwatch", "PutMetricData", region, calls);
            if let Err(e) = self.reach_region(&mut w, region, "cloudwatch", "PutMetricData") {
                failure.get_or_insert(e);
                continue;
            }
            for (switch, on) in values.iter().filter(|(s, _)| s.alarm_region == region) {
                w.publish_switch(self.region, switch, *on);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    async fn read_switches(&self, switches: &[SwitchRef]) -> PortResult<Vec<Option<bool>>> {
        let mut w = self.world.borrow_mut();
        let mut per_region: BTreeMap<&str, usize> = BTreeMap::new();
        for s in switches {
            *per_region.entry(s.alarm_region.as_str()).or_default() += 1;
        }
        for (region, n) in per_region {
            let calls = pages(n, GET_METRIC_DATA_PAGE);
            w.stats.count("cloudwatch", "GetMetricData", region, calls);
        }
        let mut out = Vec::with_capacity(switches.len());
        for s in switches {
            self.reach_region(&mut w, &s.alarm_region, "cloudwatch", "GetMetricData")?;
            out.push(w.switches.read(w.now, s));
        }
        Ok(out)
    }
}
