//! Least-privilege IAM: the policy documents in `deploy/` grant exactly the AWS actions the
//! code calls, no more and no fewer.
//!
//! - `deploy/iam-policy.json`: the running controller (`regionctl run`, the operator commands
//!   that write the journal).
//! - `deploy/iam-policy-provision.json`: everything else the code can call: `provision`
//!   (sandbox accounts), game-day drills, and library helpers with no production caller.
//!   [`PROVISION_ONLY`] lists those operations and who calls them.
//!
//! # How operations are found
//! Every AWS call is in `crates/regionctl-aws/src/`, made as a builder call on a field that
//! holds an SDK client (`self.client.change_resource_record_sets()`, also when rustfmt puts
//! `.client` and the operation on their own lines). The scanner implements the regex
//!
//! ```text
//! \.\s*(client|sdk\(\))\s*\.\s*([a-z_][a-z0-9_]*)\s*\(
//! ```
//!
//! (`\s` includes newlines) over each source file after dropping what is not production code:
//! files named `tests.rs`, everything from a line that is exactly `#[cfg(test)]` at column 0,
//! and `//` comments. [`CLIENT_RECEIVERS`] is the list of receivers: the `client` field every
//! module uses and `Route53Client::sdk()`, the accessor that hands the client out; a struct
//! field of type `aws_sdk_*::Client` under any other name fails the test, so a renamed field
//! cannot hide calls. The operation `change_resource_record_sets` in a file of the `route53`
//! module becomes the IAM action `route53:ChangeResourceRecordSets` ([`SERVICE_PREFIXES`] maps
//! files to IAM service prefixes).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Receivers of SDK operation calls: `<receiver>.<operation>(`.
const CLIENT_RECEIVERS: &[&str] = &["client", "sdk()"];

/// Methods of an SDK `Client` that are not AWS operations.
const NOT_OPERATIONS: &[&str] = &["config", "clone"];

/// IAM service prefix for each source file or module directory of `regionctl-aws/src`
/// (EventBridge's prefix is `events`, ELBv2's is `elasticloadbalancing`).
const SERVICE_PREFIXES: &[(&str, &str)] = &[
    ("route53/", "route53"),
    ("cloudwatch.rs", "cloudwatch"),
    ("sqs.rs", "sqs"),
    ("eventbridge.rs", "events"),
    ("ecs.rs", "ecs"),
    ("elbv2.rs", "elasticloadbalancing"),
    ("dynamodb.rs", "dynamodb"),
    ("sts.rs", "sts"),
];

/// Operations the running controller never calls, with the functions that do. They belong in
/// `deploy/iam-policy-provision.json`; every other operation belongs in
/// `deploy/iam-policy.json`. (Controller paths: `crates/regionctl-aws/src/world/` and
/// `src/daemon/`.)
const PROVISION_ONLY: &[(&str, &str)] = &[
    // Route 53.
    (
        "route53:CreateHostedZone",
        "Route53Client::create_hosted_zone: gameday-moto, tests, benches",
    ),
    (
        "route53:CreateHealthCheck",
        "Route53Client::ensure_health_check: sandbox setup, tests",
    ),
    (
        "route53:ListHealthChecks",
        "Route53Client::list_health_checks / ensure_health_check: sandbox setup, tests",
    ),
    (
        "route53:UpdateHealthCheck",
        "Route53Client::update_health_check: sandbox setup, tests",
    ),
    (
        "route53:ChangeTagsForResource",
        "Route53Client::tag_health_check: provision (switch wiring)",
    ),
    (
        "route53:ListTagsForResource",
        "Route53Client::health_check_tags: tests (reading the switch wiring back)",
    ),
    // CloudWatch.
    (
        "cloudwatch:PutMetricAlarm",
        "CloudWatchClient::put_metric_alarm: provision",
    ),
    (
        "cloudwatch:SetAlarmState",
        "CloudWatchClient::set_alarm_state: game-day drills (gameday-moto), tests",
    ),
    // DynamoDB.
    (
        "dynamodb:CreateTable",
        "JournalStore::create_table: provision",
    ),
    (
        "dynamodb:UpdateTimeToLive",
        "JournalStore::create_table (enables TTL): provision",
    ),
    (
        "dynamodb:GetItem",
        "JournalStore::get: tests only (the controller reads with Query)",
    ),
    // ECS.
    ("ecs:CreateCluster", "EcsClient::create_cluster: provision"),
    (
        "ecs:RegisterTaskDefinition",
        "EcsClient::register_fargate_task: provision",
    ),
    ("ecs:CreateService", "EcsClient::create_service: provision"),
    // ELBv2.
    (
        "elasticloadbalancing:CreateLoadBalancer",
        "ElbClient::create_alb: sandbox setup, tests",
    ),
    (
        "elasticloadbalancing:CreateTargetGroup",
        "ElbClient::create_ip_target_group / create_lambda_target_group: sandbox setup, tests",
    ),
    (
        "elasticloadbalancing:CreateListener",
        "ElbClient::create_weighted_listener: sandbox setup, tests",
    ),
    // EventBridge.
    (
        "events:PutRule",
        "EventBridgeClient::put_rule / put_alarm_rule: provision",
    ),
    (
        "events:PutTargets",
        "EventBridgeClient::put_sqs_target: provision",
    ),
    // SQS.
    ("sqs:CreateQueue", "SqsClient::create_queue: provision"),
    (
        "sqs:GetQueueAttributes",
        "SqsClient::queue_arn (from create_queue) and policy: provision, tests",
    ),
    (
        "sqs:SetQueueAttributes",
        "SqsClient::allow_eventbridge: provision",
    ),
    ("sqs:SendMessage", "SqsClient::send: tests"),
    // STS.
    (
        "sts:GetCallerIdentity",
        "StsClient::caller_identity: gameday --target aws (account guardrail)",
    ),
];

const CONTROLLER_POLICY: &str = "deploy/iam-policy.json";
const PROVISION_POLICY: &str = "deploy/iam-policy-provision.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The production part of one source file: before a column-0 `#[cfg(test)]` line, without
/// `//` comments (a `//` after an odd number of `"` on its line is inside a string and kept).
fn production_code(source: &str) -> String {
    let mut out = String::new();
    for line in source.lines() {
        if line == "#[cfg(test)]" {
            break;
        }
        let mut code = line;
        let mut from = 0;
        while let Some(i) = line[from..].find("//") {
            let at = from + i;
            if line[..at].matches('"').count() % 2 == 0 {
                code = &line[..at];
                break;
            }
            from = at + 2;
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// SDK operations called in `code` (already [`production_code`]), with their 1-based lines:
/// the matches of `\.\s*(client|sdk\(\))\s*\.\s*([a-z_][a-z0-9_]*)\s*\(`.
fn sdk_operations(code: &str) -> Vec<(String, usize)> {
    let s = code.as_bytes();
    let mut found = Vec::new();
    for (dot, _) in code.match_indices('.') {
        let start = skip_ws(s, dot + 1);
        let Some(receiver) = CLIENT_RECEIVERS
            .iter()
            .find(|r| code[start..].starts_with(**r))
        else {
            continue;
        };
        let end = start + receiver.len();
        // Whole identifier only (`.client_id` is not `.client`).
        if s.get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            continue;
        }
        let dot2 = skip_ws(s, end);
        if s.get(dot2) != Some(&b'.') {
            continue;
        }
        let op_start = skip_ws(s, dot2 + 1);
        let mut op_end = op_start;
        while op_end < s.len()
            && (s[op_end].is_ascii_lowercase() || s[op_end] == b'_' || s[op_end].is_ascii_digit())
        {
            op_end += 1;
        }
        if op_end == op_start || s[op_start].is_ascii_digit() {
            continue;
        }
        if s.get(skip_ws(s, op_end)) != Some(&b'(') {
            continue;
        }
        let op = &code[op_start..op_end];
        if NOT_OPERATIONS.contains(&op) {
            continue;
        }
        let line = code[..op_start].matches('\n').count() + 1;
        found.push((op.to_string(), line));
    }
    found
}

/// Names of variables or fields declared as `name: aws_sdk_*::Client` in `code`.
fn client_field_names(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices("aws_sdk_") {
        let rest = &code[at + "aws_sdk_".len()..];
        let krate = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let after = &rest[krate..];
        let is_client_type = after.starts_with("::Client")
            && !after["::Client".len()..].starts_with(|c: char| c.is_alphanumeric() || c == ':');
        let before = code[..at].trim_end();
        if !is_client_type || !before.ends_with(':') || before.ends_with("::") {
            continue;
        }
        let before = before[..before.len() - 1].trim_end();
        let name_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        names.push(before[name_start..].to_string());
    }
    names
}

/// `describe_alarms` → `DescribeAlarms`.
fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn service_prefix(rel_path: &str) -> Option<&'static str> {
    SERVICE_PREFIXES
        .iter()
        .find(|(p, _)| {
            if p.ends_with('/') {
                rel_path.starts_with(p)
            } else {
                rel_path == *p
            }
        })
        .map(|(_, s)| *s)
}

/// IAM actions the sources call, each with where (`file:line`). `sources` are paths relative
/// to `regionctl-aws/src` with their text. Errors: calls in a file with no service prefix,
/// SDK clients held under a name the scanner does not look at.
fn code_actions(sources: &[(String, String)]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut actions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (path, text) in sources {
        if Path::new(path).file_name().is_some_and(|f| f == "tests.rs") {
            continue;
        }
        let code = production_code(text);
        for name in client_field_names(&code) {
            if !CLIENT_RECEIVERS.contains(&name.as_str()) {
                problems.push(format!(
                    "{path}: an SDK client is held in `{name}`, which the scanner does not read; add it to CLIENT_RECEIVERS"
                ));
            }
        }
        let ops = sdk_operations(&code);
        if ops.is_empty() {
            continue;
        }
        let Some(prefix) = service_prefix(path) else {
            problems.push(format!(
                "{path}: calls {:?} but has no IAM service prefix in SERVICE_PREFIXES",
                ops.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>()
            ));
            continue;
        };
        for (op, line) in ops {
            actions
                .entry(format!("{prefix}:{}", pascal_case(&op)))
                .or_default()
                .push(format!("{path}:{line}"));
        }
    }
    if problems.is_empty() {
        Ok(actions)
    } else {
        Err(problems.join("\n"))
    }
}

/// The actions an IAM policy document allows. Every statement must `Allow` and name its
/// actions exactly (no wildcards), so the comparison with the code is exact.
fn policy_actions(doc: &str) -> Result<BTreeSet<String>, String> {
    let v: Value = serde_json::from_str(doc).map_err(|e| format!("not JSON: {e}"))?;
    if v["Version"] != "2012-10-17" {
        return Err("Version must be 2012-10-17".into());
    }
    let statements = match &v["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => return Err("no Statement".into()),
    };
    let mut out = BTreeSet::new();
    for st in &statements {
        if st["Effect"] != "Allow" {
            return Err(format!("statement {} is not Effect: Allow", st["Sid"]));
        }
        if st.get("Resource").is_none() {
            return Err(format!("statement {} has no Resource", st["Sid"]));
        }
        let actions = match &st["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("statement {}: non-string action", st["Sid"]))?,
            _ => return Err(format!("statement {} has no Action", st["Sid"])),
        };
        for a in actions {
            if a.contains('*') || a.contains('?') || !a.contains(':') {
                return Err(format!("action {a:?} must be an exact service:Action"));
            }
            if !out.insert(a.clone()) {
                return Err(format!("action {a} is granted twice"));
            }
        }
    }
    Ok(out)
}

/// Every way the code and the two policies disagree, one line each (empty: they agree).
fn disagreements(
    code: &BTreeMap<String, Vec<String>>,
    provision_only: &BTreeSet<String>,
    controller: &BTreeSet<String>,
    provision: &BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let at = |a: &str| code.get(a).map(|w| w.join(", ")).unwrap_or_default();
    for action in code.keys() {
        let in_c = controller.contains(action);
        let in_p = provision.contains(action);
        if !in_c && !in_p {
            out.push(format!(
                "{action}: called by the code ({}) but granted in neither {CONTROLLER_POLICY} nor {PROVISION_POLICY}",
                at(action)
            ));
        } else if provision_only.contains(action) && !in_p {
            out.push(format!(
                "{action}: provision-only (PROVISION_ONLY) but missing from {PROVISION_POLICY}"
            ));
        } else if !provision_only.contains(action) && !in_c {
            out.push(format!(
                "{action}: called by the controller ({}) but missing from {CONTROLLER_POLICY} (or add it to PROVISION_ONLY if only provisioning calls it)",
                at(action)
            ));
        }
    }
    for action in controller {
        if !code.contains_key(action) {
            out.push(format!(
                "{action}: granted in {CONTROLLER_POLICY} but the code never calls it"
            ));
        } else if provision_only.contains(action) {
            out.push(format!(
                "{action}: granted in {CONTROLLER_POLICY} but only provisioning calls it (PROVISION_ONLY): move it to {PROVISION_POLICY}"
            ));
        }
    }
    for action in provision {
        if !code.contains_key(action) {
            out.push(format!(
                "{action}: granted in {PROVISION_POLICY} but the code never calls it"
            ));
        } else if !provision_only.contains(action) {
            out.push(format!(
                "{action}: granted in {PROVISION_POLICY} but not in PROVISION_ONLY (the controller calls it: grant it in {CONTROLLER_POLICY})"
            ));
        }
    }
    for action in provision_only {
        if !code.contains_key(action) {
            out.push(format!(
                "{action}: listed in PROVISION_ONLY but the code never calls it"
            ));
        }
    }
    out
}

/// The production sources of `regionctl-aws`, relative paths with `/`, sorted.
fn aws_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, base, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p
                    .strip_prefix(base)
                    .expect("under the source root")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((
                    rel,
                    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
                ));
            }
        }
    }
    let base = root().join("crates/regionctl-aws/src");
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out
}

fn provision_only() -> BTreeSet<String> {
    PROVISION_ONLY
        .iter()
        .map(|(a, _)| (*a).to_string())
        .collect()
}

/// Checks `sources` against the two policy files in `deploy/`.
fn check(sources: &[(String, String)]) -> Vec<String> {
    let code = code_actions(sources).unwrap_or_else(|e| panic!("{e}"));
    let read = |p: &str| {
        let text = std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        policy_actions(&text).unwrap_or_else(|e| panic!("{p}: {e}"))
    };
    disagreements(
        &code,
        &provision_only(),
        &read(CONTROLLER_POLICY),
        &read(PROVISION_POLICY),
    )
}

#[test]
fn iam_policies_grant_exactly_the_operations_the_code_calls() {
    let sources = aws_sources();
    let code = code_actions(&sources).unwrap_or_else(|e| panic!("{e}"));
    // The scanner must see every service module (guards against it silently finding nothing).
    for (_, prefix) in SERVICE_PREFIXES {
        assert!(
            code.keys().any(|a| a.starts_with(&format!("{prefix}:"))),
            "no {prefix} operation found: is the scanner still matching the code?"
        );
    }
    let problems = check(&sources);
    assert!(
        problems.is_empty(),
        "IAM policies and code disagree ({} problem(s)):\n  {}\n\nThe code calls:\n  {}",
        problems.len(),
        problems.join("\n  "),
        code.iter()
            .map(|(a, w)| format!("{a} ({})", w.join(", ")))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

#[test]
fn iam_an_sdk_call_added_without_its_permission_fails_the_check() {
    // A scratch copy of the real sources with one more DynamoDB operation in production code.
    let mut sources = aws_sources();
    let (_, ddb) = sources
        .iter_mut()
        .find(|(p, _)| p == "dynamodb.rs")
        .unwrap();
    let cut = ddb.find("\n#[cfg(test)]\n").unwrap_or(ddb.len());
    ddb.insert_str(
        cut,
        "\nimpl JournalStore {\n    pub async fn drop_it(&self) {\n        let _ = self\n            .client\n            .delete_table()\n            .send()\n            .await;\n    }\n}\n",
    );
    let problems = check(&sources);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("dynamodb:DeleteTable: called by the code (dynamodb.rs:")
            && problems[0].contains("granted in neither"),
        "{problems:#?}"
    );
}

#[test]
fn iam_extractor_reports_both_directions_on_inline_source() {
    let source = r#"
impl CloudWatchClient {
    // self.client.delete_dashboards() in a comment is not a call
    async fn a(&self) { self.client.describe_alarms().send().await }
    async fn b(&self) {
        let req = self
            .client
            .delete_alarms()
            .alarm_names("x");
        let conf = self.client.config().clone();
        let s = "https://self.client.list_metrics()";
    }
}

#[cfg(test)]
mod tests {
    fn t(&self) { self.client.put_dashboard(); }
}
"#;
    let sources = vec![
        ("cloudwatch.rs".to_string(), source.to_string()),
        (
            "route53/tests.rs".to_string(),
            "self.client.delete_hosted_zone()".to_string(),
        ),
    ];
    let code = code_actions(&sources).unwrap();
    // The string literal is code to a regex-level scanner: it is found. Comments, test
    // modules, `tests.rs` and `Client::config` are not.
    assert_eq!(
        code.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "cloudwatch:DeleteAlarms",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:ListMetrics"
        ]
    );
    assert_eq!(code["cloudwatch:DeleteAlarms"], ["cloudwatch.rs:8"]);

    let controller = policy_actions(
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms", "cloudwatch:ListMetrics", "cloudwatch:PutDashboard"],
            "Resource": "*"}]}"#,
    )
    .unwrap();
    let problems = disagreements(&code, &BTreeSet::new(), &controller, &BTreeSet::new());
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with("cloudwatch:DeleteAlarms: called by the code (cloudwatch.rs:8)")
    );
    assert!(problems[1].starts_with(
        "cloudwatch:PutDashboard: granted in deploy/iam-policy.json but the code never calls it"
    ));

    // Provision-only operations must be in the provision document, and only there.
    let only: BTreeSet<String> = ["cloudwatch:DeleteAlarms".to_string()].into();
    let provision: BTreeSet<String> = ["cloudwatch:DeleteAlarms".to_string()].into();
    let mut controller = controller;
    controller.remove("cloudwatch:PutDashboard");
    assert!(disagreements(&code, &only, &controller, &provision).is_empty());
    controller.insert("cloudwatch:DeleteAlarms".into());
    let problems = disagreements(&code, &only, &controller, &provision);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("only provisioning calls it"));
}

#[test]
fn iam_extractor_rejects_unknown_client_fields_and_files() {
    let hidden = "struct X { inner: aws_sdk_sqs::Client }\nfn f(x: &X) { x.inner.purge_queue(); }";
    let err = code_actions(&[("sqs.rs".into(), hidden.into())]).unwrap_err();
    assert!(err.contains("`inner`"), "{err}");
    let stray = "fn f(&self) { self.client.list_tables(); }";
    let err = code_actions(&[("journal2.rs".into(), stray.into())]).unwrap_err();
    assert!(err.contains("no IAM service prefix"), "{err}");
    assert!(policy_actions(r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}}"#).is_err());
}
