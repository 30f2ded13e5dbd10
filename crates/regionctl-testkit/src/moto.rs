//! One moto server per test process (or the one in `MOTO_ENDPOINT`), and moto's default
//! network.
//!
//! The server is started through `scripts/moto.sh start` and a detached watchdog kills it
//! when this process exits, however it exits. A missing moto install is a failure, never a
//! skip. Tests build their SDK clients from [`endpoint`] themselves (with
//! `regionctl_aws::config::load_for_tests`): this kit does not depend on `regionctl-aws`.

use std::io::{Read, Write};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

static ENDPOINT: OnceLock<String> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

fn start() -> String {
    if let Ok(url) = std::env::var("MOTO_ENDPOINT") {
        return url;
    }
    let root = crate::repo_root();
    let moto_bin = root.join(".venv/bin/moto_server");
    assert!(
        moto_bin.exists(),
        "moto is not installed ({} missing): run `scripts/moto.sh install` from the repository root",
        moto_bin.display()
    );
    let out = Command::new("bash")
        .arg(root.join("scripts/moto.sh"))
        .arg("start")
        .output()
        .expect("run scripts/moto.sh start");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scripts/moto.sh start failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |k: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(str::to_string)
    };
    let url = field("MOTO_ENDPOINT=").expect("MOTO_ENDPOINT in moto.sh output");
    let pid = field("MOTO_PID=").expect("MOTO_PID in moto.sh output");
    // Watchdog: stop moto when this process is gone (statics are never dropped). The outer
    // bash starts it detached and exits at once, so there is nothing left to wait for.
    let watchdog = "setsid bash -c 'while kill -0 \"$1\" 2>/dev/null; do sleep 0.5; done; kill \"$2\" 2>/dev/null' \
                    watchdog \"$0\" \"$1\" </dev/null >/dev/null 2>&1 &";
    let status = Command::new("bash")
        .args(["-c", watchdog, &std::process::id().to_string(), &pid])
        .status()
        .expect("spawn moto watchdog");
    assert!(status.success(), "moto watchdog failed to start");
    url
}

/// The moto endpoint, starting the server on first use.
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(start)
}

/// A name unique within this test run (short enough for ALB/target-group names).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id() % 100_000,
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// One raw EC2 Query call to moto (the project avoids compiling aws-sdk-ec2 just for
/// fixtures). moto reads the region from the credential scope and does not check
/// signatures.
pub fn ec2_query(region: &str, body: &str) -> String {
    let url = endpoint();
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(hostport).expect("connect to moto");
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .expect("write EC2 request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read EC2 response");
    assert!(
        response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
        "EC2 call failed: {response}"
    );
    response
}

/// All values of `<tag>...</tag>` in an XML document, in order.
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

/// The default VPC's id, its default subnets and its default security group in `region`.
pub fn default_network(region: &str) -> (String, Vec<String>, String) {
    let subnets = ec2_query(
        region,
        "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=default-for-az&Filter.1.Value.1=true",
    );
    let ids = xml_values(&subnets, "subnetId");
    let vpc = xml_values(&subnets, "vpcId")
        .into_iter()
        .next()
        .expect("a default VPC");
    let groups = ec2_query(
        region,
        &format!(
            "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1={vpc}&Filter.2.Name=group-name&Filter.2.Value.1=default"
        ),
    );
    let sg = xml_values(&groups, "groupId")
        .into_iter()
        .next()
        .expect("a default security group");
    (vpc, ids, sg)
}

/// The default VPC's subnets and security group per region, as the lines of a controller
/// config's `provision.network` map.
pub fn network_yaml(regions: &[&str]) -> String {
    regions
        .iter()
        .map(|r| {
            let (_, subnets, sg) = default_network(r);
            format!(
                "      {r}: {{subnets: [{}], security_groups: [{sg}]}}",
                subnets.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_values_in_order_and_unclosed_tags_ignored() {
        let xml = "<a><id>1</id><x/><id>2</id><id>3";
        assert_eq!(xml_values(xml, "id"), ["1", "2"]);
    }

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique("t"), unique("t"));
    }
}
