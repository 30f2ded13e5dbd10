//! Episodes on the example bundle: opened by this controller's view, agreed on the earliest
//! start among fresh acting peers, closed when the service is steady again.

use super::*;
use crate::fake::{degraded, example};

const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);

fn heartbeat(region: &str, episodes: &[(&str, Timestamp)]) -> Heartbeat {
    Heartbeat {
        episodes: episodes.iter().map(|(s, t)| (s.to_string(), *t)).collect(),
        ..crate::fake::heartbeat(region, "b", NOW)
    }
}

fn healthy(bundle: &Bundle) -> HealthView {
    degraded(bundle, "content", &[], NOW)
}

#[test]
fn an_episode_opens_on_a_failing_view_takes_the_earliest_peer_start_and_closes_when_steady() {
    let b = example();
    let live = LiveState::steady(&b);
    let steady = step(&Episodes::default(), &b, (&healthy(&b), &live), &[], NOW);
    assert!(steady.open.is_empty(), "{steady:?}");

    let failing = degraded(&b, "content", &["eu-central-1"], NOW);
    let opened = step(&steady, &b, (&failing, &live), &[], NOW);
    assert_eq!(opened.open.get("content"), Some(&NOW));
    assert_eq!(opened.open.len(), 1);

    // A peer saw it first: its start is adopted; a later one is not.
    let earlier = NOW.plus_secs(0);
    let peer = heartbeat(
        "us-east-1",
        &[("content", Timestamp(earlier.millis() - 20_000))],
    );
    let later = heartbeat("eu-west-1", &[("content", NOW.plus_secs(5))]);
    let agreed = step(
        &opened,
        &b,
        (&failing, &live),
        &[&peer, &later],
        NOW.plus_secs(10),
    );
    assert_eq!(
        agreed.open.get("content"),
        Some(&Timestamp(NOW.millis() - 20_000))
    );

    // Healthy again but still off baseline (failback under way): the same episode.
    let mut moved = live.clone();
    let content = b.service_index("content").expect("content");
    if let Some(w) = moved.services[content].weights.get_mut(0, 0) {
        *w = Some(0);
    }
    let failing_back = step(&agreed, &b, (&healthy(&b), &moved), &[], NOW.plus_secs(60));
    assert_eq!(failing_back.open, agreed.open);

    // Steady: closed. A slow peer still reporting the old start cannot reopen it, and the
    // next incident is a new episode.
    let closed = step(
        &failing_back,
        &b,
        (&healthy(&b), &live),
        &[&peer],
        NOW.plus_secs(120),
    );
    assert!(closed.open.is_empty());
    let next = step(
        &closed,
        &b,
        (&failing, &live),
        &[&peer],
        NOW.plus_secs(3_600),
    );
    assert_eq!(next.open.get("content"), Some(&NOW.plus_secs(3_600)));
}

/// Seeds 3, 26, 61 and 179 (`approved-in-episode`): a failure while the last incident's
/// failback is still under way (all healthy, off baseline) is a new episode, so the last
/// evacuation's approval does not authorise this one; a peer still on the old start is
/// not adopted.
#[test]
fn a_failure_during_a_failback_opens_a_new_episode() {
    let b = example();
    let content = b.service_index("content").expect("content");
    let mut moved = LiveState::steady(&b);
    if let Some(w) = moved.services[content].weights.get_mut(0, 0) {
        *w = Some(0);
    }
    let failing = degraded(&b, "content", &["eu-central-1"], NOW);
    let first = step(&Episodes::default(), &b, (&failing, &moved), &[], NOW);
    assert_eq!(first.open.get("content"), Some(&NOW));
    // Healthy again, failing back: the same episode.
    let t1 = NOW.plus_secs(600);
    let failing_back = step(&first, &b, (&healthy(&b), &moved), &[], t1);
    assert_eq!(failing_back.open.get("content"), Some(&NOW));
    // Failing again before the failback is done: a new episode, from now.
    let t2 = NOW.plus_secs(1200);
    let peer = heartbeat("us-east-1", &[("content", NOW)]);
    let again = step(&failing_back, &b, (&failing, &moved), &[&peer], t2);
    assert_eq!(again.open.get("content"), Some(&t2));
    assert_eq!(again.closed.get("content"), Some(&NOW));
    // Still failing next pass: the episode goes on.
    let t3 = NOW.plus_secs(1210);
    let on = step(&again, &b, (&failing, &moved), &[&peer], t3);
    assert_eq!(on.open.get("content"), Some(&t2));
}

#[test]
fn an_episode_a_peer_saw_close_is_over_here_too() {
    let b = example();
    let live = LiveState::steady(&b);
    let failing = degraded(&b, "content", &["eu-central-1"], NOW);
    // This controller opened an episode, then went blind while the service was steady.
    let held = step(&Episodes::default(), &b, (&failing, &live), &[], NOW);
    assert_eq!(held.open.get("content"), Some(&NOW));

    // Its peers saw that episode close and a new one open at t1.
    let t1 = NOW.plus_secs(1500);
    let mut peer = heartbeat("us-east-1", &[("content", t1)]);
    peer.episodes_closed.insert("content".into(), NOW);
    let t2 = NOW.plus_secs(1600);
    let joined = step(&held, &b, (&failing, &live), &[&peer], t2);
    assert_eq!(joined.open.get("content"), Some(&t1), "{joined:?}");
    assert_eq!(joined.closed.get("content"), Some(&NOW));

    // A peer that closed only an older episode ends nothing: its newer start is not
    // adopted either (this controller's own is the earliest).
    let mut old = heartbeat("eu-west-1", &[("content", t1)]);
    old.episodes_closed
        .insert("content".into(), Timestamp(NOW.millis() - 60_000));
    let kept = step(&held, &b, (&failing, &live), &[&old], t2);
    assert_eq!(kept.open.get("content"), Some(&NOW), "{kept:?}");
    assert_eq!(kept.closed.get("content"), None);
}
