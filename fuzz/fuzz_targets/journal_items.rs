//! Fuzz target for reading the journal: DynamoDB attribute maps through the adapter's
//! decoder (`regionctl_aws::dynamodb::from_item`), then everything decoded through the
//! controller's admission (`regionctl_controller::admit`: heartbeats, digests, last moves,
//! controls), as one `Query` page would go.
//!
//! The input is UTF-8 (lossily), items separated by lines `---`. Each line of an item is
//! `NAME TYPE VALUE`: `TYPE` is `S`, `N`, `B` (the value's bytes), `BOOL` (`true` when the
//! value is `true`), `NULL`, `SS` (values split on `,`), anything else a `S`. So a body is
//! one line of JSON text the fuzzer can mutate directly (`fuzz/seeds/journal_items/`).
//!
//! Properties: nothing panics; the decoder's result is the attributes it read (kind, keys,
//! owner, a body within `MAX_BODY_BYTES`), an error stays the error of its own item; and
//! admission believes only what its contract allows: owned records under their writer's
//! key, writers of the fleet, nothing dated after now plus the skew bound (what is refused
//! only for that is reported with its writer and date), and a `PAUSE`
//! item that is present and not `null` always means paused.
#![no_main]

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use libfuzzer_sys::fuzz_target;
use regionctl_aws::dynamodb::{MAX_BODY_BYTES, from_item};
use regionctl_controller::admit::{self, Bounds};
use regionctl_controller::ports::{JournalItem, PortResult};
use regionctl_core::time::Timestamp;
use std::collections::HashMap;

const CONTROLLERS: [&str; 3] = ["eu-central-1", "eu-west-1", "us-east-1"];
const NOW: Timestamp = Timestamp::from_secs(1_800_000_000);
const SKEW_SECS: u64 = 30;

fn attributes(chunk: &str) -> HashMap<String, AttributeValue> {
    let mut m = HashMap::new();
    for line in chunk.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(name), ty, value) = (parts.next(), parts.next(), parts.next().unwrap_or(""))
        else {
            continue;
        };
        let v = match ty.unwrap_or("S") {
            "N" => AttributeValue::N(value.into()),
            "B" => AttributeValue::B(Blob::new(value.as_bytes())),
            "BOOL" => AttributeValue::Bool(value == "true"),
            "NULL" => AttributeValue::Null(true),
            "SS" => AttributeValue::Ss(value.split(',').map(String::from).collect()),
            _ => AttributeValue::S(value.into()),
        };
        m.insert(name.to_string(), v);
    }
    m
}

fn string(m: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    match m.get(k) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

/// The decoder returns what it read, or an error for this item alone.
fn decode(m: &HashMap<String, AttributeValue>) -> PortResult<JournalItem> {
    let read = from_item(m);
    if let Ok(item) = &read {
        assert_eq!(Some(&item.pk), string(m, "pk").as_ref());
        assert_eq!(Some(&item.sk), string(m, "sk").as_ref());
        assert_eq!(Some(&item.owner), string(m, "owner").as_ref());
        assert_eq!(Some(item.kind.as_str().to_string()), string(m, "kind"));
        let body = string(m, "body").expect("a decoded item had a body");
        assert!(body.len() <= MAX_BODY_BYTES);
    }
    read.map_err(|e| e.into_port("dynamodb", "Query"))
}

/// Admission believes only what its contract allows (items are given to every admission
/// function: the real reads pass only their partition's, a superset cannot hurt).
fn admit_all(items: &[PortResult<JournalItem>]) {
    let controllers: Vec<String> = CONTROLLERS.map(String::from).to_vec();
    let bounds = Bounds {
        controllers: &controllers,
        now: NOW,
        skew_secs: SKEW_SECS,
    };
    let latest = NOW.plus_secs(SKEW_SECS);
    let known = |r: &str| CONTROLLERS.contains(&r);
    // Some item was written under `writer`'s key by `writer`.
    let own_key = |writer: &str| {
        items
            .iter()
            .flatten()
            .any(|i| i.sk == writer && i.owner == writer)
    };

    let beats = admit::heartbeats(items.to_vec(), &bounds);
    assert!(beats.records.len() <= items.len());
    for h in &beats.records {
        assert!(
            known(&h.region) && own_key(&h.region) && h.at <= latest,
            "{h:?}"
        );
        assert!(h.first_since.is_none_or(|t| t <= latest), "{h:?}");
        assert!(h.last_moves.values().all(|t| *t <= latest), "{h:?}");
        assert!(h.drained.values().all(|t| *t <= latest), "{h:?}");
        assert!(h.episodes.values().all(|t| *t <= latest), "{h:?}");
        assert!(h.episodes_closed.values().all(|t| *t <= latest), "{h:?}");
    }
    // Heartbeats refused only for their date: fleet writers under their own key, dated
    // beyond the bound (what `coordinate::aged_on_own_clock` starts aging).
    assert!(beats.ahead.len() <= items.len());
    for (writer, at) in &beats.ahead {
        assert!(known(writer) && own_key(writer) && *at > latest, "{writer} {at:?}");
    }

    let digests = admit::digests(items.to_vec(), &bounds);
    assert!(digests.records.len() <= items.len());
    for d in &digests.records {
        assert!(
            known(&d.observer) && own_key(&d.observer) && d.at <= latest,
            "{d:?}"
        );
        assert!(d.probes.iter().all(|p| p.since <= latest), "{d:?}");
        for r in &d.relayed {
            assert!(
                r.observer != d.observer && known(&r.observer) && r.at <= latest,
                "{d:?}"
            );
            assert!(r.probes.iter().all(|p| p.since <= latest), "{d:?}");
        }
    }

    let moves = admit::last_move(items.to_vec(), &bounds);
    assert!(moves.records.len() <= items.len());
    assert!(moves.records.iter().all(|t| *t <= latest));

    let (controls, _rejected) = admit::controls(items, NOW);
    // The last `PAUSE` item read decides: present and not `null` means paused, whatever
    // its body (an unreadable pause is the cautious side).
    let last_pause = items.iter().flatten().filter(|i| i.sk == "PAUSE").last();
    if let Some(pause) = last_pause {
        assert_eq!(
            controls.paused.is_some(),
            !pause.body.is_null(),
            "{pause:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let items: Vec<PortResult<JournalItem>> = text
        .split("\n---\n")
        .map(|chunk| decode(&attributes(chunk)))
        .collect();
    admit_all(&items);
});
