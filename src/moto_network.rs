//! moto's default network, read without `aws-sdk-ec2` (a heavy build for two calls).
//!
//! `provision` needs subnets and a security group to create Fargate services; on moto they
//! come from the default VPC that moto creates in every region. The moto game-day target
//! and the reaction benchmark use this; moto reads the region from the credential scope
//! and does not check signatures, so one unsigned EC2 Query call is enough. Never used
//! against real AWS.

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::time::Duration;

/// One raw EC2 Query call to moto (moto reads the region from the credential scope).
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

/// `provision.network` for `regions` from moto's default VPCs, as controller YAML lines.
pub fn provision_network_yaml(endpoint: &str, regions: &[String]) -> Result<String> {
    let mut lines = Vec::new();
    for r in regions {
        let subnets = ec2_query(
            endpoint,
            r,
            "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=default-for-az&Filter.1.Value.1=true",
        )?;
        let ids = xml_values(&subnets, "subnetId");
        let Some(vpc) = xml_values(&subnets, "vpcId").into_iter().next() else {
            bail!("moto has no default VPC in {r}");
        };
        let groups = ec2_query(
            endpoint,
            r,
            &format!(
                "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1={vpc}&Filter.2.Name=group-name&Filter.2.Value.1=default"
            ),
        )?;
        let Some(sg) = xml_values(&groups, "groupId").into_iter().next() else {
            bail!("moto has no default security group in {r}");
        };
        lines.push(format!(
            "      {r}: {{subnets: [{}], security_groups: [{sg}]}}",
            ids.join(", ")
        ));
    }
    Ok(lines.join("\n"))
}
