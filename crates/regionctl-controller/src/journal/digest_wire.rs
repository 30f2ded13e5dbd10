//! The observation digest as the journal holds it: verdicts packed in bits, names once.
//!
//! One JSON object per verdict made a digest of 1,000 services × 5 regions about 400 KB
//! before relays, four times its budget (`budget.rs`) and DynamoDB's item limit with them: the
//! write failed, peers lost the observer's evidence and evacuations stalled at exactly the
//! size they matter (issue 18). Now a digest item names each service and region once, for
//! itself and every relayed copy (`names`, with the roles present), and each copy's
//! verdicts are three columns over a grid of (region, role, service) cells, region-major so
//! that a region-wide change is one run:
//! - `present`: one bit per cell, set where the copy has a verdict (base64);
//! - `ok`: one bit per present verdict, in cell order (base64);
//! - `since` and `runs`: the distinct `since` values, and runs of `[count, index]` over the
//!   present verdicts in cell order.
//!
//! At the benchmark's size (1,000 × 5, three controllers) an item is about 15 KB. The
//! decoder is bounded by what it is given: every column's length must match the grid the
//! names define, every run must land inside it. Digests written before this form (`probes`,
//! one object per verdict) are still read; they are never written.

use super::{ObservationDigest, ProbeRecord};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use regionctl_core::policy::raw::SignalRole;
use regionctl_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Most regions a digest may name (AWS has fewer than 40).
const MAX_REGIONS: usize = 64;

/// A digest or a relayed copy, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestWire {
    observer: String,
    bundle_hash: String,
    at: Timestamp,
    #[serde(default)]
    alarm_read_failures: Vec<String>,
    /// The form before packing: one object per verdict. Read, never written.
    #[serde(default, skip_serializing)]
    probes: Vec<ProbeRecord>,
    /// The names every copy's grid is over: on the outer digest only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    names: Option<Names>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdicts: Option<Packed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    relayed: Vec<DigestWire>,
}

/// Services, regions and roles, each once, in the order the writer first met them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Names {
    services: Vec<String>,
    regions: Vec<String>,
    /// Only the roles some verdict has: most bundles have failure probes only, and a grid
    /// over all three would be three times as large.
    #[serde(default)]
    roles: Vec<SignalRole>,
}

/// One copy's verdicts over the names' grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Packed {
    present: String,
    ok: String,
    since: Vec<Timestamp>,
    runs: Vec<[u32; 2]>,
}

impl From<ObservationDigest> for DigestWire {
    fn from(d: ObservationDigest) -> DigestWire {
        let mut names = NameIndex::default();
        for p in d
            .probes
            .iter()
            .chain(d.relayed.iter().flat_map(|r| &r.probes))
        {
            names.add(p);
        }
        let mut wire = copy(&d, &names);
        wire.relayed = d.relayed.iter().map(|r| copy(r, &names)).collect();
        wire.names = Some(names.names);
        wire
    }
}

impl TryFrom<DigestWire> for ObservationDigest {
    type Error = String;

    fn try_from(w: DigestWire) -> Result<ObservationDigest, String> {
        let names = w.names.clone().unwrap_or_default();
        if names.regions.len() > MAX_REGIONS || names.roles.len() > 3 {
            return Err(format!(
                "{} regions and {} roles named, at most {MAX_REGIONS} and 3",
                names.regions.len(),
                names.roles.len()
            ));
        }
        let mut outer = expand(w, &names)?;
        // A copy's own relays are never used (a relay is one item deep): not kept.
        outer.relayed.iter_mut().for_each(|r| r.relayed.clear());
        Ok(outer)
    }
}

/// `d` without relays, its verdicts packed over `names`.
fn copy(d: &ObservationDigest, names: &NameIndex) -> DigestWire {
    DigestWire {
        observer: d.observer.clone(),
        bundle_hash: d.bundle_hash.clone(),
        at: d.at,
        alarm_read_failures: d.alarm_read_failures.clone(),
        probes: Vec::new(),
        names: None,
        verdicts: (!d.probes.is_empty()).then(|| pack(&d.probes, names)),
        relayed: Vec::new(),
    }
}

/// A wire copy and its relays, read over `names` (a relay's own `names` are ignored: the
/// grid is the outer digest's).
fn expand(w: DigestWire, names: &Names) -> Result<ObservationDigest, String> {
    let mut probes = w.probes;
    if let Some(p) = &w.verdicts {
        probes.extend(unpack(p, names)?);
    }
    let relayed = w
        .relayed
        .into_iter()
        .map(|r| expand(r, names))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(ObservationDigest {
        observer: w.observer,
        bundle_hash: w.bundle_hash,
        at: w.at,
        probes,
        alarm_read_failures: w.alarm_read_failures,
        relayed,
    })
}

/// The names being collected, with their positions.
#[derive(Default)]
struct NameIndex {
    names: Names,
    services: HashMap<String, usize>,
    regions: HashMap<String, usize>,
}

impl NameIndex {
    fn add(&mut self, p: &ProbeRecord) {
        if !self.services.contains_key(&p.service) {
            self.services
                .insert(p.service.clone(), self.names.services.len());
            self.names.services.push(p.service.clone());
        }
        if !self.names.roles.contains(&p.role) {
            self.names.roles.push(p.role);
        }
        if !self.regions.contains_key(&p.region) {
            self.regions
                .insert(p.region.clone(), self.names.regions.len());
            self.names.regions.push(p.region.clone());
        }
    }

    /// The grid cell of `p` (region-major, then role, then service).
    fn cell(&self, p: &ProbeRecord) -> usize {
        let s = self.services[&p.service];
        let r = self.regions[&p.region];
        let role = self.names.roles.iter().position(|x| *x == p.role);
        (r * self.names.roles.len() + role.unwrap_or(0)) * self.names.services.len() + s
    }
}

/// Packs `records` (every name in `names`); of two verdicts in one cell the first is kept.
fn pack(records: &[ProbeRecord], names: &NameIndex) -> Packed {
    let n = &names.names;
    let cells = n.regions.len() * n.roles.len() * n.services.len();
    let mut by_cell: Vec<(usize, &ProbeRecord)> =
        records.iter().map(|p| (names.cell(p), p)).collect();
    by_cell.sort_by_key(|(c, _)| *c);
    by_cell.dedup_by_key(|(c, _)| *c);
    let mut present = vec![0u8; cells.div_ceil(8)];
    let mut ok = vec![0u8; by_cell.len().div_ceil(8)];
    let mut since: Vec<Timestamp> = Vec::new();
    let mut runs: Vec<[u32; 2]> = Vec::new();
    for (i, (cell, p)) in by_cell.iter().enumerate() {
        present[cell / 8] |= 1 << (cell % 8);
        if p.ok {
            ok[i / 8] |= 1 << (i % 8);
        }
        let index = since.iter().position(|t| *t == p.since).unwrap_or_else(|| {
            since.push(p.since);
            since.len() - 1
        });
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        match runs.last_mut() {
            Some([count, last]) if *last == index => *count += 1,
            _ => runs.push([1, index]),
        }
    }
    Packed {
        present: STANDARD.encode(present),
        ok: STANDARD.encode(ok),
        since,
        runs,
    }
}

/// The verdicts of `p` over `names`, in (service, region, role) order; an error names the
/// first column that does not fit the grid.
fn unpack(p: &Packed, names: &Names) -> Result<Vec<ProbeRecord>, String> {
    let (services, roles) = (names.services.len(), names.roles.len());
    let cells = names.regions.len() * roles * services;
    let present = decode("present", &p.present, cells.div_ceil(8))?;
    if !cells.is_multiple_of(8) && present.last().is_some_and(|b| b >> (cells % 8) != 0) {
        return Err("present: bits set past the grid".into());
    }
    let count: usize = present.iter().map(|b| b.count_ones() as usize).sum();
    let ok = decode("ok", &p.ok, count.div_ceil(8))?;
    let mut since = Vec::with_capacity(count);
    for [n, index] in &p.runs {
        if *n == 0 {
            return Err("runs: a run of no verdicts".into());
        }
        let t = p
            .since
            .get(*index as usize)
            .ok_or_else(|| format!("runs: index {index} past {} since values", p.since.len()))?;
        if since.len() + *n as usize > count {
            return Err(format!("runs: more than the {count} verdicts present"));
        }
        since.extend(std::iter::repeat_n(*t, *n as usize));
    }
    if since.len() != count {
        return Err(format!("runs: {} of {count} verdicts", since.len()));
    }
    let mut out = Vec::with_capacity(count);
    let set = (0..cells).filter(|c| present[c / 8] & (1 << (c % 8)) != 0);
    for (i, cell) in set.enumerate() {
        let (rr, s) = (cell / services, cell % services);
        let (r, role) = (rr / roles, names.roles[rr % roles]);
        let record = ProbeRecord {
            service: names.services[s].clone(),
            region: names.regions[r].clone(),
            ok: ok[i / 8] & (1 << (i % 8)) != 0,
            since: since[i],
            role,
        };
        out.push(((s, r, role_rank(role)), record));
    }
    out.sort_by_key(|(key, _)| *key);
    Ok(out.into_iter().map(|(_, record)| record).collect())
}

/// Where `role` sorts among a (service, region)'s verdicts: the digest's order.
fn role_rank(role: SignalRole) -> usize {
    [
        SignalRole::Failure,
        SignalRole::Critical,
        SignalRole::Shadow,
    ]
    .iter()
    .position(|x| *x == role)
    .unwrap_or(usize::MAX)
}

/// The bytes of base64 column `what`, which must be exactly `len` long.
fn decode(what: &str, text: &str, len: usize) -> Result<Vec<u8>, String> {
    // Checked before decoding: a column is never decoded into more than the grid needs.
    if text.len() != len.div_ceil(3) * 4 {
        return Err(format!(
            "{what}: {} base64 characters, the grid needs {}",
            text.len(),
            len.div_ceil(3) * 4
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

#[cfg(test)]
mod tests;
