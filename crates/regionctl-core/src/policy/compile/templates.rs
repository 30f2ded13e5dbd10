//! Name templates as the stages use them: parsed with a diagnostic on failure, rendered
//! with the placeholder values of one (cell, region) or one region.

use crate::policy::ServiceRegion;
use crate::policy::diagnostics::Reporter;
use crate::policy::template::Template;
use crate::policy::yaml::FieldPath;

/// Parses a template, reporting why it does not parse.
pub(super) fn parse_template(
    text: &str,
    allowed: &[&str],
    path: &FieldPath,
    r: &mut Reporter<'_>,
) -> Option<Template> {
    match Template::parse(text, allowed) {
        Ok(t) => Some(t),
        Err(e) => {
            r.error(path, e.0, None);
            None
        }
    }
}

/// The placeholders of a per-cell template, for one cell (`id`, its `values` in dimension
/// order) and, when given, one region. Dimension values are lowercased, as in cell ids.
pub(super) struct CellVars<'a> {
    pub service: &'a str,
    pub dims: &'a [String],
    pub id: &'a str,
    pub values: &'a [String],
    pub region: Option<&'a str>,
}

impl CellVars<'_> {
    /// The value of placeholder `var`.
    pub fn get(&self, var: &str) -> Option<String> {
        match var {
            "service" => Some(self.service.to_string()),
            "cell" => Some(self.id.to_string()),
            "region" => self.region.map(str::to_string),
            d => self
                .dims
                .iter()
                .position(|x| x == d)
                .map(|i| self.values[i].to_ascii_lowercase()),
        }
    }

    /// The same cell in `region`.
    pub fn in_region<'b>(&'b self, region: &'b str) -> CellVars<'b> {
        CellVars {
            region: Some(region),
            ..*self
        }
    }
}

/// The value of placeholder `var` of a per-region template (`{service}`, `{region}`).
pub(super) fn region_var(service: &str, region: &str, var: &str) -> Option<String> {
    match var {
        "service" => Some(service.to_string()),
        "region" => Some(region.to_string()),
        _ => None,
    }
}

/// A per-region template rendered for every region (nothing if it does not parse: the
/// check stage has reported that).
pub(super) fn render_per_region(
    text: &str,
    service: &str,
    regions: &[ServiceRegion],
) -> Vec<String> {
    match Template::parse(text, &["service", "region"]) {
        Ok(t) => regions
            .iter()
            .map(|sr| t.render(|v| region_var(service, &sr.name, v)))
            .collect(),
        Err(_) => Vec::new(),
    }
}
