//! [`AlarmIndex`]: alarm name → the (service, binding) slots it feeds.
//!
//! # Design
//! A fleet's bundle binds one alarm per (service, region, cell): 155,000 names at
//! 1,000 services × 30 cells × 5 regions. A `HashMap<String, Vec<(usize, usize)>>` held
//! 27 MiB for them in 310,000 heap blocks (a copy of each name, a vector per name, 48 bytes
//! of entry). Here every distinct name is stored once, sorted, back to back in one string;
//! its slots are one flat list grouped by name; and an open-addressing table of `u32`
//! name numbers finds a name by hash. About 9 MiB in five blocks for the same fleet, and a
//! lookup touches the table, the name's bytes and its slots, each contiguous.

use super::{AlarmObservation, Observations};
use crate::policy::Bundle;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// Alarm name → the (service, binding) slots it feeds. Built once per bundle, so ingesting
/// `DescribeAlarms` results is one hash lookup per alarm.
#[derive(Debug, Clone, Default)]
pub struct AlarmIndex {
    /// Every distinct alarm name, in name order, back to back.
    text: String,
    /// Per distinct name, in name order: where its text ends in `text` and where its slots
    /// end in `slots` (each starts where the previous name's ends).
    ends: Vec<(u32, u32)>,
    /// (service, binding) pairs, grouped by name in name order, in bundle order within a
    /// name.
    slots: Vec<(u32, u32)>,
    /// Open addressing with linear probing: a name's number + 1, 0 for an empty place. Its
    /// length is a power of two above 1.5 × the names, so a probe always ends.
    table: Vec<u32>,
}

/// Fixed keys: the table's layout does not depend on the process (the names come from the
/// policy, so nobody outside it chooses which collide).
type Hasher = BuildHasherDefault<DefaultHasher>;

impl AlarmIndex {
    /// Indexes every alarm binding of `bundle`.
    ///
    /// Offsets are `u32`: a bundle whose alarm names exceed 4 GiB of text (far beyond what
    /// loads in memory) has the names past that point unindexed, so they are never read
    /// (no evidence), rather than misattributed.
    pub fn new(bundle: &Bundle) -> Self {
        let bindings = || bundle.services.iter().flat_map(|s| &s.health.alarms);
        let count = bindings().count();
        let bytes: usize = bindings().map(|b| b.name.len()).sum();
        // (service, binding) pairs sorted by name (then by pair, so the slots of one name
        // stay in bundle order), compared through the bundle: 8 bytes per binding of
        // scratch, not a copy of every name.
        let name_of = |&(s, b): &(u32, u32)| {
            bundle.services[s as usize].health.alarms[b as usize]
                .name
                .as_str()
        };
        let mut all: Vec<(u32, u32)> = Vec::with_capacity(count);
        for (s, service) in bundle.services.iter().enumerate() {
            for b in 0..service.health.alarms.len() {
                if let (Ok(s), Ok(b)) = (u32::try_from(s), u32::try_from(b)) {
                    all.push((s, b));
                }
            }
        }
        all.sort_unstable_by(|x, y| name_of(x).cmp(name_of(y)).then(x.cmp(y)));
        // Sized for every binding up front (shrunk below when names repeat): growing by
        // doubling would hold up to twice the final size while copying.
        let mut index = AlarmIndex {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
            slots: Vec::with_capacity(count),
            table: Vec::new(),
        };
        for (s, b) in all {
            let name = name_of(&(s, b));
            let is_new = index.ends.last().is_none_or(|_| index.last_name() != name);
            if is_new {
                let Ok(end) = u32::try_from(index.text.len() + name.len()) else {
                    break;
                };
                index.text.push_str(name);
                let slots_end = index.ends.last().map_or(0, |e| e.1);
                index.ends.push((end, slots_end));
            }
            let Ok(slots_end) = u32::try_from(index.slots.len() + 1) else {
                break;
            };
            index.slots.push((s, b));
            if let Some(last) = index.ends.last_mut() {
                last.1 = slots_end;
            }
        }
        index.text.shrink_to_fit();
        index.ends.shrink_to_fit();
        index.slots.shrink_to_fit();
        index.build_table();
        index
    }

    /// Fills the hash table with every name's number.
    fn build_table(&mut self) {
        let n = self.ends.len();
        let size = (n + n / 2 + 1).next_power_of_two();
        self.table = vec![0; size];
        let mask = size - 1;
        for i in 0..n {
            let mut place = hash(self.name(i)) & mask;
            while self.table[place] != 0 {
                place = (place + 1) & mask;
            }
            // `i < n ≤ u32::MAX` (names are numbered by `u32` offsets), so this fits.
            self.table[place] = u32::try_from(i + 1).unwrap_or(u32::MAX);
        }
    }

    /// Name number `i`'s text.
    fn name(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1].0 };
        self.text
            .get(start as usize..self.ends[i].0 as usize)
            .unwrap_or("")
    }

    /// The last name added while building.
    fn last_name(&self) -> &str {
        self.ends.len().checked_sub(1).map_or("", |i| self.name(i))
    }

    /// The number of `name`, if some binding uses it.
    fn find(&self, name: &str) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.table.len() - 1;
        let mut place = hash(name) & mask;
        loop {
            let i = (self.table[place] as usize).checked_sub(1)?;
            if self.name(i) == name {
                return Some(i);
            }
            place = (place + 1) & mask;
        }
    }

    /// The number of `name` (numbers follow name order), if some binding uses it.
    pub fn number(&self, name: &str) -> Option<u32> {
        self.find(name).and_then(|i| u32::try_from(i).ok())
    }

    /// The name numbered `n` ([`Self::number`]); empty for a number the index never gave.
    pub fn name_of(&self, n: u32) -> &str {
        let i = n as usize;
        if i < self.ends.len() {
            self.name(i)
        } else {
            ""
        }
    }

    /// Every alarm name, sorted (for `DescribeAlarms`).
    pub fn names(&self) -> Vec<&str> {
        (0..self.ends.len()).map(|i| self.name(i)).collect()
    }

    /// Records `obs` for every binding of `name`; false if no policy uses the alarm.
    pub fn record(
        &self,
        observations: &mut Observations,
        name: &str,
        obs: AlarmObservation,
    ) -> bool {
        let Some(i) = self.find(name) else {
            return false;
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1].1 };
        let slots = self
            .slots
            .get(start as usize..self.ends[i].1 as usize)
            .unwrap_or(&[]);
        for &(s, b) in slots {
            if let Some(slot) = observations
                .alarms
                .get_mut(s as usize)
                .and_then(|v| v.get_mut(b as usize))
            {
                *slot = Some(obs);
            }
        }
        true
    }
}

/// The table place a name hashes to (before masking).
fn hash(name: &str) -> usize {
    // Truncating the 64-bit hash on 32-bit targets keeps its low bits, the ones masked.
    Hasher::default().hash_one(name) as usize
}
