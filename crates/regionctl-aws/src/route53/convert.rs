//! Conversions between [`crate::types`] record sets and the Route 53 SDK shapes.

use crate::errors::{AwsError, Result};
use crate::types::{ChangeAction, GeoLocation, RecordChange, RecordSet, RecordSetType, Routing};
use aws_sdk_route53::types as r53;

fn build_err(e: impl std::fmt::Display) -> AwsError {
    AwsError::InvalidInput(e.to_string())
}

/// Converts a change to the SDK shape, rejecting what this adapter never writes.
pub(crate) fn to_sdk_change(change: &RecordChange) -> Result<r53::Change> {
    let action = match change.action {
        ChangeAction::Create => r53::ChangeAction::Create,
        ChangeAction::Delete => r53::ChangeAction::Delete,
        ChangeAction::Upsert => r53::ChangeAction::Upsert,
    };
    r53::Change::builder()
        .action(action)
        .resource_record_set(to_sdk_record(&change.record)?)
        .build()
        .map_err(build_err)
}

fn to_sdk_record(r: &RecordSet) -> Result<r53::ResourceRecordSet> {
    if r.values.is_empty() {
        return Err(AwsError::InvalidInput(format!(
            "{} {} has no values",
            r.name,
            r.rtype.as_str()
        )));
    }
    let records = r
        .values
        .iter()
        .map(|v| {
            r53::ResourceRecord::builder()
                .value(v)
                .build()
                .map_err(build_err)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut b = r53::ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(r53::RrType::from(r.rtype.as_str()))
        .ttl(i64::from(r.ttl))
        .set_resource_records(Some(records))
        .set_health_check_id(r.health_check_id.clone());
    match &r.routing {
        Routing::Simple => {}
        Routing::Weighted {
            set_identifier,
            weight,
        } => {
            b = b.set_identifier(set_identifier).weight(i64::from(*weight));
        }
        Routing::Geolocation {
            set_identifier,
            location,
        } => {
            let geo = r53::GeoLocation::builder()
                .set_continent_code(location.continent.clone())
                .set_country_code(location.country.clone())
                .set_subdivision_code(location.subdivision.clone())
                .build();
            b = b.set_identifier(set_identifier).geo_location(geo);
        }
        Routing::Other { .. } => {
            return Err(AwsError::InvalidInput(format!(
                "{} {}: only simple, weighted and geolocation records can be written",
                r.name,
                r.rtype.as_str()
            )));
        }
    }
    b.build().map_err(build_err)
}

/// Converts a listed record set to the domain shape (lossy for policies we never write).
pub(crate) fn from_sdk_record(r: &r53::ResourceRecordSet) -> RecordSet {
    let set_identifier = r.set_identifier().map(str::to_string);
    let routing = if let (Some(id), Some(w)) = (&set_identifier, r.weight()) {
        match u8::try_from(w) {
            Ok(weight) if r.alias_target().is_none() => Routing::Weighted {
                set_identifier: id.clone(),
                weight,
            },
            _ => Routing::Other { set_identifier },
        }
    } else if let (Some(id), Some(g)) = (&set_identifier, r.geo_location()) {
        Routing::Geolocation {
            set_identifier: id.clone(),
            location: GeoLocation {
                continent: g.continent_code().map(str::to_string),
                country: g.country_code().map(str::to_string),
                subdivision: g.subdivision_code().map(str::to_string),
            },
        }
    } else if set_identifier.is_some() || r.alias_target().is_some() {
        Routing::Other { set_identifier }
    } else {
        Routing::Simple
    };
    RecordSet {
        name: crate::types::normalize_name(r.name()),
        rtype: RecordSetType::parse(r.r#type().as_str()),
        ttl: r.ttl().and_then(|t| u32::try_from(t).ok()).unwrap_or(0),
        values: r
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect(),
        routing,
        health_check_id: r.health_check_id().map(str::to_string),
    }
}
