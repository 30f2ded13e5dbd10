//! Planning Route 53 change batches: the fewest `ChangeResourceRecordSets` calls that
//! respect the API limits.
//!
//! Limits per batch: 1,000 record changes and 32,000 characters across all values, where an
//! UPSERT counts twice toward both. All changes to one (name, type) must be in the same
//! batch (weighted sets share a name and type, and a DELETE + CREATE compare-and-swap must
//! be atomic), so groups are never split. Order is kept: groups are packed greedily into
//! consecutive batches, which is the minimum number of batches among order-preserving plans
//! (any segment that fits stays fitting when shortened). Callers order changes so that every
//! intermediate state is safe (e.g. raise receivers before lowering the failing region) and
//! check each prefix with a guard.

use crate::types::{RecordChange, RecordSetType};

/// Route 53 batch limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Maximum weighted record changes per batch (UPSERT counts 2).
    pub max_changes: usize,
    /// Maximum weighted value characters per batch (UPSERT counts 2×).
    pub max_value_chars: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_changes: 1000,
            max_value_chars: 32_000,
        }
    }
}

/// Why a set of changes cannot be batched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// One (name, type) group alone exceeds a batch limit; it cannot be split.
    #[error(
        "changes to {name} {rtype} need {changes} changes / {chars} value characters, over the per-batch limit"
    )]
    GroupTooLarge {
        /// Record name.
        name: String,
        /// Record type.
        rtype: String,
        /// Weighted change count of the group.
        changes: usize,
        /// Weighted value characters of the group.
        chars: usize,
    },
}

/// The cost of one change toward the batch limits: (changes, value characters).
pub fn change_cost(change: &RecordChange) -> (usize, usize) {
    let w = change.action.weight();
    (w, w * change.record.value_chars())
}

/// Plans batches with the default Route 53 limits.
pub fn plan_batches(changes: Vec<RecordChange>) -> Result<Vec<Vec<RecordChange>>, PlanError> {
    plan_batches_with(changes, BatchLimits::default())
}

/// Plans batches with explicit limits (see the module docs for the rules).
pub fn plan_batches_with(
    changes: Vec<RecordChange>,
    limits: BatchLimits,
) -> Result<Vec<Vec<RecordChange>>, PlanError> {
    // Group by (name, type), groups in order of first appearance, changes in given order.
    let mut order: Vec<(String, RecordSetType)> = Vec::new();
    let mut groups: std::collections::HashMap<(String, RecordSetType), Vec<RecordChange>> =
        std::collections::HashMap::new();
    for change in changes {
        let key = change.record.group_key();
        groups
            .entry(key.clone())
            .or_insert_with(|| {
                order.push(key);
                Vec::new()
            })
            .push(change);
    }

    let mut batches: Vec<Vec<RecordChange>> = Vec::new();
    let mut current: Vec<RecordChange> = Vec::new();
    let (mut used_changes, mut used_chars) = (0usize, 0usize);
    for key in order {
        let Some(group) = groups.remove(&key) else {
            continue;
        };
        let (changes, chars) = group
            .iter()
            .map(change_cost)
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
        if changes > limits.max_changes || chars > limits.max_value_chars {
            return Err(PlanError::GroupTooLarge {
                name: key.0,
                rtype: key.1.as_str().to_string(),
                changes,
                chars,
            });
        }
        if used_changes + changes > limits.max_changes
            || used_chars + chars > limits.max_value_chars
        {
            batches.push(std::mem::take(&mut current));
            used_changes = 0;
            used_chars = 0;
        }
        used_changes += changes;
        used_chars += chars;
        current.extend(group);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ChangeAction, RecordSet, Routing};

    fn rec(name: &str, id: &str, value: &str) -> RecordSet {
        RecordSet {
            name: name.to_string(),
            rtype: crate::types::RecordType::A.into(),
            ttl: 60,
            values: vec![value.to_string()],
            routing: Routing::Weighted {
                set_identifier: id.to_string(),
                weight: 10,
            },
            health_check_id: None,
        }
    }

    fn cost(batch: &[RecordChange]) -> (usize, usize) {
        batch
            .iter()
            .map(change_cost)
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    }

    fn assert_valid(input: &[RecordChange], batches: &[Vec<RecordChange>], limits: BatchLimits) {
        // Limits respected.
        for b in batches {
            let (c, v) = cost(b);
            assert!(
                c <= limits.max_changes && v <= limits.max_value_chars,
                "{c} {v}"
            );
            assert!(!b.is_empty());
        }
        // Every change present exactly once, in order.
        let flat: Vec<RecordChange> = batches.iter().flatten().cloned().collect();
        let mut sorted_in = input.to_vec();
        let mut sorted_out = flat.clone();
        let key = |c: &RecordChange| format!("{:?}", c);
        sorted_in.sort_by_key(key);
        sorted_out.sort_by_key(key);
        assert_eq!(sorted_in, sorted_out);
        // No (name, type) in two batches.
        let mut seen = std::collections::HashMap::new();
        for (i, b) in batches.iter().enumerate() {
            for c in b {
                let prev = seen.insert(c.record.group_key(), i);
                assert!(
                    prev.is_none() || prev == Some(i),
                    "group split: {:?}",
                    c.record.group_key()
                );
            }
        }
    }

    #[test]
    fn upsert_counts_twice() {
        let limits = BatchLimits {
            max_changes: 4,
            max_value_chars: 1000,
        };
        let changes: Vec<_> = (0..4)
            .map(|i| RecordChange::upsert(rec(&format!("n{i}.x."), "a", "1.1.1.1")))
            .collect();
        let batches = plan_batches_with(changes.clone(), limits).unwrap();
        assert_eq!(batches.len(), 2);
        assert_valid(&changes, &batches, limits);
        let creates: Vec<_> = (0..4)
            .map(|i| RecordChange::create(rec(&format!("n{i}.x."), "a", "1.1.1.1")))
            .collect();
        assert_eq!(plan_batches_with(creates, limits).unwrap().len(), 1);
    }

    #[test]
    fn value_chars_count_twice_for_upsert() {
        // 7 chars per value, upsert: 14 per change; 30 chars allow 2 upserts.
        let limits = BatchLimits {
            max_changes: 1000,
            max_value_chars: 30,
        };
        let changes: Vec<_> = (0..5)
            .map(|i| RecordChange::upsert(rec(&format!("n{i}.x."), "a", "1.1.1.1")))
            .collect();
        let batches = plan_batches_with(changes.clone(), limits).unwrap();
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![2, 2, 1]
        );
        assert_valid(&changes, &batches, limits);
    }

    #[test]
    fn groups_are_never_split_and_order_is_kept() {
        let limits = BatchLimits {
            max_changes: 6,
            max_value_chars: 10_000,
        };
        // Group g0: 2 upserts (4), g1: 2 upserts (4), g2: 1 upsert (2). Next-fit: [g0], [g1, g2].
        let changes = vec![
            RecordChange::upsert(rec("g0.x.", "a", "1.1.1.1")),
            RecordChange::upsert(rec("G0.x", "b", "1.1.1.2")),
            RecordChange::upsert(rec("g1.x.", "a", "1.1.1.1")),
            RecordChange::upsert(rec("g1.x.", "b", "1.1.1.2")),
            RecordChange::upsert(rec("g2.x.", "a", "1.1.1.1")),
        ];
        let batches = plan_batches_with(changes.clone(), limits).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].len(), 2);
        assert_valid(&changes, &batches, limits);
        // Interleaved input still keeps a group together.
        let interleaved = vec![
            changes[0].clone(),
            changes[2].clone(),
            changes[1].clone(),
            changes[3].clone(),
        ];
        let batches = plan_batches_with(interleaved.clone(), limits).unwrap();
        assert_valid(&interleaved, &batches, limits);
    }

    #[test]
    fn compare_and_swap_stays_in_one_batch() {
        let limits = BatchLimits {
            max_changes: 2,
            max_value_chars: 10_000,
        };
        let [del, cre] = RecordChange::compare_and_swap(
            rec("a.x.", "a", "1.1.1.1"),
            rec("a.x.", "a", "2.2.2.2"),
        );
        assert_eq!(
            (del.action, cre.action),
            (ChangeAction::Delete, ChangeAction::Create)
        );
        let changes = vec![RecordChange::create(rec("b.x.", "a", "3.3.3.3")), del, cre];
        let batches = plan_batches_with(changes.clone(), limits).unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1].len(), 2);
        assert_valid(&changes, &batches, limits);
    }

    #[test]
    fn oversized_group_is_an_error() {
        let limits = BatchLimits {
            max_changes: 3,
            max_value_chars: 10_000,
        };
        let changes = vec![
            RecordChange::upsert(rec("a.x.", "a", "1.1.1.1")),
            RecordChange::upsert(rec("a.x.", "b", "1.1.1.1")),
        ];
        assert!(matches!(
            plan_batches_with(changes, limits),
            Err(PlanError::GroupTooLarge { changes: 4, .. })
        ));
    }

    #[test]
    fn evacuation_of_2500_upserts_is_five_full_batches() {
        let changes: Vec<_> = (0..2500)
            .map(|i| {
                RecordChange::upsert(rec(
                    &format!("s{}.x.", i / 5),
                    &format!("r{}", i % 5),
                    "10.0.0.1",
                ))
            })
            .collect();
        let batches = plan_batches(changes.clone()).unwrap();
        assert_eq!(batches.len(), 5);
        assert!(batches.iter().all(|b| cost(b).0 == 1000));
        assert_valid(&changes, &batches, BatchLimits::default());
        assert!(plan_batches(Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn pseudo_random_inputs_respect_limits_and_are_minimal_for_uniform_groups() {
        // Deterministic LCG: no external proptest dependency needed for this property.
        let mut seed: u64 = 42;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        for _ in 0..50 {
            let limits = BatchLimits {
                max_changes: 10 + next(40) as usize,
                max_value_chars: 200 + next(400) as usize,
            };
            let n = next(200) as usize;
            let changes: Vec<_> = (0..n)
                .map(|_| {
                    let action = [
                        ChangeAction::Create,
                        ChangeAction::Delete,
                        ChangeAction::Upsert,
                    ][next(3) as usize];
                    let name = format!("n{}.x.", next(30));
                    let value = "9".repeat(1 + next(20) as usize);
                    RecordChange {
                        action,
                        record: rec(&name, &format!("id{}", next(3)), &value),
                    }
                })
                .collect();
            match plan_batches_with(changes.clone(), limits) {
                Ok(batches) => assert_valid(&changes, &batches, limits),
                Err(PlanError::GroupTooLarge {
                    changes: c, chars, ..
                }) => {
                    assert!(c > limits.max_changes || chars > limits.max_value_chars)
                }
            }
        }
        // Uniform single-change groups: exactly ceil(total / limit) batches.
        for n in [1usize, 499, 500, 501, 1000, 1999] {
            let changes: Vec<_> = (0..n)
                .map(|i| RecordChange::upsert(rec(&format!("u{i}.x."), "a", "1.1.1.1")))
                .collect();
            assert_eq!(
                plan_batches(changes).unwrap().len(),
                (2 * n).div_ceil(1000),
                "n={n}"
            );
        }
    }
}
