//! Bit columns for the journal items that grow with the fleet (digests, heartbeats).
//!
//! An item names each service and region once ([`Names`]); a set of (region, service)
//! pairs is then one bit per cell of the grid the names define ([`bits`]), and a map from
//! cells to times is that set plus the distinct times and runs over them ([`Times`]).
//! Every reader is bounded by what it is given: a column must be exactly as long as its grid
//! needs (checked before decoding), runs must cover the cells exactly.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use regionctl_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Items whose form before packing would be at most about this size are still written in
/// that form, which every release reads: packing changes nothing for a fleet small enough
/// for the old form, so a rolling upgrade of one never mixes forms a peer cannot read. The
/// size is estimated from the names, not measured by serialising.
pub const LEGACY_MAX_BYTES: usize = 16 * 1024;

/// Services and regions, each once, in the order the writer first met them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    /// Service names.
    pub services: Vec<String>,
    /// Region names.
    pub regions: Vec<String>,
}

/// [`Names`] being collected, with each name's position.
#[derive(Debug, Default)]
pub struct NameIndex {
    /// The names so far.
    pub names: Names,
    services: HashMap<String, usize>,
    regions: HashMap<String, usize>,
}

impl NameIndex {
    /// The position of service `name`, added if new.
    pub fn service(&mut self, name: &str) -> usize {
        position(&mut self.services, &mut self.names.services, name)
    }

    /// The position of region `name`, added if new.
    pub fn region(&mut self, name: &str) -> usize {
        position(&mut self.regions, &mut self.names.regions, name)
    }
}

fn position(index: &mut HashMap<String, usize>, list: &mut Vec<String>, name: &str) -> usize {
    if let Some(i) = index.get(name) {
        return *i;
    }
    index.insert(name.to_string(), list.len());
    list.push(name.to_string());
    list.len() - 1
}

/// `cells` (each below `size`) as a bit column.
pub fn bits(cells: impl IntoIterator<Item = usize>, size: usize) -> String {
    let mut column = vec![0u8; size.div_ceil(8)];
    for cell in cells {
        if let Some(byte) = column.get_mut(cell / 8) {
            *byte |= 1 << (cell % 8);
        }
    }
    STANDARD.encode(column)
}

/// The cells set in bit column `what` over a grid of `size` cells, ascending.
pub fn read_bits(what: &str, text: &str, size: usize) -> Result<Vec<usize>, String> {
    let column = decode(what, text, size.div_ceil(8))?;
    if !size.is_multiple_of(8) && column.last().is_some_and(|b| b >> (size % 8) != 0) {
        return Err(format!("{what}: bits set past the grid"));
    }
    Ok((0..size)
        .filter(|c| column[c / 8] & (1 << (c % 8)) != 0)
        .collect())
}

/// A map from cells to times: the cells present, the distinct times, and runs of `[count,
/// index]` over the present cells in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Times {
    /// One bit per cell, set where the map has a time.
    pub present: String,
    /// The distinct times.
    pub since: Vec<Timestamp>,
    /// Runs over the present cells in order.
    pub runs: Vec<[u32; 2]>,
}

impl Times {
    /// `entries` (cell, time), each cell below `size`; of two entries for one cell the
    /// first is kept.
    pub fn pack(mut entries: Vec<(usize, Timestamp)>, size: usize) -> Times {
        entries.sort_by_key(|(cell, _)| *cell);
        entries.dedup_by_key(|(cell, _)| *cell);
        let mut since: Vec<Timestamp> = Vec::new();
        let mut runs: Vec<[u32; 2]> = Vec::new();
        for (_, t) in &entries {
            let index = since.iter().position(|x| x == t).unwrap_or_else(|| {
                since.push(*t);
                since.len() - 1
            });
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            match runs.last_mut() {
                Some([count, last]) if *last == index => *count += 1,
                _ => runs.push([1, index]),
            }
        }
        Times {
            present: bits(entries.iter().map(|(cell, _)| *cell), size),
            since,
            runs,
        }
    }

    /// The (cell, time) entries over a grid of `size` cells, ascending by cell.
    pub fn unpack(&self, size: usize) -> Result<Vec<(usize, Timestamp)>, String> {
        let cells = read_bits("present", &self.present, size)?;
        let mut times = Vec::with_capacity(cells.len());
        for [n, index] in &self.runs {
            let t = self
                .since
                .get(*index as usize)
                .ok_or_else(|| format!("runs: index {index} past {} times", self.since.len()))?;
            if *n == 0 || times.len() + *n as usize > cells.len() {
                return Err(format!(
                    "runs: a run of {n} where {} cells are present",
                    cells.len()
                ));
            }
            times.extend(std::iter::repeat_n(*t, *n as usize));
        }
        if times.len() != cells.len() {
            return Err(format!("runs: {} of {} cells", times.len(), cells.len()));
        }
        Ok(cells.into_iter().zip(times).collect())
    }
}

/// The bytes of base64 column `what`, which must be exactly `len` long.
pub fn decode(what: &str, text: &str, len: usize) -> Result<Vec<u8>, String> {
    // Checked before decoding: a column is never decoded into more than the grid needs.
    let expected = len.div_ceil(3) * 4;
    if text.len() != expected {
        return Err(format!(
            "{what}: {} base64 characters, the grid needs {expected}",
            text.len()
        ));
    }
    let bytes = STANDARD.decode(text).map_err(|e| format!("{what}: {e}"))?;
    if bytes.len() != len {
        return Err(format!(
            "{what}: {} bytes, the grid needs {len}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// Five regions, for the packed items' tests.
#[cfg(test)]
pub const TEST_REGIONS: [&str; 5] = [
    "eu-central-1",
    "eu-west-1",
    "us-east-1",
    "us-west-2",
    "ap-southeast-1",
];
