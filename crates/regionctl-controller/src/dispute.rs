//! Regions another acting controller sees failing: on this controller's planning copy of
//! the health view they are *disputed* ([`RegionEvidence::disputed`]) and gain no traffic
//! from it, neither by failback nor by taking over a cell whose serving regions were
//! evacuated, until the views agree.
//!
//! Two acting controllers may see one region differently for a while: one still inside
//! the region's recovery window, the other past it; one cut off from a region's alarms,
//! the other not. Evacuations are made by every acting controller, each on its own view,
//! so a controller that moved a cell's traffic into a region its peer held failing saw
//! the peer set it back to 0 two seconds later (`regionctl simulate --policies
//! chaos/policies-served`, seeds 1008, 1021, 5726). Taking traffic *away* still follows
//! this controller's own view alone: a peer's doubt never evacuates anything, it only
//! keeps traffic from flowing towards the doubt. Only acting peers count: a controller
//! standing down writes nothing, and one confused enough to see everything failing must
//! not hold up the fleet's evacuations while it cannot act.
//!
//! [`RegionEvidence::disputed`]: regionctl_core::health::RegionEvidence::disputed

use crate::fleet::Freshness;
use crate::journal::Heartbeat;
use regionctl_core::health::HealthView;
use regionctl_core::policy::Bundle;
use std::collections::BTreeSet;

/// `service/region` pairs a fresh, acting peer on this bundle lists as not healthy: in
/// its own view, or relayed from its peers other than `me`.
pub fn disputed<'h>(
    bundle: &Bundle,
    me: &str,
    heartbeats: &'h [Heartbeat],
    freshness: Freshness,
) -> BTreeSet<&'h str> {
    heartbeats
        .iter()
        .filter(|h| {
            h.region != me
                && h.bundle_hash == bundle.hash
                && h.state.is_acting()
                && freshness.is_fresh(h.at)
        })
        .flat_map(|h| {
            h.not_healthy.iter().map(String::as_str).chain(
                h.peers_not_healthy
                    .iter()
                    .filter(|(peer, _)| peer.as_str() != me)
                    .flat_map(|(_, pairs)| pairs.iter().map(String::as_str)),
            )
        })
        .collect()
}

/// Marks the `disputed` pairs on `health`; the number of regions marked.
pub fn mark(bundle: &Bundle, health: &mut HealthView, disputed: &BTreeSet<&str>) -> usize {
    let mut marked = 0;
    for (service, view) in bundle.services.iter().zip(&mut health.services) {
        for (region, evidence) in service.regions.iter().zip(&mut view.evidence) {
            if disputed.contains(format!("{}/{}", service.name, region.name).as_str()) {
                evidence.disputed = true;
                marked += 1;
            }
        }
    }
    marked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{example, heartbeat};
    use crate::status::ControllerState;
    use regionctl_core::time::Timestamp;

    const NOW: i64 = 1_000_000;

    fn hb(region: &str, state: ControllerState, age: i64, not_healthy: &[&str]) -> Heartbeat {
        let mut h = heartbeat(region, &example().hash, Timestamp::from_secs(NOW - age));
        h.state = state;
        h.not_healthy = not_healthy.iter().map(|s| (*s).to_string()).collect();
        h
    }

    fn freshness() -> Freshness {
        Freshness {
            now: Timestamp::from_secs(NOW),
            ttl_secs: 30,
        }
    }

    #[test]
    fn only_fresh_acting_peers_on_this_bundle_dispute() {
        let b = example();
        let standing_down = ControllerState::StandingDown("quorum not met".into());
        let mut relayed = hb("us-east-1", ControllerState::Acting, 5, &[]);
        relayed
            .peers_not_healthy
            .insert("eu-central-1".into(), vec!["auth/eu-central-1".into()]);
        relayed
            .peers_not_healthy
            .insert("eu-west-1".into(), vec!["search/us-east-1".into()]);
        let mut other_bundle = hb(
            "us-east-1",
            ControllerState::Acting,
            5,
            &["catalog/us-east-1"],
        );
        other_bundle.bundle_hash = "other".into();
        let heartbeats = vec![
            hb(
                "eu-central-1",
                ControllerState::Acting,
                5,
                &["content/eu-west-1"],
            ),
            hb(
                "eu-central-1",
                ControllerState::Acting,
                31,
                &["playback/eu-west-1"],
            ),
            hb("us-east-1", standing_down, 5, &["catalog/eu-west-1"]),
            hb(
                "eu-west-1",
                ControllerState::Acting,
                5,
                &["playback/us-east-1"],
            ),
            relayed,
            other_bundle,
        ];
        let d = disputed(&b, "eu-west-1", &heartbeats, freshness());
        assert_eq!(
            d.into_iter().collect::<Vec<_>>(),
            vec!["auth/eu-central-1", "content/eu-west-1"],
            "fresh acting peers' own views and what they relay from others; not this \
             controller's own, a stale one's, a standing-down one's, another bundle's, or \
             its own view relayed back"
        );
    }

    #[test]
    fn marking_sets_the_disputed_regions_only() {
        let b = example();
        let mut h = HealthView::unknown(&b);
        let disputed = BTreeSet::from(["content/eu-west-1", "nosuch/eu-west-1"]);
        assert_eq!(mark(&b, &mut h, &disputed), 1);
        for (service, view) in b.services.iter().zip(&h.services) {
            for (region, evidence) in service.regions.iter().zip(&view.evidence) {
                let expected = service.name == "content" && region.name == "eu-west-1";
                assert_eq!(
                    evidence.disputed, expected,
                    "{}/{}",
                    service.name, region.name
                );
            }
        }
    }
}
