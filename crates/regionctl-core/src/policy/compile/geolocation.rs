//! Geolocation records (`routing.geolocation`): each rule names one location and a cell,
//! and the tree has a default. Checked after the cells exist, since rules name cell ids.

use crate::policy::Cell;
use crate::policy::diagnostics::{Reporter, did_you_mean};
use crate::policy::raw::GeolocationSpec;
use crate::policy::yaml::FieldPath;
use std::collections::BTreeSet;

/// Route 53's continent codes.
const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// Checks the geolocation rules against the service's cells.
pub(super) fn check_geolocation(
    geo: &GeolocationSpec,
    cells: &[Cell],
    path: &FieldPath,
    r: &mut Reporter<'_>,
) {
    let mut has_default = false;
    let mut seen = BTreeSet::new();
    for (i, rule) in geo.rules.iter().enumerate() {
        let p = path.key("rules").index(i);
        let set = usize::from(rule.continent.is_some())
            + usize::from(rule.country.is_some())
            + usize::from(rule.default);
        if set != 1 {
            r.error(
                &p,
                "a geolocation rule names exactly one of `continent`, `country` or `default: true`",
                None,
            );
        }
        if rule.default {
            has_default = true;
        }
        if let Some(c) = &rule.continent
            && !CONTINENTS.contains(&c.as_str())
        {
            r.error(
                &p.key("continent"),
                format!("`{c}` is not a continent code"),
                Some(format!("one of {}", CONTINENTS.join(", "))),
            );
        }
        if let Some(c) = &rule.country
            && !(c.len() == 2 && c.chars().all(|x| x.is_ascii_uppercase()))
        {
            r.error(
                &p.key("country"),
                format!("`{c}` is not an ISO 3166 alpha-2 country code"),
                Some("e.g. `DE`".into()),
            );
        }
        let key = (rule.continent.clone(), rule.country.clone(), rule.default);
        if set == 1 && !seen.insert(key) {
            r.error(&p, "duplicate geolocation location", None);
        }
        if !cells.iter().any(|c| c.id == rule.cell) {
            let hint = did_you_mean(&rule.cell, cells.iter().map(|c| c.id.as_str()))
                .map(|b| format!("did you mean `{b}`?"));
            r.error(&p.key("cell"), format!("no cell `{}`", rule.cell), hint);
        }
    }
    if !has_default {
        r.error(&path.key("rules"), "the geolocation tree has no default record", Some("add `- default: true` with a cell: users outside every listed location otherwise get no answer".into()));
    }
}
