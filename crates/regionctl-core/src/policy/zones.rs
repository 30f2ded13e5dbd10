//! Hosted zones named by domain (`routing.hosted_zone`) rather than by id.
//!
//! A zone id differs per account and per sandbox, a zone name does not; so a policy may name
//! its zone, and whoever meets Route 53 with the bundle (the daemon at start-up and on
//! every reload, `provision`, `iam`, game-days) resolves the names to ids first
//! ([`Bundle::named_zones`] → a lookup → [`Bundle::resolve_zones`]). The lookup is I/O and
//! lives with the Route 53 adapter; this module stays pure.
//!
//! # Design
//! Until resolved, a named zone's `Routing::hosted_zone_id` holds the zone's name. The
//! planner and the simulator use the field only as a key that groups a service's records,
//! for which the name serves as well; and a name can never pass for an id (ids are
//! upper-case letters and digits), so a bundle used unresolved against Route 53 fails
//! loudly ("no such hosted zone"), never on another zone.

use super::Bundle;
use std::collections::BTreeMap;

/// A hosted zone as a policy names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZoneName {
    /// The domain, lower case, without the trailing dot (`play.example.com`).
    pub name: String,
    /// For a private zone: the VPC it must be associated with. `None`: the public zone.
    pub vpc: Option<String>,
}

impl std::fmt::Display for ZoneName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.vpc {
            None => write!(f, "public zone {}", self.name),
            Some(vpc) => write!(f, "private zone {} (VPC {vpc})", self.name),
        }
    }
}

impl Bundle {
    /// The zones the services name by domain, each once, with the services naming it.
    pub fn named_zones(&self) -> BTreeMap<ZoneName, Vec<String>> {
        let mut out: BTreeMap<ZoneName, Vec<String>> = BTreeMap::new();
        for service in &self.services {
            if let Some(zone) = &service.routing.zone_name {
                out.entry(zone.clone())
                    .or_default()
                    .push(service.name.clone());
            }
        }
        out
    }

    /// Sets the id of every zone named by domain from `ids`. Returns the zones `ids` lacks
    /// (those services keep the name in place of an id).
    pub fn resolve_zones(&mut self, ids: &BTreeMap<ZoneName, String>) -> Vec<ZoneName> {
        let mut missing = Vec::new();
        for service in &mut self.services {
            let Some(zone) = &service.routing.zone_name else {
                continue;
            };
            match ids.get(zone) {
                Some(id) => service.routing.hosted_zone_id = id.clone(),
                None if !missing.contains(zone) => missing.push(zone.clone()),
                None => {}
            }
        }
        missing
    }
}

/// The domain as written, normalised (lower case, no trailing dot), or why it is not a
/// domain name Route 53 could hold a zone for.
pub(super) fn normalise(name: &str) -> Result<String, String> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 {
        return Err("a domain name has 1 to 253 characters".into());
    }
    for label in name.split('.') {
        let ok_chars = label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if label.is_empty() || label.len() > 63 || !ok_chars {
            return Err(format!(
                "`{label}` is not a DNS label (1 to 63 letters, digits, `-` or `_`)"
            ));
        }
    }
    Ok(name)
}

/// True for a VPC id (`vpc-` and 8 or 17 hex digits).
pub(super) fn is_vpc_id(id: &str) -> bool {
    id.strip_prefix("vpc-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17) && hex.chars().all(|c| c.is_ascii_hexdigit())
    })
}

/// True when `record` (a record name or name template) lies inside zone `zone`.
pub(super) fn in_zone(record: &str, zone: &str) -> bool {
    let record = record.trim_end_matches('.').to_ascii_lowercase();
    record == zone || record.ends_with(&format!(".{zone}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_bad_ones_refused() {
        assert_eq!(
            normalise("Play.Example.com.").as_deref(),
            Ok("play.example.com")
        );
        assert!(normalise("").is_err());
        assert!(normalise("play..example.com").is_err());
        assert!(normalise("play example.com").is_err());
        assert!(normalise(&format!("{}.com", "a".repeat(64))).is_err());
    }

    #[test]
    fn vpc_ids_and_zone_membership() {
        assert!(is_vpc_id("vpc-0123abcd"));
        assert!(is_vpc_id("vpc-0123456789abcdef0"));
        assert!(!is_vpc_id("vpc-xyz"));
        assert!(!is_vpc_id("subnet-0123abcd"));
        assert!(in_zone("{cell}.play.example.com", "play.example.com"));
        assert!(in_zone("play.example.com.", "play.example.com"));
        assert!(!in_zone("{cell}.replay.example.com", "play.example.com"));
        assert!(!in_zone("{cell}.example.com", "play.example.com"));
    }
}
