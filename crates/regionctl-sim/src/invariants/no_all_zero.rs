//! `no-all-zero-weights`: no cell has an all-zero weight set, written or answered (Route 53
//! answers an equal spread over an all-zero set, so traffic would go everywhere). No grace
//! and no exemption: checked for every cell every second.

use super::{Checker, NO_ALL_ZERO};
use crate::world::CellWeights;

impl Checker {
    /// Cell `c` of service `s` at second `t`, given its records now.
    pub(super) fn check_no_all_zero(&mut self, t: u64, s: usize, c: usize, records: &CellWeights) {
        self.check(NO_ALL_ZERO);
        let (written, answering) = (&records.written, &records.answering);
        let all_zero = |v: &[Option<u8>]| !v.is_empty() && v.iter().all(|w| *w == Some(0));
        if all_zero(written) || all_zero(answering) {
            let cell = self.bundle.services[s].cells[c].id.clone();
            let name = self.bundle.services[s].name.clone();
            self.violate(
                NO_ALL_ZERO,
                format!("{name}/{cell}"),
                t,
                format!("{name} cell {cell}: every weight written is 0 (Route 53 answers an equal spread)"),
            );
        }
    }
}
