//! Routing: the hosted zone, the record name, set identifier and value templates, the TTL,
//! and the compiled [`Routing`].

use super::cells::Dimensions;
use super::switch::compile_switch;
use super::templates::parse_template;
use crate::policy::diagnostics::Reporter;
use crate::policy::raw::RoutingSpec;
use crate::policy::template::Template;
use crate::policy::yaml::FieldPath;
use crate::policy::{Routing, ServiceRegion};

/// Route 53 allows at most 100 weighted records per name and type.
const MAX_WEIGHTED_RECORDS: usize = 100;

/// The routing templates, each `None` if it did not parse.
pub(super) struct RoutingTemplates {
    record_name: Option<Template>,
    set_identifier: Option<Template>,
    value: Option<Template>,
}

impl RoutingTemplates {
    /// All three templates, if all three parsed.
    pub fn parsed(self) -> Option<RecordTemplates> {
        Some(RecordTemplates {
            record_name: self.record_name?,
            set_identifier: self.set_identifier?,
            value: self.value?,
        })
    }
}

/// The templates every cell's records are rendered from.
pub(super) struct RecordTemplates {
    /// The cell's record name (`{cell}` or every dimension when there are cells).
    pub record_name: Template,
    /// Set identifier per region (contains `{region}`).
    pub set_identifier: Template,
    /// Record value per region.
    pub value: Template,
}

/// Checks the routing section (the switch and geolocation have their own stages) and
/// parses its templates.
pub(super) fn check_routing(
    routing: &RoutingSpec,
    dims: &Dimensions,
    region_count: usize,
    base: &FieldPath,
    r: &mut Reporter<'_>,
) -> RoutingTemplates {
    let rpath = base.key("routing");
    if !is_zone_id(&routing.hosted_zone_id) {
        r.error(
            &rpath.key("hosted_zone_id"),
            format!(
                "`{}` is not a Route 53 hosted zone id",
                routing.hosted_zone_id
            ),
            Some("hosted zone ids look like `Z0123456789ABCDEFGHIJ`".into()),
        );
    }
    let templates = parse_routing_templates(routing, dims, &rpath, r);
    if let Some(t) = &templates.set_identifier
        && !t.uses("region")
    {
        r.error(
            &rpath.key("set_identifier"),
            "the set identifier must contain `{region}`",
            Some("e.g. `{cell}-{region}`; operators read the region off the record".into()),
        );
    }
    if let Some(t) = &templates.record_name
        && !dims.names.is_empty()
        && !t.uses("cell")
        && !dims.names.iter().all(|d| t.uses(d))
    {
        r.error(&rpath.key("record_name"), "with cells, the record name must contain `{cell}` (or every dimension)", Some("DNS cannot see a user's plan or platform: each cell needs its own record name, e.g. `{cell}.play.example.com`".into()));
    }
    if routing.ttl_secs > 300 {
        r.warn(
            &rpath.key("ttl_secs"),
            format!(
                "TTL {}s: resolvers keep sending traffic to an evacuated region that long",
                routing.ttl_secs
            ),
            Some("failover records usually use 60s or less".into()),
        );
    }
    if region_count > MAX_WEIGHTED_RECORDS {
        r.error(
            &base.key("regions"),
            format!(
                "{region_count} weighted records for one name and type; Route 53 allows {MAX_WEIGHTED_RECORDS}"
            ),
            None,
        );
    }
    templates
}

/// The record name (per cell), set identifier and value (per cell and region) templates.
fn parse_routing_templates(
    routing: &RoutingSpec,
    dims: &Dimensions,
    rpath: &FieldPath,
    r: &mut Reporter<'_>,
) -> RoutingTemplates {
    let allowed_cell = dims.placeholders(false);
    let allowed_cell_region = dims.placeholders(true);
    let record_name = parse_template(
        &routing.record_name,
        &allowed_cell,
        &rpath.key("record_name"),
        r,
    );
    let set_identifier = parse_template(
        &routing.set_identifier,
        &allowed_cell_region,
        &rpath.key("set_identifier"),
        r,
    );
    let value = parse_template(&routing.value, &allowed_cell_region, &rpath.key("value"), r);
    RoutingTemplates {
        record_name,
        set_identifier,
        value,
    }
}

/// The compiled routing settings.
pub(super) fn compile_routing(routing: &RoutingSpec, regions: &[ServiceRegion]) -> Routing {
    Routing {
        hosted_zone_id: routing.hosted_zone_id.clone(),
        record_type: routing.record_type,
        ttl_secs: routing.ttl_secs,
        geolocation: routing.geolocation.clone(),
        switch: routing
            .switch
            .as_ref()
            .map(|sw| compile_switch(sw, regions)),
    }
}

fn is_zone_id(id: &str) -> bool {
    // Real zone ids start with `Z`; emulators generate other uppercase ids, so accept any.
    let id = id.strip_prefix("/hostedzone/").unwrap_or(id);
    (1..=32).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}
