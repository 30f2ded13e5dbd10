//! Least-privilege IAM: the policy documents `regionctl iam` generates from the example
//! policies grant exactly the AWS actions the code calls, no more and no fewer, and
//! `deploy/` holds exactly those documents.
//!
//! - controller (`deploy/iam-policy.json`): the running controller (`regionctl run`).
//! - operator (`deploy/iam-policy-operator.json`): the operator commands ([`OPERATOR`]).
//! - provision (`deploy/iam-policy-provision.json`) and gameday
//!   (`deploy/iam-policy-gameday.json`): everything else the code can call: `provision`
//!   (sandbox accounts), game-day drills, and library helpers with no production caller.
//!   [`PROVISION_ONLY`] lists those operations and who calls them; [`GAMEDAY`] what
//!   `gameday --target aws` calls.
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

/// Operations the running controller never calls, with the functions that do: the provision
/// document grants exactly these and [`PROVISION_SHARED`]. Every operation in neither this
/// list nor [`GAMEDAY_ONLY`] belongs in the controller's document. (Controller paths:
/// `crates/regionctl-aws/src/world/` and `src/daemon/`.)
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
];

/// Operations the controller also calls that provisioning calls too, with who: the provision
/// document is self-contained.
const PROVISION_SHARED: &[(&str, &str)] = &[
    (
        "route53:ListResourceRecordSets",
        "provision: existing records, the records a switch guards",
    ),
    (
        "route53:ChangeResourceRecordSets",
        "provision: CREATE the records, UPSERT them with their switch",
    ),
    (
        "route53:GetChange",
        "Route53Client::apply_changes: provision",
    ),
    (
        "cloudwatch:PutMetricData",
        "provision: start the switches on (switch namespaces)",
    ),
    (
        "cloudwatch:GetMetricData",
        "provision: which switches were published already",
    ),
    (
        "ecs:DescribeServices",
        "provision: which ECS services exist already",
    ),
];

/// Operations only `gameday --target aws` calls, with who: never the controller's.
const GAMEDAY_ONLY: &[(&str, &str)] = &[(
    "sts:GetCallerIdentity",
    "StsClient::caller_identity: gameday --target aws (account guardrail)",
)];

/// Operations the controller and `provision` call only for policies that name a hosted
/// zone by domain (ADR 0017), so not in the documents of the example bundle, which names
/// its zones by id. `regionctl iam` adds them for a bundle that does (the moto test
/// `zones_by_name` checks it).
const ZONES_BY_NAME: &[(&str, &str)] = &[
    (
        "route53:ListHostedZonesByName",
        "Route53Client::find_zone: run, provision, iam, game-days",
    ),
    (
        "route53:GetHostedZone",
        "Route53Client::find_zone: a private zone's VPCs",
    ),
];

/// What the operator commands (`src/cli/ops.rs`) call, with who: exactly the operator
/// document's actions.
const OPERATOR: &[(&str, &str)] = &[
    (
        "dynamodb:PutItem",
        "pause, resume, override, approve (Journal::put)",
    ),
    ("dynamodb:Query", "status, explain (Journal::query)"),
];

/// What `gameday --target aws` (`src/gameday/aws/`, `src/gameday/observe.rs`) calls, with
/// who: exactly the gameday document's actions.
const GAMEDAY: &[(&str, &str)] = &[
    (
        "sts:GetCallerIdentity",
        "StsClient::caller_identity: the account guardrail",
    ),
    (
        "cloudwatch:DescribeAlarms",
        "guardrails and the chaos publisher: the targeted alarms exist and read the chaos metric",
    ),
    (
        "cloudwatch:PutMetricData",
        "the chaos publisher (regionctl/chaos)",
    ),
    (
        "route53:ListResourceRecordSets",
        "Observer: the weights, as traffic",
    ),
    ("dynamodb:Query", "Observer: the decisions"),
];

/// The account the example bundle's ARNs name: `deploy/` is generated for it.
const EXAMPLE_ACCOUNT: &str = "123456789012";

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
            // An action may be granted by several statements (one per hosted zone, say).
            out.insert(a);
        }
    }
    Ok(out)
}

/// The actions each generated document grants.
#[derive(Debug, Clone, Default)]
struct Granted {
    controller: BTreeSet<String>,
    operator: BTreeSet<String>,
    provision: BTreeSet<String>,
    gameday: BTreeSet<String>,
}

/// What the lists above say each role calls.
#[derive(Debug, Clone, Default)]
struct Lists {
    provision_only: BTreeSet<String>,
    zones_by_name: BTreeSet<String>,
    provision_shared: BTreeSet<String>,
    gameday_only: BTreeSet<String>,
    gameday: BTreeSet<String>,
    operator: BTreeSet<String>,
}

fn set(list: &[(&str, &str)]) -> BTreeSet<String> {
    list.iter().map(|(a, _)| (*a).to_string()).collect()
}

impl Lists {
    fn of_this_file() -> Lists {
        Lists {
            provision_only: set(PROVISION_ONLY),
            zones_by_name: set(ZONES_BY_NAME),
            provision_shared: set(PROVISION_SHARED),
            gameday_only: set(GAMEDAY_ONLY),
            gameday: set(GAMEDAY),
            operator: set(OPERATOR),
        }
    }
}

/// One line per action `granted` (the `role` document, `deploy/{file}`) and `expected` do
/// not share; `how` says what the expectation is made of.
fn differences(
    role: &str,
    file: &str,
    granted: &BTreeSet<String>,
    expected: &BTreeSet<String>,
    how: &str,
    at: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    for action in expected.difference(granted) {
        out.push(format!(
            "{action}: called by the code ({}) but missing from the {role} document (deploy/{file}; expected: {how})",
            at(action)
        ));
    }
    for action in granted.difference(expected) {
        out.push(format!(
            "{action}: granted in the {role} document (deploy/{file}) but not expected there ({how})"
        ));
    }
    out
}

/// Every way the code, the lists and the generated documents disagree, one line each
/// (empty: they agree).
fn disagreements(
    code: &BTreeMap<String, Vec<String>>,
    lists: &Lists,
    granted: &Granted,
) -> Vec<String> {
    let mut out = Vec::new();
    let at = |a: &str| code.get(a).map(|w| w.join(", ")).unwrap_or_default();
    let called: BTreeSet<String> = code.keys().cloned().collect();
    // Nothing granted or listed that the code never calls.
    for (name, actions) in [
        ("the controller document", &granted.controller),
        ("the operator document", &granted.operator),
        ("the provision document", &granted.provision),
        ("the gameday document", &granted.gameday),
        ("PROVISION_ONLY", &lists.provision_only),
        ("ZONES_BY_NAME", &lists.zones_by_name),
        ("PROVISION_SHARED", &lists.provision_shared),
        ("GAMEDAY_ONLY", &lists.gameday_only),
        ("GAMEDAY", &lists.gameday),
        ("OPERATOR", &lists.operator),
    ] {
        for action in actions.difference(&called) {
            out.push(format!(
                "{action}: granted in or listed in {name} but the code never calls it"
            ));
        }
    }
    let not_controller: BTreeSet<String> = lists
        .provision_only
        .iter()
        .chain(&lists.gameday_only)
        .chain(&lists.zones_by_name)
        .cloned()
        .collect();
    let controller: BTreeSet<String> = called.difference(&not_controller).cloned().collect();
    out.extend(differences(
        "controller",
        "iam-policy.json",
        &granted.controller,
        &controller,
        "every call but PROVISION_ONLY, GAMEDAY_ONLY and ZONES_BY_NAME; add an operation only provisioning or tests call to PROVISION_ONLY",
        at,
    ));
    for action in lists.provision_shared.intersection(&not_controller) {
        out.push(format!(
            "{action}: in PROVISION_SHARED, so the controller calls it, but also in PROVISION_ONLY or GAMEDAY_ONLY"
        ));
    }
    let provision: BTreeSet<String> = lists
        .provision_only
        .union(&lists.provision_shared)
        .cloned()
        .collect();
    out.extend(differences(
        "provision",
        "iam-policy-provision.json",
        &granted.provision,
        &provision,
        "PROVISION_ONLY and PROVISION_SHARED",
        at,
    ));
    for action in lists.gameday_only.difference(&lists.gameday) {
        out.push(format!("{action}: in GAMEDAY_ONLY but not in GAMEDAY"));
    }
    out.extend(differences(
        "gameday",
        "iam-policy-gameday.json",
        &granted.gameday,
        &lists.gameday,
        "GAMEDAY",
        at,
    ));
    out.extend(differences(
        "operator",
        "iam-policy-operator.json",
        &granted.operator,
        &lists.operator,
        "OPERATOR",
        at,
    ));
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

/// Runs `regionctl iam` on the example policies with `args`.
fn regionctl_iam(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .args([
            "iam",
            "--policies",
            "policies",
            "--account",
            EXAMPLE_ACCOUNT,
        ])
        .args(args)
        .current_dir(root())
        .output()
        .expect("the regionctl binary runs");
    assert!(
        out.status.success(),
        "regionctl iam {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Every role's generated documents (the parts of its policy) for the example policies, by
/// role name.
fn generated() -> &'static BTreeMap<String, Value> {
    static DOCS: std::sync::OnceLock<BTreeMap<String, Value>> = std::sync::OnceLock::new();
    DOCS.get_or_init(|| {
        serde_json::from_str(&regionctl_iam(&[])).expect("regionctl iam prints a JSON object")
    })
}

/// The actions of every role's generated documents.
fn granted(docs: &BTreeMap<String, Value>) -> Granted {
    let actions = |role: &str| {
        let parts = docs[role]
            .as_array()
            .unwrap_or_else(|| panic!("no {role} documents"));
        let mut all = BTreeSet::new();
        for doc in parts {
            all.extend(policy_actions(&doc.to_string()).unwrap_or_else(|e| panic!("{role}: {e}")));
        }
        all
    };
    Granted {
        controller: actions("controller"),
        operator: actions("operator"),
        provision: actions("provision"),
        gameday: actions("gameday"),
    }
}

/// Checks `sources` against the documents `regionctl iam` generates.
fn check(sources: &[(String, String)]) -> Vec<String> {
    let code = code_actions(sources).unwrap_or_else(|e| panic!("{e}"));
    disagreements(&code, &Lists::of_this_file(), &granted(generated()))
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
            && problems[0].contains("missing from the controller document"),
        "{problems:#?}"
    );
}

#[test]
fn iam_a_permission_the_code_never_uses_fails_the_check() {
    // The generated documents with one more action in the controller's and the operator's.
    let code = code_actions(&aws_sources()).unwrap_or_else(|e| panic!("{e}"));
    let mut docs = generated().clone();
    for role in ["controller", "operator"] {
        let statements = docs
            .get_mut(role)
            .and_then(|d| d[0]["Statement"].as_array_mut())
            .unwrap();
        statements[0]["Action"]
            .as_array_mut()
            .unwrap()
            .push("dynamodb:DeleteItem".into());
    }
    let problems = disagreements(&code, &Lists::of_this_file(), &granted(&docs));
    assert_eq!(
        problems,
        [
            "dynamodb:DeleteItem: granted in or listed in the controller document but the code never calls it",
            "dynamodb:DeleteItem: granted in or listed in the operator document but the code never calls it",
            "dynamodb:DeleteItem: granted in the controller document (deploy/iam-policy.json) but not expected there (every call but PROVISION_ONLY, GAMEDAY_ONLY and ZONES_BY_NAME; add an operation only provisioning or tests call to PROVISION_ONLY)",
            "dynamodb:DeleteItem: granted in the operator document (deploy/iam-policy-operator.json) but not expected there (OPERATOR)",
        ]
    );
    // An operation the controller calls, granted only to provisioning, fails too.
    let mut docs = generated().clone();
    for part in docs
        .get_mut("controller")
        .and_then(Value::as_array_mut)
        .unwrap()
    {
        let statements = part["Statement"].as_array_mut().unwrap();
        statements.retain(|s| s["Sid"] != "ConsumeAlarmQueue");
    }
    let problems = disagreements(&code, &Lists::of_this_file(), &granted(&docs));
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems
            .iter()
            .all(|p| p.starts_with("sqs:") && p.contains("missing from the controller document")),
        "{problems:#?}"
    );
}

/// The policy documents in `dir`: `iam-policy*.json`, by file name.
fn policy_files(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            (name.starts_with("iam-policy") && name.ends_with(".json")).then(|| {
                let text =
                    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                (name, text)
            })
        })
        .collect()
}

#[test]
fn iam_deploy_holds_the_generated_documents() {
    let dir = std::env::temp_dir().join(format!("regionctl-iam-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    regionctl_iam(&["--out-dir", dir.to_str().expect("UTF-8")]);
    let fresh = policy_files(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let shipped = policy_files(&root().join("deploy"));
    let regenerate = format!(
        "regenerate with\n  cargo run -- iam --policies policies --account {EXAMPLE_ACCOUNT} --out-dir deploy\n(delete deploy/iam-policy*.json first) and review the diff"
    );
    assert_eq!(
        shipped.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>(),
        "deploy/ holds other policy files than `regionctl iam` generates from policies/: {regenerate}"
    );
    for (name, text) in &fresh {
        assert!(
            shipped[name] == *text,
            "deploy/{name} is not what `regionctl iam` generates from policies/: {regenerate}"
        );
    }
    assert!(fresh.len() >= 4, "{:?}", fresh.keys());
}

/// `regionctl iam` with `args` in the repository root: exit code, stdout, stderr.
fn regionctl_iam_raw(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .arg("iam")
        .args(args)
        .current_dir(root())
        .output()
        .expect("the regionctl binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn iam_one_role_prints_its_parts_as_a_json_array() {
    for role in ["controller", "operator", "provision", "gameday"] {
        let printed: Value = serde_json::from_str(&regionctl_iam(&["--role", role]))
            .unwrap_or_else(|e| panic!("--role {role}: not JSON: {e}"));
        assert_eq!(printed, generated()[role], "--role {role}");
    }
    assert_eq!(generated()["operator"].as_array().map(Vec::len), Some(1));
}

#[test]
fn iam_refuses_an_unknown_role_a_bad_policy_dir_and_a_bundle_without_controller() {
    let (code, out, err) = regionctl_iam_raw(&["--policies", "policies", "--role", "admin"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("invalid value 'admin' for '--role <ROLE>'")
            && err.contains("controller, operator, provision, gameday"),
        "{err}"
    );

    let dir = std::env::temp_dir().join(format!("regionctl-iam-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let file = dir.join("playback.yaml");
    std::fs::write(
        &file,
        "apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata:\n  name: x\nspec:\n  bogus: 1\n",
    )
    .expect("a scratch policy");
    let (code, out, err) = regionctl_iam_raw(&["--policies", dir.to_str().expect("UTF-8")]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains(&format!("{}:", file.display())) && err.contains("policy bundle rejected"),
        "{err}"
    );

    // A bundle that loads but has no ControllerConfig: nothing to name the journal after.
    std::fs::remove_file(&file).expect("remove the scratch policy");
    std::fs::copy(root().join("policies/search.yaml"), dir.join("search.yaml"))
        .expect("copy one example policy");
    let (code, out, err) = regionctl_iam_raw(&["--policies", dir.to_str().expect("UTF-8")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("no ControllerConfig"), "{err}");
}

#[test]
fn iam_generated_documents_name_no_wildcard_aws_could_narrow() {
    use regionctl_aws::iam::document::NO_RESOURCE_TYPE;
    let parts = generated()
        .iter()
        .flat_map(|(role, docs)| docs.as_array().unwrap().iter().map(move |d| (role, d)));
    for (role, doc) in parts {
        for st in doc["Statement"].as_array().unwrap() {
            for resource in st["Resource"].as_array().unwrap() {
                let resource = resource.as_str().unwrap();
                if resource == "*" {
                    for action in st["Action"].as_array().unwrap() {
                        assert!(
                            NO_RESOURCE_TYPE.contains(&action.as_str().unwrap()),
                            "{role} {}: {action} on *, but it has a resource type",
                            st["Sid"]
                        );
                    }
                } else {
                    assert!(
                        !resource.contains(":*:"),
                        "{role} {}: {resource} names any account",
                        st["Sid"]
                    );
                }
            }
        }
    }
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
    let only_controller = |controller: &BTreeSet<String>| Granted {
        controller: controller.clone(),
        ..Granted::default()
    };
    let problems = disagreements(&code, &Lists::default(), &only_controller(&controller));
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert_eq!(
        problems[0],
        "cloudwatch:PutDashboard: granted in or listed in the controller document but the code never calls it"
    );
    assert!(problems[1].starts_with(
        "cloudwatch:DeleteAlarms: called by the code (cloudwatch.rs:8) but missing from the controller document"
    ));
    assert!(problems[2].starts_with(
        "cloudwatch:PutDashboard: granted in the controller document (deploy/iam-policy.json) but not expected there"
    ));

    // Provision-only operations must be in the provision document, and only there.
    let lists = Lists {
        provision_only: ["cloudwatch:DeleteAlarms".to_string()].into(),
        ..Lists::default()
    };
    let mut granted = only_controller(&controller);
    granted.controller.remove("cloudwatch:PutDashboard");
    granted.provision = ["cloudwatch:DeleteAlarms".to_string()].into();
    assert!(disagreements(&code, &lists, &granted).is_empty());
    granted.controller.insert("cloudwatch:DeleteAlarms".into());
    let problems = disagreements(&code, &lists, &granted);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("cloudwatch:DeleteAlarms: granted in the controller document")
            && problems[0].contains("every call but PROVISION_ONLY"),
        "{problems:#?}"
    );
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
