//! moto's default network, read without `aws-sdk-ec2` (a heavy build for two calls).
//!
//! `provision` needs subnets and a security group to create Fargate services; on moto they
//! come from the default VPC that moto creates in every region. moto reads the region from
//! the credential scope and does not check signatures, so one unsigned EC2 Query call is
//! enough.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::time::Duration;

/// One raw EC2 Query call to moto at `endpoint` (moto reads the region from the credential
/// scope): the whole HTTP response.
///
/// # Errors
/// When moto cannot be reached or answers anything but 200.
pub fn ec2_query(endpoint: &str, region: &str, body: &str) -> Result<String> {
    let hostport = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = std::net::TcpStream::connect(hostport.as_str())
        .with_context(|| format!("connecting to moto at {hostport}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if !(response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200")) {
        bail!("EC2 call to moto failed: {response}");
    }
    Ok(response)
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
