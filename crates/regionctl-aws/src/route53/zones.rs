//! Hosted zones named by domain: their ids, through `ListHostedZonesByName` (and
//! `GetHostedZone` for a private zone's VPCs).
//!
//! A name matches a zone when the zone's name (with its trailing dot) is the name, and it
//! is public, or private and associated with the policy's VPC. Exactly one zone must
//! match: Route 53 allows several zones of one name (a forgotten copy, a zone being
//! migrated), and silently picking one would write weights into a zone nobody resolves.

use super::{Priority, Route53Client, SERVICE};
use crate::errors::{AwsError, Result};
use regionctl_core::policy::ZoneName;
use std::collections::BTreeMap;

/// `ListHostedZonesByName` pages: zones are listed from `DNSName` on, in name order, so
/// a page past the name ends the search; this bounds it when many zones share the name.
const MAX_PAGES: u32 = 20;

impl Route53Client {
    /// The ids of `zones` (without `/hostedzone/`), or the first zone not found once.
    pub async fn find_zones(
        &self,
        zones: impl IntoIterator<Item = &ZoneName>,
    ) -> Result<BTreeMap<ZoneName, String>> {
        let mut out = BTreeMap::new();
        for zone in zones {
            out.insert(zone.clone(), self.find_zone(zone).await?);
        }
        Ok(out)
    }

    /// Creates the zone `zone` names (private ones associated with their VPC, in
    /// `vpc_region`) and returns its id: `provision --create-zones` and tests.
    pub async fn create_zone(
        &self,
        zone: &ZoneName,
        vpc_region: &str,
        caller_reference: &str,
    ) -> Result<String> {
        let (mut calls, mut retries) = (0, 0);
        let vpc = zone.vpc.as_ref().map(|id| {
            aws_sdk_route53::types::Vpc::builder()
                .vpc_id(id)
                .vpc_region(aws_sdk_route53::types::VpcRegion::from(vpc_region))
                .build()
        });
        let out = self
            .call(Priority::Write, &mut calls, &mut retries, || async {
                self.client
                    .create_hosted_zone()
                    .name(&zone.name)
                    .caller_reference(caller_reference)
                    .set_vpc(vpc.clone())
                    // Route 53 makes a zone created with a VPC private by itself; moto
                    // only when told so.
                    .hosted_zone_config(
                        aws_sdk_route53::types::HostedZoneConfig::builder()
                            .private_zone(vpc.is_some())
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(SERVICE, "CreateHostedZone", e))
            })
            .await?;
        let id = out
            .hosted_zone()
            .map(|z| z.id())
            .ok_or_else(|| AwsError::missing(SERVICE, "CreateHostedZone", "HostedZone"))?;
        Ok(id.trim_start_matches("/hostedzone/").to_string())
    }

    /// The id of the one zone `zone` names.
    pub async fn find_zone(&self, zone: &ZoneName) -> Result<String> {
        let candidates = self.zones_named(&zone.name, zone.vpc.is_some()).await?;
        let mut matching = Vec::new();
        for id in candidates {
            let wanted = match &zone.vpc {
                None => true,
                Some(vpc) => self.zone_vpcs(&id).await?.iter().any(|v| v == vpc),
            };
            if wanted {
                matching.push(id);
            }
        }
        match matching.as_slice() {
            [id] => Ok(id.clone()),
            [] => Err(AwsError::ZoneNotFound {
                zone: zone.to_string(),
            }),
            many => Err(AwsError::ZoneAmbiguous {
                zone: zone.to_string(),
                ids: many.to_vec(),
            }),
        }
    }

    /// Ids of the zones named exactly `name` that are private (`private`) or public.
    async fn zones_named(&self, name: &str, private: bool) -> Result<Vec<String>> {
        let dotted = format!("{name}.");
        let (mut calls, mut retries) = (0, 0);
        let (mut found, mut next_id) = (Vec::new(), None::<String>);
        for _ in 0..MAX_PAGES {
            let page = self
                .call(Priority::Read, &mut calls, &mut retries, || {
                    let request = self
                        .client
                        .list_hosted_zones_by_name()
                        .dns_name(name)
                        .set_hosted_zone_id(next_id.clone());
                    async move {
                        request
                            .send()
                            .await
                            .map_err(|e| AwsError::from_sdk(SERVICE, "ListHostedZonesByName", e))
                    }
                })
                .await?;
            let mut past = false;
            for z in page.hosted_zones() {
                if !z.name().eq_ignore_ascii_case(&dotted) {
                    past = true;
                    continue;
                }
                let is_private = z.config().is_some_and(|c| c.private_zone());
                if is_private == private {
                    found.push(z.id().trim_start_matches("/hostedzone/").to_string());
                }
            }
            let more = page.is_truncated() && page.next_dns_name() == Some(dotted.as_str());
            if past || !more {
                break;
            }
            next_id = page.next_hosted_zone_id().map(str::to_string);
        }
        Ok(found)
    }

    /// The VPC ids a private zone is associated with.
    async fn zone_vpcs(&self, id: &str) -> Result<Vec<String>> {
        let (mut calls, mut retries) = (0, 0);
        let out = self
            .call(Priority::Read, &mut calls, &mut retries, || async {
                self.client
                    .get_hosted_zone()
                    .id(id)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(SERVICE, "GetHostedZone", e))
            })
            .await?;
        Ok(out
            .vpcs()
            .iter()
            .filter_map(|v| v.vpc_id().map(str::to_string))
            .collect())
    }
}
