//! Turning what a controller can see into core observations.
//!
//! Alarms are read in the region they watch (a region whose CloudWatch cannot be reached
//! yields no evidence, never "healthy"). Probes are this observer's own; peers' verdicts come
//! from their digests in the journal, read directly or relayed in another peer's digest
//! ([`peer_digests`]). Running ECS capacity is readiness evidence. [`gather`] is the pass's
//! observe stage: alarms, probes, this observer's digest written, peers' digests read.

use crate::admit::{self, Bounds, Rejected};
use crate::alarm_view::AlarmPass;
use crate::fleet::Freshness;
use crate::journal::{self, Heartbeat, ObservationDigest, ProbeRecord};
use crate::memory::Memory;
use crate::ports::{Alarms, Journal, Prober, query_partitions};
use crate::probes::{self, ProbeBatch, ProbeLimits};
use crate::reconcile::Context;
use regionctl_core::health::{AlarmIndex, AlarmObservation, Observations, ProbeVerdict};
use regionctl_core::live::LiveState;
use regionctl_core::policy::Bundle;
use regionctl_core::time::Timestamp;
use std::collections::BTreeMap;

/// What reading a bundle's alarms needs, derived once per bundle rather than every pass
/// (the simulator runs millions of passes on one bundle; the daemon builds it with the
/// bundle).
///
/// The names per region are numbers into the index's one string of names, not copies:
/// at 1,000 services (155,000 alarms) the copies were about 10 MiB of the controller's
/// 64 MiB budget (docs/PERFORMANCE.md, "The status document and the alarm index").
#[derive(Debug, Clone)]
pub struct AlarmReads {
    index: AlarmIndex,
    /// Per region, the numbers of its alarms' names, ascending: in name order.
    by_region: BTreeMap<String, Vec<u32>>,
}

/// One region's alarm names, sorted, each once ([`AlarmReads::by_region`]).
#[derive(Debug, Clone, Copy)]
pub struct RegionNames<'a> {
    index: &'a AlarmIndex,
    numbers: &'a [u32],
}

impl<'a> RegionNames<'a> {
    /// How many names.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// True when the region has no names.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// The names, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + Clone + 'a {
        let index = self.index;
        self.numbers.iter().map(move |&n| index.name_of(n))
    }

    /// The names, copied.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(String::from).collect()
    }
}

impl AlarmReads {
    /// Indexes `bundle`'s alarms.
    pub fn new(bundle: &Bundle) -> Self {
        let index = AlarmIndex::new(bundle);
        let mut by_region: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for service in &bundle.services {
            for binding in &service.health.alarms {
                // Every bound name is in the index, short of names past its 4 GiB of text,
                // which are never read (`AlarmIndex::new`).
                let Some(n) = index.number(&binding.name) else {
                    continue;
                };
                match by_region.get_mut(&service.regions[binding.r].name) {
                    Some(numbers) => numbers.push(n),
                    None => {
                        by_region.insert(service.regions[binding.r].name.clone(), vec![n]);
                    }
                }
            }
        }
        for numbers in by_region.values_mut() {
            numbers.sort_unstable();
            numbers.dedup();
            numbers.shrink_to_fit();
        }
        AlarmReads { index, by_region }
    }

    /// Every region with bound alarms, and its alarm names (sorted, each once).
    pub fn by_region(&self) -> impl Iterator<Item = (&String, RegionNames<'_>)> {
        self.by_region.iter().map(|(r, numbers)| {
            let names = RegionNames {
                index: &self.index,
                numbers,
            };
            (r, names)
        })
    }

    /// True when the bundle binds alarm `name` in `region`.
    pub fn has(&self, region: &str, name: &str) -> bool {
        let (Some(numbers), Some(n)) = (self.by_region.get(region), self.index.number(name)) else {
            return false;
        };
        numbers.binary_search(&n).is_ok()
    }

    /// Records alarm `name`'s state into `observations` (every binding of the name).
    pub fn record(&self, observations: &mut Observations, name: &str, obs: AlarmObservation) {
        self.index.record(observations, name, obs);
    }
}

/// What the observe stage saw.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Alarm states and probe verdicts (this observer's and fresh peers'); running
    /// capacity is added once the live state is read ([`add_running`]).
    pub observations: Observations,
    /// What the alarm stage did ([`crate::alarm_view::AlarmView::refresh`]); its `failed`
    /// are the regions whose CloudWatch could not be read.
    pub alarms: AlarmPass,
    /// What could not be read or written.
    pub failures: Vec<String>,
    /// Digests (or parts of them) not believed.
    pub rejected: Vec<Rejected>,
}

/// The observe stage: reads every alarm, probes every (service, region) from here, writes
/// this observer's digest (relaying its peers') and adds the fresh digests' verdicts, leaving
/// out the failing verdicts of peers whose `heartbeats` say they are cut off
/// ([`cut_off_observers`], [`discount_cut_off`]).
///
/// `own_last` is this observer's previous digest, kept in its memory: its probe verdicts'
/// `since` carry on from there, and it is replaced with this pass's digest.
pub async fn gather<W: Alarms + Prober + Journal>(
    ctx: &Context<'_>,
    world: &W,
    freshness: Freshness,
    memory: &mut Memory,
    heartbeats: &[Heartbeat],
) -> Observed {
    let bundle = ctx.bundle;
    let cut_off = cut_off_observers(heartbeats, &ctx.region, freshness);
    let fresh = |at: Timestamp| freshness.is_fresh(at);
    let mut failures = Vec::new();
    let mut observations = Observations::empty(
        bundle,
        u32::try_from(ctx.controllers.len()).unwrap_or(u32::MAX),
    );
    let alarms = memory
        .alarms
        .refresh(
            world,
            ctx.alarm_reads,
            bundle,
            freshness.now,
            &mut observations,
        )
        .await;
    let own_last = &mut memory.own_digest;
    let bounds = Bounds {
        controllers: &ctx.controllers,
        now: freshness.now,
        skew_secs: freshness.ttl_secs,
    };
    // One partition per observer (its own writer's: `journal::digest_partition`).
    let (items, unread) = query_partitions(
        world,
        ctx.controllers.iter().map(|c| journal::digest_partition(c)),
    )
    .await;
    failures.extend(unread);
    let admitted = admit::digests(items, &bounds);
    let (digests, rejected) = (admitted.records, admitted.rejected);
    // Its own last digest carries each probe verdict's `since` across passes, but only if
    // fresh: a controller that was down (crashed, cut off) did not watch in between, and
    // an old "ok since" would hide a failure it missed (found by `regionctl simulate`).
    // The copy in memory comes first; the journal's only after a restart. A writer that
    // overwrites this observer's digest in the journal (it can: every controller may write
    // the `OBS` partition) must not reset what the observer itself saw: a forged "ok since
    // now" did, every pass, and an evacuation came 282 s late (simulate seed 3369).
    let own_previous = own_last.as_ref().filter(|d| fresh(d.at)).or_else(|| {
        digests
            .iter()
            .find(|d| d.observer == ctx.region && fresh(d.at))
    });
    let probes = probe_all(world, bundle, own_previous, freshness.now).await;
    let mut usable = peer_digests(&digests, &ctx.region, &bundle.hash, &ctx.controllers, fresh);
    discount_cut_off(&mut usable, &cut_off);
    keep_known_pairs(bundle, &mut usable);
    let own = ObservationDigest {
        observer: ctx.region.clone(),
        bundle_hash: bundle.hash.clone(),
        at: freshness.now,
        probes,
        alarm_read_failures: alarms.failed.clone(),
        relayed: usable.clone(),
    };
    if let Err(e) = world.put(&journal::digest_item(&own)).await {
        failures.push(format!("digest not written: {}", e.message()));
    }
    let own = ObservationDigest {
        relayed: Vec::new(),
        ..own
    };
    *own_last = Some(own.clone());
    usable.push(own);
    add_probe_verdicts(bundle, &usable, &mut observations);
    Observed {
        observations,
        alarms,
        failures,
        rejected,
    }
}

/// Probes every (service, region) from here, each distinct endpoint once, within the
/// controller's probe limits ([`crate::probes`]). `previous` (this observer's last digest)
/// carries each verdict's `since` across passes and orders what was unanswered first.
pub async fn probe_all<P: Prober>(
    world: &P,
    bundle: &Bundle,
    previous: Option<&ObservationDigest>,
    now: Timestamp,
) -> Vec<ProbeRecord> {
    let batch = ProbeBatch::new(bundle, previous, ProbeLimits::of(bundle));
    let answers = world.probe_batch(&batch).await;
    probes::verdicts(bundle, &batch, &answers, previous, now)
}

/// The peers' digests this pass may use: for every other controller of the fleet, the newest
/// copy on this bundle that is still `fresh`, whether read from its own journal item or
/// relayed in another peer's digest. The copies returned carry no relays of their own, so a
/// relay is at most one item deep however many hops it took.
pub fn peer_digests(
    digests: &[ObservationDigest],
    own: &str,
    bundle_hash: &str,
    controllers: &[String],
    fresh: impl Fn(Timestamp) -> bool,
) -> Vec<ObservationDigest> {
    let mut newest: BTreeMap<&str, &ObservationDigest> = BTreeMap::new();
    let copies = digests
        .iter()
        .flat_map(|d| std::iter::once(d).chain(d.relayed.iter()));
    for d in copies {
        if d.observer == own
            || d.bundle_hash != bundle_hash
            || !fresh(d.at)
            || !controllers.contains(&d.observer)
        {
            continue;
        }
        let slot = newest.entry(d.observer.as_str()).or_insert(d);
        if d.at > slot.at {
            *slot = d;
        }
    }
    newest
        .into_values()
        // Field by field: cloning `d` whole would copy its relays only to drop them.
        .map(|d| ObservationDigest {
            observer: d.observer.clone(),
            bundle_hash: d.bundle_hash.clone(),
            at: d.at,
            probes: d.probes.clone(),
            alarm_read_failures: d.alarm_read_failures.clone(),
            relayed: Vec::new(),
        })
        .collect()
}

/// The peers whose failing verdicts this pass does not count or relay
/// ([`discount_cut_off`]): those whose fresh heartbeat says they stand down for want of a
/// quorum. A controller that stands down for any other reason (its own region down, its
/// journal) is a witness like any other.
pub fn cut_off_observers(heartbeats: &[Heartbeat], own: &str, freshness: Freshness) -> Vec<String> {
    heartbeats
        .iter()
        .filter(|h| h.region != own && freshness.is_fresh(h.at) && h.state.cut_off())
        .map(|h| h.region.clone())
        .collect()
}

/// Keeps only the succeeding verdicts of `cut_off` observers. Cut off from the fleet, an
/// observer may see every other region fail, and its failing verdicts stay in its digest
/// (held by its hysteresis, then fresh for a TTL) after the cut heals. When an isolation
/// healed while the other two regions were partitioned from each other, each of those two
/// counted the healed observer's failures with its own failing probe of the other: two
/// quorums, two evacuations against each other (`regionctl simulate` seeds 169, 174, 191 of
/// the example policies). But a controller cannot hear a quorum for reasons that leave its
/// probes sound (its peers' journals unreachable), and an answer is never produced by a
/// cut: dropping such a peer's digest whole left a just-healed controller without the
/// answers that kept a region healthy, and it evacuated that region (served seed 1369).
pub fn discount_cut_off(digests: &mut [ObservationDigest], cut_off: &[String]) {
    for digest in digests.iter_mut().filter(|d| cut_off.contains(&d.observer)) {
        digest.probes.retain(|p| p.ok);
    }
}

/// Drops peers' probe verdicts on (service, region) pairs the bundle does not have. They
/// would be ignored when read, but they were relayed: a digest padded with thousands of
/// them under a peer's key (a rogue writer) made every relaying digest too large to write,
/// so the fleet lost all its peers' evidence and an evacuation came 282 s late (simulate
/// seeds 379, 1402, 3369, 4899). A relay now carries at most what this bundle can use.
pub fn keep_known_pairs(bundle: &Bundle, digests: &mut [ObservationDigest]) {
    for d in digests {
        d.probes.retain(|p| {
            bundle.service_index(&p.service).is_some_and(|s| {
                bundle.services[s]
                    .regions
                    .iter()
                    .any(|r| r.name == p.region)
            })
        });
    }
}

/// Adds digests' probe verdicts (this observer's and fresh peers') to `observations`.
pub fn add_probe_verdicts(
    bundle: &Bundle,
    digests: &[ObservationDigest],
    observations: &mut Observations,
) {
    for d in digests {
        let Some(observer) = bundle.region_index(&d.observer) else {
            continue;
        };
        for p in &d.probes {
            let Some(s) = bundle.service_index(&p.service) else {
                continue;
            };
            let Some(r) = bundle.services[s]
                .regions
                .iter()
                .position(|x| x.name == p.region)
            else {
                continue;
            };
            observations.probes.push(ProbeVerdict {
                observer,
                service: s,
                r,
                ok: p.ok,
                since: p.since,
                role: p.role,
            });
        }
    }
}

/// Running capacity from the live state, as readiness evidence.
pub fn add_running(live: &LiveState, observations: &mut Observations) {
    for (s, ls) in live.services.iter().enumerate() {
        if let Some(slots) = observations.running.get_mut(s) {
            for (r, e) in ls.ecs.iter().enumerate() {
                if let (Some(slot), Some(e)) = (slots.get_mut(r), e) {
                    *slot = Some(e.running);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regionctl_core::policy::raw::SignalRole;

    const NOW: i64 = 10_000;

    fn digest(
        observer: &str,
        age: i64,
        ok: bool,
        relayed: Vec<ObservationDigest>,
    ) -> ObservationDigest {
        ObservationDigest {
            observer: observer.into(),
            bundle_hash: "h1".into(),
            at: Timestamp::from_secs(NOW - age),
            probes: vec![ProbeRecord {
                service: "content".into(),
                region: "eu-central-1".into(),
                ok,
                since: Timestamp::from_secs(NOW - 600),
                role: SignalRole::Failure,
            }],
            alarm_read_failures: Vec::new(),
            relayed,
        }
    }

    fn fleet() -> Vec<String> {
        ["eu-central-1", "eu-west-1", "us-east-1"]
            .map(String::from)
            .to_vec()
    }

    fn peers(digests: &[ObservationDigest], own: &str) -> Vec<(String, i64, bool)> {
        let fresh = |at: Timestamp| at.millis() > (NOW - 30) * 1000;
        peer_digests(digests, own, "h1", &fleet(), fresh)
            .into_iter()
            .map(|d| {
                assert!(d.relayed.is_empty(), "copies carry no relays: {d:?}");
                (d.observer, NOW - d.at.millis() / 1000, d.probes[0].ok)
            })
            .collect()
    }

    #[test]
    fn a_peer_across_a_partition_is_heard_through_another() {
        // Seed 9402: eu-west-1 cannot read eu-central-1's item; us-east-1 relays it.
        let relayed = digest("eu-central-1", 8, true, Vec::new());
        let digests = [
            digest("us-east-1", 3, true, vec![relayed]),
            digest("eu-west-1", 40, false, Vec::new()),
        ];
        assert_eq!(
            peers(&digests, "eu-west-1"),
            [
                ("eu-central-1".to_string(), 8, true),
                ("us-east-1".to_string(), 3, true)
            ]
        );
    }

    #[test]
    fn the_newest_copy_wins_and_stale_copies_are_dropped() {
        let digests = [
            // Direct but older than the relayed copy (this replica lags).
            digest("eu-central-1", 20, false, Vec::new()),
            digest(
                "us-east-1",
                2,
                true,
                vec![digest("eu-central-1", 5, true, Vec::new())],
            ),
        ];
        assert_eq!(
            peers(&digests, "eu-west-1")[0],
            ("eu-central-1".to_string(), 5, true)
        );
        // A relayed copy is only as fresh as its observation, not as its relay.
        let digests = [digest(
            "us-east-1",
            2,
            true,
            vec![digest("eu-central-1", 45, true, Vec::new())],
        )];
        assert_eq!(
            peers(&digests, "eu-west-1"),
            [("us-east-1".to_string(), 2, true)]
        );
    }

    #[test]
    fn own_other_policy_and_stranger_copies_are_ignored() {
        let mut other_hash = digest("eu-central-1", 1, false, Vec::new());
        other_hash.bundle_hash = "h0".into();
        let digests = [digest(
            "us-east-1",
            2,
            true,
            vec![
                digest("eu-west-1", 1, false, Vec::new()),
                other_hash,
                digest("ap-south-1", 1, false, Vec::new()),
            ],
        )];
        assert_eq!(
            peers(&digests, "eu-west-1"),
            [("us-east-1".to_string(), 2, true)]
        );
    }

    #[test]
    fn a_digest_written_before_relays_existed_still_reads() {
        let old = r#"{"observer":"us-east-1","bundle_hash":"h1","at":9990000,
            "probes":[],"alarm_read_failures":[]}"#;
        let d: ObservationDigest = serde_json::from_str(old).expect("old digest parses");
        assert!(d.relayed.is_empty());
        // And a digest without relays is written without the field.
        let json = serde_json::to_string(&d).expect("serializes");
        assert!(!json.contains("relayed"), "{json}");
    }

    #[test]
    fn relays_carry_only_the_pairs_the_bundle_has() {
        let bundle = crate::fake::example();
        let mut padded = digest("us-east-1", 1, true, Vec::new());
        padded.probes.extend((0..1000).map(|i| ProbeRecord {
            service: format!("rogue-service-{i}"),
            region: "us-east-1".into(),
            ok: false,
            since: Timestamp::from_secs(NOW),
            role: SignalRole::Failure,
        }));
        padded.probes.push(ProbeRecord {
            service: "content".into(),
            region: "mars-north-1".into(),
            ok: false,
            since: Timestamp::from_secs(NOW),
            role: SignalRole::Failure,
        });
        let mut digests = vec![padded];
        keep_known_pairs(&bundle, &mut digests);
        let kept: Vec<(&str, &str)> = digests[0]
            .probes
            .iter()
            .map(|p| (p.service.as_str(), p.region.as_str()))
            .collect();
        assert_eq!(kept, [("content", "eu-central-1")]);
    }

    #[test]
    fn observers_cut_off_from_a_quorum_are_not_counted_others_standing_down_are() {
        use crate::fleet::StandDown;
        use crate::status::ControllerState;
        let now = Timestamp::from_secs(NOW);
        let freshness = Freshness { now, ttl_secs: 30 };
        let standing = |region: &str, why: StandDown, age: i64| Heartbeat {
            state: ControllerState::StandingDown(why.to_string()),
            ..crate::fake::heartbeat(region, "h1", Timestamp::from_secs(NOW - age))
        };
        let quorum = || StandDown::QuorumNotMet {
            same_hash: 1,
            needed: 2,
        };
        let heartbeats = [
            standing("us-east-1", quorum(), 5),
            // Its own region down: it still sees the others.
            standing("eu-west-1", StandDown::OwnRegionDown, 5),
            // Cut off once, but that heartbeat is no longer fresh.
            standing("ap-south-1", quorum(), 60),
            // This controller itself.
            standing("eu-central-1", quorum(), 5),
            crate::fake::heartbeat("sa-east-1", "h1", now),
        ];
        assert_eq!(
            cut_off_observers(&heartbeats, "eu-central-1", freshness),
            ["us-east-1"]
        );
    }

    #[test]
    fn a_cut_off_observer_witnesses_answers_not_failures() {
        let mut digests = vec![
            digest("us-east-1", 5, false, Vec::new()),
            digest("us-east-1", 5, true, Vec::new()),
            digest("eu-west-1", 5, false, Vec::new()),
        ];
        discount_cut_off(&mut digests, &["us-east-1".to_string()]);
        let kept: Vec<(&str, usize)> = digests
            .iter()
            .map(|d| (d.observer.as_str(), d.probes.len()))
            .collect();
        assert_eq!(kept, [("us-east-1", 0), ("us-east-1", 1), ("eu-west-1", 1)]);
    }
}
