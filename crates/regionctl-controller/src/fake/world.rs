//! A small scripted world: every port in memory, one journal replica, a clock the test
//! moves, and operations the test makes fail. Like the simulator's world
//! (`regionctl-sim/src/world/ports.rs`) but without regions, lag or faults beyond "this
//! operation fails", so a test states exactly what the controller meets.

use crate::ports::{
    Alarms, Balancer, BatchCheck, ChangeReport, Clock, Compute, Dns, ErrorClass, Events, Journal,
    JournalItem, PortError, PortResult, Prober, Switches, WeightedRecord,
};
use regionctl_core::health::AlarmObservation;
use regionctl_core::live::{AlbState, EcsState, steady_desired};
use regionctl_core::policy::{Bundle, Probe};
use regionctl_core::switch::SwitchRef;
use regionctl_core::time::Timestamp;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::task::{Context, Poll, Waker};

/// ECS services by (region, cluster, service).
type EcsKey = (String, String, String);

/// The world.
#[derive(Debug, Default)]
pub struct FakeWorld {
    /// Now.
    pub now: Cell<Timestamp>,
    /// Weighted records per zone.
    pub zones: RefCell<BTreeMap<String, Vec<WeightedRecord>>>,
    /// ECS services.
    pub ecs: RefCell<BTreeMap<EcsKey, EcsState>>,
    /// ALB splits by (region, listener).
    pub albs: RefCell<BTreeMap<(String, String), AlbState>>,
    /// Alarm states by name.
    pub alarms: RefCell<BTreeMap<String, AlarmObservation>>,
    /// The journal, by (pk, sk).
    pub journal: RefCell<BTreeMap<(String, String), JournalItem>>,
    /// Events published: (detail type, detail).
    pub events: RefCell<Vec<(String, serde_json::Value)>>,
    /// Switch values published, by alarm name.
    pub switches: RefCell<BTreeMap<String, bool>>,
    /// Probe targets that do not answer.
    pub unreachable: RefCell<BTreeSet<String>>,
    /// Operations (`UpdateService`, `PutItem`, …) that fail.
    pub failing: RefCell<BTreeSet<&'static str>>,
    /// Operations the service throttles (`Throttling: Rate exceeded`).
    pub throttling: RefCell<BTreeSet<&'static str>>,
    /// Journal writes that fail: those whose sort key contains one of these fragments
    /// (`#INTENT`, `#OUTCOME#`, `LASTMOVE#`), as a throttled or denied item would.
    pub failing_writes: RefCell<Vec<&'static str>>,
    /// Every operation called, in order.
    pub calls: RefCell<Vec<&'static str>>,
    /// Records per Route 53 batch, in the order given (unset: one batch). Route 53's
    /// batching never splits a cell; this one does, as a batching bug would.
    pub batch_records: Cell<Option<usize>>,
}

impl FakeWorld {
    /// `bundle`'s steady state at `now`: baseline weights, steady ECS counts (all running),
    /// ALBs all on Fargate, an empty journal.
    pub fn steady(bundle: &Bundle, now: Timestamp) -> Self {
        let world = FakeWorld::default();
        world.now.set(now);
        for service in &bundle.services {
            let zone = &service.routing.hosted_zone_id;
            for cell in &service.cells {
                for (r, &weight) in cell.baseline_weights.iter().enumerate() {
                    world
                        .zones
                        .borrow_mut()
                        .entry(zone.clone())
                        .or_default()
                        .push(WeightedRecord::of_cell(service, cell, r, weight));
                }
            }
            for (r, region) in service.regions.iter().enumerate() {
                if let Some(e) = &service.ecs {
                    let n = steady_desired(service, r);
                    let key = (
                        region.name.clone(),
                        e.clusters[r].clone(),
                        e.services[r].clone(),
                    );
                    world.ecs.borrow_mut().insert(
                        key,
                        EcsState {
                            desired: n,
                            running: n,
                            pending: 0,
                        },
                    );
                }
                if let Some(a) = &service.alb {
                    let key = (region.name.clone(), a.listeners[r].clone());
                    world.albs.borrow_mut().insert(key, AlbState::FARGATE_ONLY);
                }
            }
        }
        world
    }

    /// Makes `operation` fail from now on.
    pub fn fail(&self, operation: &'static str) {
        self.failing.borrow_mut().insert(operation);
    }

    /// Makes journal writes whose sort key contains `fragment` fail from now on.
    pub fn fail_writes_of(&self, fragment: &'static str) {
        self.failing_writes.borrow_mut().push(fragment);
    }

    /// Lets every journal write through again.
    pub fn heal_writes(&self) {
        self.failing_writes.borrow_mut().clear();
    }

    /// Fails a journal write of `item` if scripted to.
    fn write(&self, item: &JournalItem) -> PortResult<()> {
        self.call("dynamodb", "PutItem")?;
        crate::journal::budget::admit_write(item)?;
        if self
            .failing_writes
            .borrow()
            .iter()
            .any(|f| item.sk.contains(f))
        {
            return Err(PortError::new(
                "dynamodb",
                "PutItem",
                ErrorClass::Retryable,
                "scripted failure",
            ));
        }
        Ok(())
    }

    /// Moves the clock on.
    pub fn advance(&self, secs: u64) {
        self.now.set(self.now.get().plus_secs(secs));
    }

    /// The journal items of partition `pk` whose sort key starts with `prefix`.
    pub fn items(&self, pk: &str, prefix: &str) -> Vec<JournalItem> {
        self.journal
            .borrow()
            .values()
            .filter(|it| it.pk == pk && it.sk.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// The weight of `set_identifier` in `zone`.
    pub fn weight(&self, zone: &str, set_identifier: &str) -> Option<u8> {
        self.zones.borrow().get(zone).and_then(|rs| {
            rs.iter()
                .find(|r| r.set_identifier == set_identifier)
                .map(|r| r.weight)
        })
    }

    /// Records the call; fails it if scripted to.
    fn call(&self, service: &'static str, operation: &'static str) -> PortResult<()> {
        self.calls.borrow_mut().push(operation);
        if self.throttling.borrow().contains(operation) {
            return Err(PortError::new(
                service,
                operation,
                ErrorClass::Throttled,
                "Throttling: Rate exceeded",
            ));
        }
        if self.failing.borrow().contains(operation) {
            return Err(PortError::new(
                service,
                operation,
                ErrorClass::Retryable,
                "scripted failure",
            ));
        }
        Ok(())
    }
}

/// Runs a future of the fake world (its ports never suspend) to completion.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("a fake port suspended"),
    }
}

impl Dns for FakeWorld {
    async fn read_weighted(&self, zone: &str) -> PortResult<Vec<WeightedRecord>> {
        self.call("route53", "ListResourceRecordSets")?;
        Ok(self.zones.borrow().get(zone).cloned().unwrap_or_default())
    }

    async fn upsert_weighted(
        &self,
        zone: &str,
        records: &[WeightedRecord],
        check: BatchCheck<'_>,
    ) -> PortResult<ChangeReport> {
        self.call("route53", "ChangeResourceRecordSets")?;
        // Every batch's state is checked before anything is sent.
        let per_batch = self.batch_records.get().unwrap_or(records.len()).max(1);
        for end in (per_batch..records.len())
            .step_by(per_batch)
            .chain([records.len()])
        {
            if let Err(violations) = check(&records[..end]) {
                let why: Vec<String> = violations.iter().map(ToString::to_string).collect();
                return Err(PortError::new(
                    "route53",
                    "ChangeResourceRecordSets",
                    ErrorClass::Permanent,
                    format!("guard rejected a batch: {}", why.join("; ")),
                ));
            }
        }
        let mut zones = self.zones.borrow_mut();
        let existing = zones.entry(zone.to_string()).or_default();
        for r in records {
            existing.retain(|x| !(x.name == r.name && x.set_identifier == r.set_identifier));
            existing.push(r.clone());
        }
        Ok(ChangeReport {
            calls: 1,
            records: u32::try_from(records.len()).unwrap_or(u32::MAX),
            verified: true,
        })
    }
}

impl Alarms for FakeWorld {
    async fn describe_alarms(
        &self,
        _region: &str,
        names: &[String],
    ) -> PortResult<Vec<(String, AlarmObservation)>> {
        self.call("cloudwatch", "DescribeAlarms")?;
        let alarms = self.alarms.borrow();
        Ok(names
            .iter()
            .filter_map(|n| alarms.get(n).map(|a| (n.clone(), *a)))
            .collect())
    }
}

impl Compute for FakeWorld {
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> PortResult<Vec<Option<EcsState>>> {
        for _ in services.chunks(crate::ports::DESCRIBE_SERVICES_MAX) {
            self.call("ecs", "DescribeServices")?;
        }
        let ecs = self.ecs.borrow();
        Ok(services
            .iter()
            .map(|service| {
                let key = (region.to_string(), cluster.to_string(), service.clone());
                ecs.get(&key).copied()
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
        self.call("ecs", "UpdateService")?;
        let key = (region.to_string(), cluster.to_string(), service.to_string());
        // Tasks start later: running stays where it is.
        match self.ecs.borrow_mut().get_mut(&key) {
            Some(state) => {
                state.desired = desired;
                Ok(())
            }
            None => Err(PortError::new(
                "ecs",
                "UpdateService",
                ErrorClass::Permanent,
                format!("ServiceNotFoundException: {cluster}/{service}"),
            )),
        }
    }
}

impl Balancer for FakeWorld {
    async fn read_split(
        &self,
        region: &str,
        listener: &str,
        _fargate: &str,
        _lambda: &str,
    ) -> PortResult<Option<AlbState>> {
        self.call("elbv2", "DescribeListeners")?;
        let key = (region.to_string(), listener.to_string());
        Ok(self.albs.borrow().get(&key).copied())
    }

    async fn set_split(
        &self,
        region: &str,
        listener: &str,
        _fargate: &str,
        _lambda: &str,
        weights: AlbState,
    ) -> PortResult<()> {
        self.call("elbv2", "ModifyListener")?;
        let key = (region.to_string(), listener.to_string());
        self.albs.borrow_mut().insert(key, weights);
        Ok(())
    }
}

impl Journal for FakeWorld {
    async fn put_new(&self, item: &JournalItem) -> PortResult<bool> {
        self.write(item)?;
        let key = (item.pk.clone(), item.sk.clone());
        let mut journal = self.journal.borrow_mut();
        if journal.contains_key(&key) {
            return Ok(false);
        }
        journal.insert(key, item.clone());
        Ok(true)
    }

    async fn put(&self, item: &JournalItem) -> PortResult<()> {
        self.write(item)?;
        let key = (item.pk.clone(), item.sk.clone());
        self.journal.borrow_mut().insert(key, item.clone());
        Ok(())
    }

    async fn query(&self, pk: &str, prefix: &str) -> PortResult<Vec<PortResult<JournalItem>>> {
        self.call("dynamodb", "Query")?;
        Ok(self.items(pk, prefix).into_iter().map(Ok).collect())
    }
}

impl Events for FakeWorld {
    async fn publish(&self, detail_type: &str, detail: &serde_json::Value) -> PortResult<()> {
        self.call("eventbridge", "PutEvents")?;
        self.events
            .borrow_mut()
            .push((detail_type.to_string(), detail.clone()));
        Ok(())
    }
}

impl Prober for FakeWorld {
    async fn probe(&self, probe: &Probe) -> bool {
        !self.unreachable.borrow().contains(&probe.target)
    }
}

impl Switches for FakeWorld {
    async fn publish_switches(&self, values: &[(SwitchRef, bool)]) -> PortResult<()> {
        self.call("cloudwatch", "PutMetricData")?;
        let mut switches = self.switches.borrow_mut();
        for (s, on) in values {
            switches.insert(s.alarm_name.clone(), *on);
        }
        Ok(())
    }

    async fn read_switches(&self, switches: &[SwitchRef]) -> PortResult<Vec<Option<bool>>> {
        self.call("cloudwatch", "GetMetricData")?;
        let published = self.switches.borrow();
        Ok(switches
            .iter()
            .map(|s| published.get(&s.alarm_name).copied())
            .collect())
    }
}

impl Clock for FakeWorld {
    fn now(&self) -> Timestamp {
        self.now.get()
    }
}
