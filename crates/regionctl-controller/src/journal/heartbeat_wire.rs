//! The heartbeat as the journal holds it: its pair lists and per-service times packed
//! over one names table ([`super::packing`]).
//!
//! A heartbeat lists the `service/region` pairs its writer does not find healthy, those it
//! sees drained, its peers' lists, and a time per service for the last move and the open
//! episode. As JSON strings those grow with the fleet: a controller's first pass (no
//! evidence yet, so every pair listed) at 1,000 services × 5 regions wrote about 120 KB,
//! over the heartbeat's 64 KB budget. The journal refused it, the controller stood down
//! for an unwritable journal before observing anything, and the next pass was the same:
//! the whole fleet stood down for good (found by the fleet benchmark, issue 18). Packed,
//! that heartbeat is a few kilobytes. A heartbeat whose old form fits
//! [`LEGACY_MAX_BYTES`] is still written that way (every release reads it), and both forms
//! are read.

use super::packing::{LEGACY_MAX_BYTES, NameIndex, Names, Times, bits, read_bits};
use super::{ControllerState, Heartbeat};
use regionctl_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A heartbeat, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeartbeatWire {
    region: String,
    bundle_hash: String,
    at: Timestamp,
    state: ControllerState,
    #[serde(default)]
    not_healthy: Pairs,
    #[serde(default)]
    sees_acting: Vec<String>,
    #[serde(default)]
    first_since: Option<Timestamp>,
    #[serde(default)]
    drained: Timed,
    #[serde(default)]
    peers_not_healthy: BTreeMap<String, Pairs>,
    #[serde(default)]
    last_moves: Timed,
    #[serde(default, skip_serializing_if = "Timed::is_empty")]
    episodes: Timed,
    #[serde(default, skip_serializing_if = "Timed::is_empty")]
    episodes_closed: Timed,
    /// The names every packed column is over: absent in the form before packing, which is
    /// still written while it fits [`LEGACY_MAX_BYTES`] (fields in that form's order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    names: Option<Names>,
}

/// `service/region` pairs: one bit per (region, service) cell, or (written before) a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Pairs {
    Packed(String),
    Legacy(Vec<String>),
}

impl Default for Pairs {
    fn default() -> Self {
        Pairs::Legacy(Vec::new())
    }
}

/// Names (`service/region` pairs, or services) → time: packed over their grid, or
/// (written before) a map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum Timed {
    Packed(Times),
    Legacy(BTreeMap<String, Timestamp>),
}

impl Default for Timed {
    fn default() -> Self {
        Timed::Legacy(BTreeMap::new())
    }
}

impl Timed {
    fn is_empty(&self) -> bool {
        matches!(self, Timed::Legacy(m) if m.is_empty())
    }
}

/// The names being collected and the grids over them.
#[derive(Default)]
struct Grid {
    index: NameIndex,
}

impl Grid {
    /// The (region, service) cell of pair `service/region`, names added as met. A pair
    /// without a `/` (no writer makes one) is a service in the region named "".
    fn pair(&mut self, pair: &str) -> (usize, usize) {
        let (service, region) = pair.rsplit_once('/').unwrap_or((pair, ""));
        (self.index.region(region), self.index.service(service))
    }

    fn cell(&self, (r, s): (usize, usize)) -> usize {
        r * self.index.names.services.len() + s
    }

    fn pairs(&mut self, pairs: &[String]) -> Vec<(usize, usize)> {
        pairs.iter().map(|p| self.pair(p)).collect()
    }
}

/// About how large `h` is in the form before packing.
fn legacy_bytes(h: &Heartbeat) -> usize {
    let list = |pairs: &[String]| pairs.iter().map(|p| p.len() + 3).sum::<usize>();
    let map = |m: &BTreeMap<String, Timestamp>| m.keys().map(|k| k.len() + 18).sum::<usize>();
    let peers: usize = h
        .peers_not_healthy
        .iter()
        .map(|(peer, pairs)| peer.len() + 6 + list(pairs))
        .sum();
    300 + list(&h.not_healthy)
        + list(&h.sees_acting)
        + peers
        + map(&h.drained)
        + map(&h.last_moves)
        + map(&h.episodes)
        + map(&h.episodes_closed)
}

/// `h` in the form before packing.
fn legacy(h: Heartbeat) -> HeartbeatWire {
    HeartbeatWire {
        region: h.region,
        bundle_hash: h.bundle_hash,
        at: h.at,
        state: h.state,
        not_healthy: Pairs::Legacy(h.not_healthy),
        sees_acting: h.sees_acting,
        first_since: h.first_since,
        drained: Timed::Legacy(h.drained),
        peers_not_healthy: h
            .peers_not_healthy
            .into_iter()
            .map(|(peer, pairs)| (peer, Pairs::Legacy(pairs)))
            .collect(),
        last_moves: Timed::Legacy(h.last_moves),
        episodes: Timed::Legacy(h.episodes),
        episodes_closed: Timed::Legacy(h.episodes_closed),
        names: None,
    }
}

impl From<Heartbeat> for HeartbeatWire {
    fn from(h: Heartbeat) -> HeartbeatWire {
        if legacy_bytes(&h) <= LEGACY_MAX_BYTES {
            legacy(h)
        } else {
            packed(h)
        }
    }
}

/// A per-service column packed, or left out when it is empty (as heartbeats before it read).
fn sparse(times: Vec<(usize, Timestamp)>, services: usize) -> Timed {
    if times.is_empty() {
        Timed::default()
    } else {
        Timed::Packed(Times::pack(times, services))
    }
}

/// `h` packed, whatever its size.
fn packed(h: Heartbeat) -> HeartbeatWire {
    // Every name first, so that the grid is fixed before any cell is numbered.
    let mut grid = Grid::default();
    let not_healthy = grid.pairs(&h.not_healthy);
    let drained: Vec<_> = h.drained.iter().map(|(p, t)| (grid.pair(p), *t)).collect();
    let peers: Vec<(String, Vec<(usize, usize)>)> = h
        .peers_not_healthy
        .iter()
        .map(|(peer, pairs)| (peer.clone(), grid.pairs(pairs)))
        .collect();
    let mut by_service = |m: &BTreeMap<String, Timestamp>| -> Vec<(usize, Timestamp)> {
        m.iter().map(|(s, t)| (grid.index.service(s), *t)).collect()
    };
    let (moves, episodes) = (by_service(&h.last_moves), by_service(&h.episodes));
    let closed = by_service(&h.episodes_closed);
    let size = grid.index.names.regions.len() * grid.index.names.services.len();
    let services = grid.index.names.services.len();
    let set =
        |pairs: &[(usize, usize)]| Pairs::Packed(bits(pairs.iter().map(|p| grid.cell(*p)), size));
    let timed: Vec<_> = drained.iter().map(|(p, t)| (grid.cell(*p), *t)).collect();
    HeartbeatWire {
        region: h.region,
        bundle_hash: h.bundle_hash,
        at: h.at,
        state: h.state,
        sees_acting: h.sees_acting,
        first_since: h.first_since,
        not_healthy: set(&not_healthy),
        drained: Timed::Packed(Times::pack(timed, size)),
        peers_not_healthy: peers
            .iter()
            .map(|(peer, p)| (peer.clone(), set(p)))
            .collect(),
        last_moves: Timed::Packed(Times::pack(moves, services)),
        episodes: sparse(episodes, services),
        episodes_closed: sparse(closed, services),
        names: Some(grid.index.names),
    }
}

impl TryFrom<HeartbeatWire> for Heartbeat {
    type Error = String;

    fn try_from(w: HeartbeatWire) -> Result<Heartbeat, String> {
        let names = w.names.unwrap_or_default();
        let read = Read { names: &names };
        let mut peers_not_healthy = BTreeMap::new();
        for (peer, pairs) in w.peers_not_healthy {
            peers_not_healthy.insert(peer, read.pairs("peers_not_healthy", pairs)?);
        }
        Ok(Heartbeat {
            region: w.region,
            bundle_hash: w.bundle_hash,
            at: w.at,
            state: w.state,
            not_healthy: read.pairs("not_healthy", w.not_healthy)?,
            sees_acting: w.sees_acting,
            first_since: w.first_since,
            drained: read.timed_pairs(w.drained)?,
            peers_not_healthy,
            last_moves: read.timed_services("last_moves", w.last_moves)?,
            episodes: read.timed_services("episodes", w.episodes)?,
            episodes_closed: read.timed_services("episodes_closed", w.episodes_closed)?,
        })
    }
}

/// Reads packed columns over one heartbeat's names.
struct Read<'a> {
    names: &'a Names,
}

impl Read<'_> {
    fn size(&self) -> usize {
        self.names.regions.len() * self.names.services.len()
    }

    /// The pair of grid cell `cell`.
    fn pair(&self, cell: usize) -> String {
        let services = self.names.services.len().max(1);
        let (r, s) = (cell / services, cell % services);
        format!("{}/{}", self.names.services[s], self.names.regions[r])
    }

    /// Pairs in (service, region) order, as a writer lists them.
    fn ordered(&self, mut cells: Vec<usize>) -> Vec<String> {
        let services = self.names.services.len().max(1);
        cells.sort_by_key(|c| (c % services, c / services));
        cells.into_iter().map(|c| self.pair(c)).collect()
    }

    fn pairs(&self, what: &str, pairs: Pairs) -> Result<Vec<String>, String> {
        match pairs {
            Pairs::Legacy(list) => Ok(list),
            Pairs::Packed(text) => Ok(self.ordered(read_bits(what, &text, self.size())?)),
        }
    }

    fn timed_pairs(&self, drained: Timed) -> Result<BTreeMap<String, Timestamp>, String> {
        match drained {
            Timed::Legacy(map) => Ok(map),
            Timed::Packed(times) => Ok(times
                .unpack(self.size())
                .map_err(|e| format!("drained: {e}"))?
                .into_iter()
                .map(|(cell, t)| (self.pair(cell), t))
                .collect()),
        }
    }

    fn timed_services(
        &self,
        what: &str,
        timed: Timed,
    ) -> Result<BTreeMap<String, Timestamp>, String> {
        match timed {
            Timed::Legacy(map) => Ok(map),
            Timed::Packed(times) => Ok(times
                .unpack(self.names.services.len())
                .map_err(|e| format!("{what}: {e}"))?
                .into_iter()
                .map(|(s, t)| (self.names.services[s].clone(), t))
                .collect()),
        }
    }
}

#[cfg(test)]
mod tests;
