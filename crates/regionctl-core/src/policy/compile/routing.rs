//! Routing: the hosted zone, the record name, set identifier and value templates, the TTL,
//! and the compiled [`Routing`].

use super::cells::Dimensions;
use super::switch::compile_switch;
use super::templates::parse_template;
use crate::policy::diagnostics::Reporter;
use crate::policy::raw::RoutingSpec;
use crate::policy::template::Template;
use crate::policy::yaml::FieldPath;
use crate::policy::zones::{self, ZoneName};
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
    check_zone(routing, &rpath, r);
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
    // Validated by `check_zone`: a name that does not normalise was reported there.
    let zone_name = routing
        .hosted_zone
        .as_deref()
        .and_then(|name| zones::normalise(name).ok())
        .map(|name| ZoneName {
            name,
            vpc: routing.hosted_zone_vpc.clone(),
        });
    Routing {
        hosted_zone_id: zone_name.as_ref().map_or_else(
            || routing.hosted_zone_id.clone().unwrap_or_default(),
            |z| z.name.clone(),
        ),
        zone_name,
        record_type: routing.record_type,
        ttl_secs: routing.ttl_secs,
        geolocation: routing.geolocation.clone(),
        switch: routing
            .switch
            .as_ref()
            .map(|sw| compile_switch(sw, regions)),
    }
}

/// The hosted zone: by id or by name (exactly one), a private zone's VPC, and record names
/// inside a zone named by domain.
fn check_zone(routing: &RoutingSpec, rpath: &FieldPath, r: &mut Reporter<'_>) {
    let id_hint = "hosted zone ids look like `Z0123456789ABCDEFGHIJ`; or name the zone: \
                   `hosted_zone: play.example.com`";
    match (&routing.hosted_zone_id, &routing.hosted_zone) {
        (Some(_), Some(_)) => r.error(
            &rpath.key("hosted_zone"),
            "give `hosted_zone_id` or `hosted_zone`, not both",
            Some("`hosted_zone` (a domain) is resolved to its id through Route 53".into()),
        ),
        (None, None) => r.error(
            rpath,
            "no hosted zone: give `hosted_zone` (its domain) or `hosted_zone_id`",
            Some(id_hint.into()),
        ),
        (Some(id), None) if !is_zone_id(id) => r.error(
            &rpath.key("hosted_zone_id"),
            format!("`{id}` is not a Route 53 hosted zone id"),
            Some(id_hint.into()),
        ),
        (Some(_), None) => {}
        (None, Some(name)) => match zones::normalise(name) {
            Err(why) => r.error(
                &rpath.key("hosted_zone"),
                format!("`{name}` is not a domain name: {why}"),
                None,
            ),
            Ok(zone) if !zones::in_zone(&routing.record_name, &zone) => r.error(
                &rpath.key("record_name"),
                format!(
                    "`{}` is not inside hosted zone `{zone}`",
                    routing.record_name
                ),
                Some(format!("record names end with `.{zone}`")),
            ),
            Ok(zone) => {
                if let Some(geo) = routing
                    .geolocation
                    .as_ref()
                    .filter(|g| !zones::in_zone(&g.record_name, &zone))
                {
                    r.error(
                        &rpath.key("geolocation").key("record_name"),
                        format!("`{}` is not inside hosted zone `{zone}`", geo.record_name),
                        Some(format!("record names end with `.{zone}`")),
                    );
                }
            }
        },
    }
    match &routing.hosted_zone_vpc {
        Some(_) if routing.hosted_zone.is_none() => r.error(
            &rpath.key("hosted_zone_vpc"),
            "`hosted_zone_vpc` goes with `hosted_zone` (a private zone named by domain)",
            Some("a zone given by id needs no VPC".into()),
        ),
        Some(vpc) if !zones::is_vpc_id(vpc) => r.error(
            &rpath.key("hosted_zone_vpc"),
            format!("`{vpc}` is not a VPC id"),
            Some("VPC ids look like `vpc-0123456789abcdef0`".into()),
        ),
        _ => {}
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
