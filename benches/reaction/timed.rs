//! [`Timed`]: every controller port, forwarded to an [`AwsWorld`], with each call's start
//! and end recorded and whether it is corrective (`set_desired`, `upsert_weighted`,
//! `set_split`, the switch publish).

use regionctl::aws_world::AwsWorld;
use regionctl_controller::ports::{
    Alarms, Balancer, BatchCheck, ChangeReport, Clock, Compute, Dns, Events, Journal, JournalItem,
    PortResult, Prober, SwitchRef, Switches, WeightedRecord,
};
use regionctl_core::health::AlarmObservation;
use regionctl_core::live::{AlbState, EcsState};
use regionctl_core::policy::Probe;
use regionctl_core::time::Timestamp;
use std::cell::RefCell;
use std::future::Future;
use std::time::Instant;

/// One forwarded port call.
#[derive(Debug, Clone)]
pub struct Call {
    /// Port operation (journal writes carry the item kind).
    pub op: String,
    /// Corrective (`set_desired`, `upsert_weighted`, `set_split`, `publish_switches`).
    pub mutating: bool,
    /// True for calls that reach AWS (not the clock, not the controller's own probes).
    pub aws: bool,
    /// AWS API calls behind the port call (Route 53 change + GetChange + read-back).
    pub api_calls: u32,
    /// When the call started.
    pub start: Instant,
    /// When it returned.
    pub end: Instant,
}

/// Every port, forwarded to an [`AwsWorld`], with each call's start and end recorded.
pub struct Timed<'a> {
    inner: &'a AwsWorld,
    calls: RefCell<Vec<Call>>,
}

impl<'a> Timed<'a> {
    /// A decorator over `inner` with no calls recorded.
    pub fn new(inner: &'a AwsWorld) -> Self {
        Timed {
            inner,
            calls: RefCell::new(Vec::new()),
        }
    }

    /// The calls recorded so far, in order; the record starts afresh.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.borrow_mut())
    }

    async fn time<T>(
        &self,
        op: impl Into<String>,
        mutating: bool,
        fut: impl Future<Output = T>,
        api_calls: impl FnOnce(&T) -> u32,
    ) -> T {
        let start = Instant::now();
        let out = fut.await;
        let end = Instant::now();
        let api_calls = api_calls(&out);
        self.calls.borrow_mut().push(Call {
            op: op.into(),
            mutating,
            aws: true,
            api_calls,
            start,
            end,
        });
        out
    }
}

fn one<T>(_: &T) -> u32 {
    1
}

impl Dns for Timed<'_> {
    async fn read_weighted(&self, zone: &str) -> PortResult<Vec<WeightedRecord>> {
        self.time(
            "dns.read_weighted",
            false,
            self.inner.read_weighted(zone),
            one,
        )
        .await
    }

    async fn upsert_weighted(
        &self,
        zone: &str,
        records: &[WeightedRecord],
        check: BatchCheck<'_>,
    ) -> PortResult<ChangeReport> {
        self.time(
            "dns.upsert_weighted",
            true,
            self.inner.upsert_weighted(zone, records, check),
            |r: &PortResult<ChangeReport>| r.as_ref().map_or(1, |c| c.calls.max(1)),
        )
        .await
    }
}

impl Alarms for Timed<'_> {
    async fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> PortResult<Vec<(String, AlarmObservation)>> {
        self.time(
            "alarms.describe_alarms",
            false,
            self.inner.describe_alarms(region, names),
            one,
        )
        .await
    }
}

impl Compute for Timed<'_> {
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> PortResult<Vec<Option<EcsState>>> {
        self.time(
            "compute.describe_services",
            false,
            self.inner.describe_services(region, cluster, services),
            one,
        )
        .await
    }

    async fn set_desired(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> PortResult<()> {
        self.time(
            "compute.set_desired",
            true,
            self.inner.set_desired(region, cluster, service, desired),
            one,
        )
        .await
    }
}

impl Balancer for Timed<'_> {
    async fn read_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
    ) -> PortResult<Option<AlbState>> {
        self.time(
            "balancer.read_split",
            false,
            self.inner.read_split(region, listener, fargate, lambda),
            one,
        )
        .await
    }

    async fn set_split(
        &self,
        region: &str,
        listener: &str,
        fargate: &str,
        lambda: &str,
        weights: AlbState,
    ) -> PortResult<()> {
        self.time(
            "balancer.set_split",
            true,
            self.inner
                .set_split(region, listener, fargate, lambda, weights),
            one,
        )
        .await
    }
}

impl Journal for Timed<'_> {
    async fn put_new(&self, item: &JournalItem) -> PortResult<bool> {
        self.time(
            format!("journal.put_new({})", item.kind),
            false,
            self.inner.put_new(item),
            one,
        )
        .await
    }

    async fn put(&self, item: &JournalItem) -> PortResult<()> {
        self.time(
            format!("journal.put({})", item.kind),
            false,
            self.inner.put(item),
            one,
        )
        .await
    }

    async fn query(&self, pk: &str, prefix: &str) -> PortResult<Vec<PortResult<JournalItem>>> {
        let family = pk.split('#').next().unwrap_or(pk);
        self.time(
            format!("journal.query({family})"),
            false,
            self.inner.query(pk, prefix),
            one,
        )
        .await
    }
}

impl Events for Timed<'_> {
    async fn publish(&self, detail_type: &str, detail: &serde_json::Value) -> PortResult<()> {
        self.time(
            format!("events.publish({detail_type})"),
            false,
            self.inner.publish(detail_type, detail),
            one,
        )
        .await
    }
}

impl Switches for Timed<'_> {
    async fn publish_switches(&self, values: &[(SwitchRef, bool)]) -> PortResult<()> {
        self.time(
            "cloudwatch.publish_switches".to_string(),
            true,
            self.inner.publish_switches(values),
            one,
        )
        .await
    }

    async fn read_switches(&self, switches: &[SwitchRef]) -> PortResult<Vec<Option<bool>>> {
        self.time(
            "cloudwatch.read_switches".to_string(),
            false,
            self.inner.read_switches(switches),
            one,
        )
        .await
    }
}

impl Prober for Timed<'_> {
    async fn probe(&self, probe: &Probe) -> bool {
        let start = Instant::now();
        let ok = self.inner.probe(probe).await;
        self.calls.borrow_mut().push(Call {
            op: "probe".into(),
            mutating: false,
            aws: false,
            api_calls: 0,
            start,
            end: Instant::now(),
        });
        ok
    }
}

impl Clock for Timed<'_> {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }
}
