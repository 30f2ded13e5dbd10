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
//! names define, every run must land inside it. A digest whose old form (`probes`, one
//! object per verdict) fits [`packing::LEGACY_MAX_BYTES`] is still written that way, so
//! small fleets keep the form every release reads.

use super::packing::{self, Times};
use super::{ObservationDigest, ProbeRecord};
use regionctl_core::policy::raw::SignalRole;
use regionctl_core::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Most regions a digest may name (AWS has fewer than 40).
const MAX_REGIONS: usize = 64;

/// A digest or a relayed copy, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestWire {
    observer: String,
    bundle_hash: String,
    at: Timestamp,
    /// The form before packing, one object per verdict: written while the whole item would
    /// fit [`packing::LEGACY_MAX_BYTES`], empty when packed (an older reader then sees a
    /// digest with no verdicts rather than a malformed one).
    #[serde(default)]
    probes: Vec<ProbeRecord>,
    #[serde(default)]
    alarm_read_failures: Vec<String>,
    /// The names every copy's grid is over: on the outer digest only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    names: Option<DigestNames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdicts: Option<Packed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    relayed: Vec<DigestWire>,
}

/// Services and regions ([`packing::Names`]) and the roles present, each once.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DigestNames {
    #[serde(flatten)]
    names: packing::Names,
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
        if legacy_bytes(&d) <= packing::LEGACY_MAX_BYTES {
            legacy(d)
        } else {
            packed(&d)
        }
    }
}

/// `d` packed, whatever its size.
fn packed(d: &ObservationDigest) -> DigestWire {
    let mut names = NameIndex::default();
    for p in d
        .probes
        .iter()
        .chain(d.relayed.iter().flat_map(|r| &r.probes))
    {
        names.add(p);
    }
    let mut wire = copy(d, &mut names);
    wire.relayed = d.relayed.iter().map(|r| copy(r, &mut names)).collect();
    wire.names = Some(names.into_names());
    wire
}

impl TryFrom<DigestWire> for ObservationDigest {
    type Error = String;

    fn try_from(w: DigestWire) -> Result<ObservationDigest, String> {
        let names = w.names.clone().unwrap_or_default();
        if names.names.regions.len() > MAX_REGIONS || names.roles.len() > 3 {
            return Err(format!(
                "{} regions and {} roles named, at most {MAX_REGIONS} and 3",
                names.names.regions.len(),
                names.roles.len()
            ));
        }
        let mut outer = expand(w, &names)?;
        // A copy's own relays are never used (a relay is one item deep): not kept.
        outer.relayed.iter_mut().for_each(|r| r.relayed.clear());
        Ok(outer)
    }
}

/// About how large `d` is in the form before packing.
fn legacy_bytes(d: &ObservationDigest) -> usize {
    let copy = |c: &ObservationDigest| {
        let verdicts: usize = c
            .probes
            .iter()
            .map(|p| p.service.len() + p.region.len() + 80)
            .sum();
        150 + verdicts
            + c.alarm_read_failures
                .iter()
                .map(|r| r.len() + 3)
                .sum::<usize>()
    };
    copy(d) + d.relayed.iter().map(copy).sum::<usize>()
}

/// `d` in the form before packing.
fn legacy(d: ObservationDigest) -> DigestWire {
    DigestWire {
        observer: d.observer,
        bundle_hash: d.bundle_hash,
        at: d.at,
        probes: d.probes,
        alarm_read_failures: d.alarm_read_failures,
        names: None,
        verdicts: None,
        relayed: d.relayed.into_iter().map(legacy).collect(),
    }
}

/// `d` without relays, its verdicts packed over `names`.
fn copy(d: &ObservationDigest, names: &mut NameIndex) -> DigestWire {
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
fn expand(w: DigestWire, names: &DigestNames) -> Result<ObservationDigest, String> {
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
    index: packing::NameIndex,
    roles: Vec<SignalRole>,
}

impl NameIndex {
    fn add(&mut self, p: &ProbeRecord) {
        self.index.service(&p.service);
        self.index.region(&p.region);
        if !self.roles.contains(&p.role) {
            self.roles.push(p.role);
        }
    }

    fn services(&self) -> usize {
        self.index.names.services.len()
    }

    fn cells(&self) -> usize {
        self.index.names.regions.len() * self.roles.len() * self.services()
    }

    /// The grid cell of `p` (region-major, then role, then service); `p`'s names added.
    fn cell(&mut self, p: &ProbeRecord) -> usize {
        let s = self.index.service(&p.service);
        let r = self.index.region(&p.region);
        let role = self.roles.iter().position(|x| *x == p.role).unwrap_or(0);
        (r * self.roles.len() + role) * self.services() + s
    }

    fn into_names(self) -> DigestNames {
        DigestNames {
            names: self.index.names,
            roles: self.roles,
        }
    }
}

/// Packs `records` (every name already in `names`); of two verdicts in one cell the first
/// is kept.
fn pack(records: &[ProbeRecord], names: &mut NameIndex) -> Packed {
    let cells = names.cells();
    let entries: Vec<(usize, &ProbeRecord)> = records.iter().map(|p| (names.cell(p), p)).collect();
    let mut sorted = entries.clone();
    sorted.sort_by_key(|(c, _)| *c);
    sorted.dedup_by_key(|(c, _)| *c);
    let ok = sorted
        .iter()
        .enumerate()
        .filter(|(_, (_, p))| p.ok)
        .map(|(i, _)| i);
    let ok = packing::bits(ok, sorted.len());
    let times = Times::pack(entries.iter().map(|(c, p)| (*c, p.since)).collect(), cells);
    Packed {
        present: times.present,
        ok,
        since: times.since,
        runs: times.runs,
    }
}

/// The verdicts of `p` over `names`, in (service, region, role) order; an error names the
/// first column that does not fit the grid.
fn unpack(p: &Packed, names: &DigestNames) -> Result<Vec<ProbeRecord>, String> {
    let n = &names.names;
    let (services, roles) = (n.services.len(), names.roles.len());
    let cells = n.regions.len() * roles * services;
    let times = Times {
        present: p.present.clone(),
        since: p.since.clone(),
        runs: p.runs.clone(),
    };
    let entries = times.unpack(cells)?;
    let ok = packing::read_bits("ok", &p.ok, entries.len())?;
    let mut ok = ok.into_iter().peekable();
    let mut out = Vec::with_capacity(entries.len());
    for (i, (cell, since)) in entries.into_iter().enumerate() {
        let (rr, s) = (cell / services, cell % services);
        let (r, role) = (rr / roles, names.roles[rr % roles]);
        let is_ok = ok.next_if_eq(&i).is_some();
        let record = ProbeRecord {
            service: n.services[s].clone(),
            region: n.regions[r].clone(),
            ok: is_ok,
            since,
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

#[cfg(test)]
mod tests;
