//! `no-conflicting-decisions`: no two controllers apply conflicting changes to the same
//! record: a write that sets a record back to what it was, within a tick of another
//! controller's write, is controllers fighting. No exemption.

use super::{Checker, NO_CONFLICTS, WeightWrite};

/// A record: (zone, name, set identifier).
pub(super) type RecordKey = (String, String, String);
/// A record's last write: (t, by, from, to).
pub(super) type LastWrite = (u64, String, Option<u8>, u8);

impl Checker {
    /// Conflicting decisions: weight write `w` by `region` at `t` undoing another
    /// controller's write from the same round. Remembers `w` as the record's last write.
    pub(super) fn check_no_conflicts(&mut self, t: u64, region: &str, w: WeightWrite) {
        let (sname, cell, rname) = self.names_of(&w);
        let (from, to) = (w.from, w.to);
        self.check(NO_CONFLICTS);
        if let Some((pt, pby, pfrom, pto)) = self.last_write.get(&w.key).cloned()
            && pby != region
            && t - pt <= self.tick
            && from == Some(pto)
            && pfrom == Some(to)
            && pto != to
        {
            self.violate(
                NO_CONFLICTS,
                format!("{sname}/{cell}/{rname}"),
                t,
                format!(
                    "{sname} cell {cell}: {region} set {rname} back to {to} {}s after {pby} set it to {pto} (controllers fighting)",
                    t - pt
                ),
            );
        }
        self.last_write
            .insert(w.key, (t, region.to_string(), from, to));
    }
}
