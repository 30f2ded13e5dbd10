//! Cells: the dimensions and their cartesian product, the serving rules (failover tiers
//! per cell), and the compiled [`Cell`]s with their rendered record names.

use super::intern::Interner;
use super::routing::RecordTemplates;
use super::templates::CellVars;
use crate::policy::diagnostics::{Reporter, did_you_mean};
use crate::policy::raw::{Role, ServiceSpec};
use crate::policy::template::Template;
use crate::policy::yaml::FieldPath;
use crate::policy::{Cell, ServiceRegion};
use std::collections::{BTreeMap, BTreeSet};

/// Most cells per service: a bound on generated record counts.
const MAX_CELLS: usize = 10_000;
/// Placeholders that dimension names may not shadow.
const RESERVED: [&str; 4] = ["service", "region", "cell", "zone"];

/// The dimensions and the cells they make.
pub(super) struct Dimensions {
    /// Dimension names, in policy order (none without `cells`).
    pub names: Vec<String>,
    /// Every cell's values, one per dimension: the cartesian product of the dimensions'
    /// values (one cell without values when there are no dimensions or too many cells).
    pub cells: Vec<Vec<String>>,
}

impl Dimensions {
    /// Placeholders a per-cell template may use, in the order the diagnostics list them:
    /// `{service}`, `{cell}`, every dimension, then `{region}` when `with_region`.
    pub fn placeholders(&self, with_region: bool) -> Vec<&str> {
        let mut allowed: Vec<&str> = vec!["service", "cell"];
        allowed.extend(self.names.iter().map(String::as_str));
        if with_region {
            allowed.push("region");
        }
        allowed
    }

    /// True when a template renders differently per cell (`{cell}` or a dimension).
    pub fn per_cell(&self, t: &Template) -> bool {
        t.uses("cell") || self.names.iter().any(|d| t.uses(d))
    }
}

/// A compiled serving rule: which cells it matches, and their tiers of local regions.
pub(super) struct Rule {
    /// (dimension index, lowercased values) pairs that must all match.
    matches: Vec<(usize, BTreeSet<String>)>,
    tiers: Vec<Vec<usize>>,
}

/// Dimension names and the cartesian product of their values (one empty cell if none).
pub(super) fn compile_dimensions(
    spec: &ServiceSpec,
    base: &FieldPath,
    r: &mut Reporter<'_>,
) -> Dimensions {
    let Some(cells) = &spec.cells else {
        return Dimensions {
            names: Vec::new(),
            cells: vec![Vec::new()],
        };
    };
    let dpath = base.key("cells").key("dimensions");
    let mut names = Vec::new();
    let mut product: Vec<Vec<String>> = vec![Vec::new()];
    if cells.dimensions.is_empty() {
        r.error(&dpath, "`cells` needs at least one dimension", None);
    }
    for (i, dim) in cells.dimensions.iter().enumerate() {
        let p = dpath.index(i);
        let valid =
            !dim.name.is_empty() && dim.name.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !valid {
            r.error(
                &p.key("name"),
                format!("invalid dimension name `{}`", dim.name),
                Some("use lowercase letters and `_`".into()),
            );
        }
        if RESERVED.contains(&dim.name.as_str()) {
            r.error(
                &p.key("name"),
                format!("`{}` is a reserved placeholder name", dim.name),
                Some(format!("reserved: {}", RESERVED.join(", "))),
            );
        }
        if names.contains(&dim.name) {
            r.error(
                &p.key("name"),
                format!("dimension `{}` listed twice", dim.name),
                None,
            );
        }
        names.push(dim.name.clone());
        check_values(&dim.name, &dim.values, &p, r);
        let mut next = Vec::new();
        for prefix in &product {
            for v in &dim.values {
                let mut cell = prefix.clone();
                cell.push(v.clone());
                next.push(cell);
            }
            if next.len() > MAX_CELLS {
                break;
            }
        }
        product = next;
        if product.len() > MAX_CELLS {
            r.error(&dpath, format!("more than {MAX_CELLS} cells"), None);
            return Dimensions {
                names,
                cells: vec![Vec::new()],
            };
        }
    }
    Dimensions {
        names,
        cells: product,
    }
}

/// One dimension's values: some, DNS-safe, each once (case-insensitively).
fn check_values(name: &str, values: &[String], p: &FieldPath, r: &mut Reporter<'_>) {
    if values.is_empty() {
        r.error(
            &p.key("values"),
            format!("dimension `{name}` has no values"),
            None,
        );
    }
    let mut seen = BTreeSet::new();
    for (k, v) in values.iter().enumerate() {
        let dns_safe = !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric());
        if !dns_safe {
            r.error(
                &p.key("values").index(k),
                format!("value `{v}` must be letters and digits"),
                Some("values become part of DNS names".into()),
            );
        }
        if !seen.insert(v.to_ascii_lowercase()) {
            r.error(
                &p.key("values").index(k),
                format!("value `{v}` listed twice"),
                None,
            );
        }
    }
}

/// The serving rules, with dimensions and regions resolved to indices.
pub(super) fn compile_serving(
    spec: &ServiceSpec,
    dims: &Dimensions,
    regions: &[ServiceRegion],
    base: &FieldPath,
    r: &mut Reporter<'_>,
) -> Vec<Rule> {
    let Some(cells) = &spec.cells else {
        return Vec::new();
    };
    let dims: Vec<&str> = dims.names.iter().map(String::as_str).collect();
    let regions: Vec<&str> = regions.iter().map(|sr| sr.name.as_str()).collect();
    let spath = base.key("cells").key("serving");
    let mut rules = Vec::new();
    for (i, rule) in cells.serving.iter().enumerate() {
        let p = spath.index(i);
        let mut matches = Vec::new();
        for (dim, values) in &rule.match_ {
            let Some(d) = dims.iter().position(|x| x == dim) else {
                let hint =
                    did_you_mean(dim, dims.iter().copied()).map(|b| format!("did you mean `{b}`?"));
                r.error(
                    &p.key("match").key(dim),
                    format!("unknown dimension `{dim}`"),
                    hint,
                );
                continue;
            };
            let known: Vec<&String> = cells.dimensions[d].values.iter().collect();
            for (k, v) in values.iter().enumerate() {
                if !known.iter().any(|x| x.eq_ignore_ascii_case(v)) {
                    r.error(
                        &p.key("match").key(dim).index(k),
                        format!("dimension `{dim}` has no value `{v}`"),
                        None,
                    );
                }
            }
            matches.push((d, values.iter().map(|v| v.to_ascii_lowercase()).collect()));
        }
        let tiers = compile_tiers(&rule.tiers, &regions, &p, r);
        rules.push(Rule { matches, tiers });
    }
    rules
}

/// One rule's tiers as local region indices; a region may appear in one tier only.
fn compile_tiers(
    tiers_spec: &[Vec<String>],
    regions: &[&str],
    p: &FieldPath,
    r: &mut Reporter<'_>,
) -> Vec<Vec<usize>> {
    if tiers_spec.is_empty() {
        r.error(
            &p.key("tiers"),
            "a serving rule needs at least one tier",
            None,
        );
    }
    let mut tiers = Vec::new();
    let mut used = BTreeSet::new();
    for (t, tier) in tiers_spec.iter().enumerate() {
        if tier.is_empty() {
            r.error(&p.key("tiers").index(t), "empty tier", None);
        }
        let mut ixs = Vec::new();
        for (k, name) in tier.iter().enumerate() {
            match regions.iter().position(|x| x == name) {
                Some(ix) => {
                    if !used.insert(ix) {
                        r.error(
                            &p.key("tiers").index(t).index(k),
                            format!("region `{name}` appears in two tiers"),
                            None,
                        );
                    }
                    ixs.push(ix);
                }
                None => {
                    let hint = did_you_mean(name, regions.iter().copied())
                        .map(|b| format!("did you mean `{b}`?"));
                    r.error(
                        &p.key("tiers").index(t).index(k),
                        format!("`{name}` is not one of this service's regions"),
                        hint.or_else(|| Some(format!("regions: {}", regions.join(", ")))),
                    );
                }
            }
        }
        tiers.push(ixs);
    }
    tiers
}

/// The tiers serving a cell: the first matching rule, else the strategy's default
/// (active-active: every region in one tier; standby strategies: primaries, then standbys).
fn tiers_for(values: &[String], rules: &[Rule], regions: &[ServiceRegion]) -> Vec<Vec<usize>> {
    for rule in rules {
        let hit = rule.matches.iter().all(|(d, allowed)| {
            values
                .get(*d)
                .is_some_and(|v| allowed.contains(&v.to_ascii_lowercase()))
        });
        if hit {
            return rule.tiers.clone();
        }
    }
    let primaries: Vec<usize> = (0..regions.len())
        .filter(|r| regions[*r].role == Role::Primary)
        .collect();
    let standbys: Vec<usize> = (0..regions.len())
        .filter(|r| regions[*r].role == Role::Standby)
        .collect();
    let mut tiers = vec![primaries];
    if !standbys.is_empty() {
        tiers.push(standbys);
    }
    tiers.retain(|t| !t.is_empty());
    tiers
}

/// What a service's cells are built from.
#[derive(Clone, Copy)]
pub(super) struct CellSources<'a> {
    pub service: &'a str,
    pub dims: &'a Dimensions,
    pub rules: &'a [Rule],
    pub regions: &'a [ServiceRegion],
    pub templates: &'a RecordTemplates,
}

/// Every cell, with the checks that need rendered names: record names unique across
/// cells, set identifiers unique and of Route 53's length within a cell, and a weighted
/// region in each cell's first tier.
pub(super) fn build_cells(
    sources: &CellSources<'_>,
    interner: &mut Interner,
    base: &FieldPath,
    r: &mut Reporter<'_>,
) -> Vec<Cell> {
    let CellSources {
        service,
        dims,
        rules,
        regions,
        templates,
    } = *sources;
    let rpath = base.key("routing");
    let mut cells: Vec<Cell> = Vec::with_capacity(dims.cells.len());
    let mut record_names: BTreeMap<String, usize> = BTreeMap::new();
    for (ci, values) in dims.cells.iter().enumerate() {
        let cell = build_cell(service, dims, values, rules, regions, templates, interner);
        if let Some(prev) = record_names.insert(cell.record_name.clone(), ci) {
            r.error(
                &rpath.key("record_name"),
                format!(
                    "cells `{}` and `{}` both render record name `{}`",
                    cells[prev].id, cell.id, cell.record_name
                ),
                Some("each cell needs its own record name".into()),
            );
        }
        check_set_identifiers(&cell, &rpath, r);
        if cell.baseline_weights.iter().all(|w| *w == 0) {
            r.error(&base.key("cells").key("serving"), format!("cell `{}`: every region of its first tier has weight 0", cell.id), Some("Route 53 answers an all-zero weight set with an equal spread; put a weighted region in the first tier".into()));
        }
        cells.push(cell);
    }
    cells
}

/// One cell: its id and label, rendered names and values, tiers and baseline weights.
fn build_cell(
    service: &str,
    dims: &Dimensions,
    values: &[String],
    rules: &[Rule],
    regions: &[ServiceRegion],
    templates: &RecordTemplates,
    interner: &mut Interner,
) -> Cell {
    let (id, label) = if dims.names.is_empty() {
        ("all".to_string(), "all".to_string())
    } else {
        let id = values
            .iter()
            .map(|v| v.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join("-");
        (id, values.join("/"))
    };
    let vars = CellVars {
        service,
        dims: &dims.names,
        id: &id,
        values,
        region: None,
    };
    let record_name = templates.record_name.render(|v| vars.get(v));
    let per_region = |t: &Template| -> Vec<String> {
        regions
            .iter()
            .map(|sr| t.render(|v| vars.in_region(&sr.name).get(v)))
            .collect()
    };
    let set_identifiers = per_region(&templates.set_identifier);
    let values_per_region = per_region(&templates.value);
    let tiers = tiers_for(values, rules, regions);
    let in_first: BTreeSet<usize> = tiers
        .first()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let baseline_weights: Vec<u8> = regions
        .iter()
        .enumerate()
        .map(|(r, sr)| if in_first.contains(&r) { sr.weight } else { 0 })
        .collect();
    Cell {
        id,
        label,
        values: interner.strings(values.to_vec()),
        record_name,
        tiers: interner.tiers(tiers),
        set_identifiers: interner.strings(set_identifiers),
        values_per_region: interner.strings(values_per_region),
        baseline_weights: interner.weights(baseline_weights),
    }
}

/// A cell's set identifiers: unique, 1-128 characters.
fn check_set_identifiers(cell: &Cell, rpath: &FieldPath, r: &mut Reporter<'_>) {
    let mut ids = BTreeSet::new();
    for s in cell.set_identifiers.iter() {
        if !ids.insert(s) {
            r.error(
                &rpath.key("set_identifier"),
                format!(
                    "duplicate set identifier `{s}` for record `{}`",
                    cell.record_name
                ),
                None,
            );
        }
        if s.is_empty() || s.len() > 128 {
            r.error(
                &rpath.key("set_identifier"),
                format!("set identifier `{s}` must be 1-128 characters"),
                None,
            );
        }
    }
}
