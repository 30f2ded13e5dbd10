//! moto's default network, read without `aws-sdk-ec2` (a heavy build for two calls: ADR
//! 0016 measured it).
//!
//! `provision` needs subnets and a security group to create Fargate services; on moto they
//! come from the default VPC that moto creates in every region. moto reads the region from
//! the credential scope and does not check signatures, so one unsigned EC2 Query call,
//! posted with `ureq` (the client of [`crate::http`]), is enough.

use anyhow::{Context, Result, bail};
use std::time::Duration;

/// One raw EC2 Query call to moto at `endpoint` (moto reads the region from the credential
/// scope): the response body.
///
/// # Errors
/// When moto cannot be reached or answers anything but 200.
pub fn ec2_query(endpoint: &str, region: &str, body: &str) -> Result<String> {
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let credential = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0"
    );
    let mut response = agent
        .post(&url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Authorization", &credential)
        .send(body)
        .with_context(|| format!("connecting to moto at {url}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading moto's EC2 answer from {url}"))?;
    if status != 200 {
        bail!("EC2 call to moto failed ({status}): {text}");
    }
    Ok(text)
}

/// Every value of `<tag>…</tag>` in an XML document, in order.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

/// One region's default network on moto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultNetwork {
    /// The default VPC's id.
    pub vpc: String,
    /// Its default subnets.
    pub subnets: Vec<String>,
    /// Its default security group.
    pub security_group: String,
}

/// The default VPC of `region` on moto at `endpoint`, its default subnets and its default
/// security group.
///
/// # Errors
/// When a call fails, or moto has no default VPC or security group there.
pub fn default_network(endpoint: &str, region: &str) -> Result<DefaultNetwork> {
    let subnets = ec2_query(
        endpoint,
        region,
        "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=default-for-az&Filter.1.Value.1=true",
    )?;
    let ids = xml_values(&subnets, "subnetId");
    let Some(vpc) = xml_values(&subnets, "vpcId").into_iter().next() else {
        bail!("moto has no default VPC in {region}");
    };
    let groups = ec2_query(
        endpoint,
        region,
        &format!(
            "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1={vpc}&Filter.2.Name=group-name&Filter.2.Value.1=default"
        ),
    )?;
    let Some(security_group) = xml_values(&groups, "groupId").into_iter().next() else {
        bail!("moto has no default security group in {region}");
    };
    Ok(DefaultNetwork {
        vpc,
        subnets: ids,
        security_group,
    })
}

/// `provision.network` for `regions` from moto's default VPCs, as the lines of a controller
/// config's `provision.network` map.
///
/// # Errors
/// As [`default_network`].
pub fn provision_network_yaml(endpoint: &str, regions: &[impl AsRef<str>]) -> Result<String> {
    let mut lines = Vec::new();
    for r in regions {
        let r = r.as_ref();
        let net = default_network(endpoint, r)?;
        lines.push(format!(
            "      {r}: {{subnets: [{}], security_groups: [{}]}}",
            net.subnets.join(", "),
            net.security_group
        ));
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_values_in_order_and_unclosed_tags_ignored() {
        let xml = "<a><id>1</id><x/><id>2</id><id>3";
        assert_eq!(xml_values(xml, "id"), ["1", "2"]);
    }
}
