//! `regionctl gameday --target aws` against moto (the only AWS this machine may talk to):
//! its guardrails, and the chaos metric it publishes and rolls back.
//!
//! Goal: a real-account game-day refuses everything unsafe before touching anything (exit
//! 2), and an allowed run fails exactly the targeted alarms through their chaos metric and
//! publishes 0 for every one of them at the end, also when interrupted. Method: provision the
//! moto fixture policies (whose alarms `provision` creates as metric-math alarms reading the
//! chaos metric), run the binary with `--endpoint-url` (test-only), and read the chaos metric
//! back with GetMetricData.
//!
//! What this cannot show: moto never evaluates alarms, so no alarm here turns ALARM because
//! of the chaos metric and no controller evacuates anything; the verdict of a real region
//! loss on `--target aws` can only be observed on a real account (docs/OPERATIONS.md).

use crate::harness;
use crate::moto::{Fixture, ok, regionctl};
use regionctl_aws::cloudwatch::{AlarmEvaluation, AlarmSpec, CloudWatchClient, MetricQuery};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// moto's account id (what STS GetCallerIdentity returns there).
const MOTO_ACCOUNT: &str = "123456789012";

fn gameday(scenario: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["gameday", scenario.to_str().expect("utf-8 path")];
    args.extend(["--target", "aws"]);
    args.extend(extra);
    regionctl(&args)
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts the run was refused (exit 2, nothing changed) saying `why`; returns its output.
fn refused(out: &Output, why: &str) -> String {
    let t = text(out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains(why), "expected `{why}` in:\n{t}");
    assert!(t.contains("nothing was changed"), "{t}");
    t
}

/// Starts `regionctl gameday SCENARIO --target aws` on moto with piped output.
fn spawn_gameday(scenario: &Path, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_regionctl"))
        .arg("gameday")
        .arg(scenario)
        .args(["--target", "aws", "--confirm-account", MOTO_ACCOUNT])
        .args(["--endpoint-url", harness::endpoint()])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start regionctl gameday")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// A scenario over `policies`: an alarm fault on eu-central-1 from `fault_at` to
/// `recover_at` seconds, `duration` seconds long, allowed in `accounts`.
fn scenario(dir: &Path, policies: &Path, accounts: &str, timing: (u32, u32, u32)) -> PathBuf {
    let (fault_at, recover_at, duration) = timing;
    let path = dir.join(format!("aws-{fault_at}-{recover_at}-{duration}.yaml"));
    let yaml = format!(
        "apiVersion: regionctl/v1
kind: GameDay
name: aws-chaos
world:
  policies: {}
  duration: {duration}s
timeline:
  - {{at: {fault_at}s, id: euc1-alarms, what: alarm, where: {{region: eu-central-1}}, state: ALARM}}
  - {{at: {recover_at}s, what: recover, faults: [euc1-alarms]}}
expect:
  - {{id: nothing-decided, kind: decisions, service: playback, at_most: 0}}
guardrails:
  accounts: [{accounts}]
  regions: [eu-central-1, eu-west-1, us-east-1]
",
        policies.display()
    );
    std::fs::write(&path, yaml).expect("write scenario");
    path
}

/// The chaos metric of one alarm as 1-second buckets `(timestamp ms, value)`, oldest first.
async fn chaos_series(region: &str, service: &str, alarm: &str, since_ms: i64) -> Vec<(i64, f64)> {
    let cw = CloudWatchClient::new(&harness::sdk(region).await);
    let m = regionctl::chaos::metric(service, region, alarm);
    let query = |stat: &str| MetricQuery {
        namespace: m.namespace.clone(),
        metric_name: m.metric_name.clone(),
        dimensions: m.dimensions.clone(),
        stat: stat.into(),
        period_s: 1,
    };
    let mut max = cw
        .get_metric_data(&query("Maximum"), since_ms, now_ms() + 5_000)
        .await
        .expect("GetMetricData");
    let min = cw
        .get_metric_data(&query("Minimum"), since_ms, now_ms() + 5_000)
        .await
        .expect("GetMetricData");
    max.sort_by_key(|p| p.0);
    // The newest bucket by its minimum: a bucket that holds the last 1 and the rollback 0
    // still ends at 0.
    if let (Some(last), Some(newest_min)) = (max.last_mut(), min.iter().max_by_key(|p| p.0)) {
        last.1 = newest_min.1;
    }
    max
}

async fn provisioned(label: &str) -> Fixture {
    let fx = Fixture::new(label).await;
    let endpoint = harness::endpoint();
    let dir = fx.dir.to_str().expect("utf-8 path");
    let out = ok(&regionctl(&[
        "provision",
        "--policies",
        dir,
        "--endpoint-url",
        endpoint,
    ]));
    assert!(out.contains("alarm(s)"), "{out}");
    fx
}

#[test]
fn refuses_without_confirmation_and_with_faults_a_real_account_cannot_take() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = root.join("chaos/region-loss-moto.yaml");

    // No --confirm-account: refused before the scenario is even read.
    let out = gameday(&scenario, &["--endpoint-url", "http://127.0.0.1:9"]);
    refused(&out, "pass --confirm-account ACCOUNT_ID");

    // A non-loopback endpoint is not a test endpoint.
    let aws = "https://monitoring.eu-central-1.amazonaws.com";
    let out = gameday(
        &scenario,
        &["--confirm-account", MOTO_ACCOUNT, "--endpoint-url", aws],
    );
    refused(&out, "for tests against a local moto");

    // The moto scenario fails endpoints and expects a stand-down: each entry is named. The
    // port is closed: nothing may be called before the refusal.
    let closed = "http://127.0.0.1:9";
    let out = gameday(
        &scenario,
        &["--confirm-account", MOTO_ACCOUNT, "--endpoint-url", closed],
    );
    let t = refused(
        &out,
        "timeline[0] (euc1-endpoints): `endpoints-fail` cannot be injected",
    );
    assert!(t.contains("expect[7]: `stand-down`"), "{t}");
    assert!(
        t.contains("expect[3]: `ecs-desired` reads ECS or ELB"),
        "{t}"
    );
    assert!(
        !t.contains("timeline[1]"),
        "the alarm fault is injectable: {t}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_guardrails_and_alarm_wiring_are_checked_against_the_account() {
    let fx = provisioned("gdaws-guard").await;
    let endpoint = harness::endpoint().to_string();
    let scratch = fx.dir.with_extension("scenarios");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let run = |path: &Path, account: &str| {
        gameday(
            path,
            &["--confirm-account", account, "--endpoint-url", &endpoint],
        )
    };

    // The policies touch us-east-1 (a service region, a controller, the journal), which
    // this allow-list leaves out; the scenario itself only names the other two.
    let narrow = scratch.join("narrow.yaml");
    std::fs::write(
        &narrow,
        std::fs::read_to_string(scenario(&scratch, &fx.dir, "\"123456789012\"", (1, 2, 3)))
            .expect("read scenario")
            .replace(
                "regions: [eu-central-1, eu-west-1, us-east-1]",
                "regions: [eu-central-1, eu-west-1]",
            )
            .replace(
                "world:\n",
                "world:\n  controllers: [eu-central-1, eu-west-1]\n",
            ),
    )
    .expect("write scenario");
    refused(
        &run(&narrow, MOTO_ACCOUNT),
        "touch us-east-1, not in guardrails.regions (eu-central-1, eu-west-1)",
    );

    // moto's account is not in the allow-list.
    let other = scenario(&scratch, &fx.dir, "\"111111111111\"", (1, 2, 3));
    refused(
        &run(&other, MOTO_ACCOUNT),
        "account 123456789012 is not in guardrails.accounts (111111111111)",
    );
    // Confirmed and allowed, but the credentials are moto's account: STS says no.
    refused(
        &run(&other, "111111111111"),
        "the credentials belong to account 123456789012",
    );

    // An alarm replaced by a plain metric alarm no longer reads its chaos metric: refused.
    let allowed = scenario(&scratch, &fx.dir, "\"123456789012\"", (1, 2, 3));
    let cw = CloudWatchClient::new(&harness::sdk("eu-central-1").await);
    let auth = format!("{}-auth-eu-central-1-5xx", fx.prefix);
    cw.put_metric_alarm(&AlarmSpec {
        name: auth.clone(),
        namespace: "regionctl/service-health".into(),
        metric_name: "Errors".into(),
        dimensions: vec![("Service".into(), "auth".into())],
        statistic: "Sum".into(),
        period_s: 60,
        evaluation: AlarmEvaluation {
            periods: 3,
            datapoints_to_alarm: 2,
            threshold: 10.0,
            comparison: "GreaterThanThreshold".into(),
            treat_missing_data: "missing".into(),
        },
    })
    .await
    .expect("replace the alarm");
    refused(
        &run(&allowed, MOTO_ACCOUNT),
        &format!("alarm {auth} in eu-central-1 does not read its chaos metric"),
    );
    let untouched = chaos_series(
        "eu-central-1",
        "playback",
        &format!("{}-playback-eu-central-1-5xx", fx.prefix),
        now_ms() - 600_000,
    )
    .await;
    assert!(
        untouched.is_empty(),
        "a refused run published {untouched:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_run_publishes_the_chaos_metric_for_the_targeted_alarms_and_rolls_it_back() {
    let fx = provisioned("gdaws-run").await;
    let endpoint = harness::endpoint().to_string();
    let scratch = fx.dir.with_extension("scenarios");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let report = scratch.join("report");
    let started_ms = now_ms() - 2_000;
    let path = scenario(&scratch, &fx.dir, "\"123456789012\"", (1, 5, 7));
    let out = gameday(
        &path,
        &[
            "--confirm-account",
            MOTO_ACCOUNT,
            "--endpoint-url",
            &endpoint,
            "--route53-sample-secs",
            "2",
            "--report",
            report.to_str().expect("utf-8 path"),
        ],
    );
    let t = text(&out);
    // No controller runs here, so nothing is decided: the one expectation holds.
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("on AWS account 123456789012"), "{t}");
    assert!(
        t.contains("fault euc1-alarms: chaos metric 1 for 3 alarm(s) in eu-central-1"),
        "{t}"
    );
    assert!(
        t.contains("recover euc1-alarms: chaos metric 0 for 3 alarm(s)"),
        "{t}"
    );
    assert!(t.contains("rollback: chaos metric 0 for 3 alarm(s)"), "{t}");

    for svc in ["playback", "auth", "catalog"] {
        let alarm = format!("{}-{svc}-eu-central-1-5xx", fx.prefix);
        let series = chaos_series("eu-central-1", svc, &alarm, started_ms).await;
        assert!(
            series.iter().any(|(_, v)| *v == 1.0),
            "{alarm}: no 1 published: {series:?}"
        );
        assert_eq!(
            series.last().map(|p| p.1),
            Some(0.0),
            "{alarm}: the last value is not the rollback 0: {series:?}"
        );
    }
    // Other regions' alarms are not targeted.
    let alarm = format!("{}-playback-eu-west-1-5xx", fx.prefix);
    let series = chaos_series("eu-west-1", "playback", &alarm, started_ms).await;
    assert!(series.is_empty(), "{alarm} was touched: {series:?}");

    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    assert_eq!(json["target"], "aws");
    assert_eq!(json["rolled_back"], true, "{json}");
    assert_eq!(
        json["chaos_alarms"].as_array().map(Vec::len),
        Some(3),
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_still_rolls_the_chaos_metric_back() {
    let fx = provisioned("gdaws-int").await;
    let scratch = fx.dir.with_extension("scenarios");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let started_ms = now_ms() - 2_000;
    // The fault would hold for ten minutes; Ctrl-C comes a few seconds in.
    let path = scenario(&scratch, &fx.dir, "\"123456789012\"", (1, 600, 900));
    let report = scratch.join("report");
    let mut child = spawn_gameday(&path, &["--report", report.to_str().expect("utf-8 path")]);
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = lines
            .next()
            .expect("the game-day printed the fault before ending")
            .expect("read stdout");
        seen.push(line.clone());
        if line.contains("fault euc1-alarms") {
            break;
        }
        assert!(Instant::now() < deadline, "no fault line: {seen:?}");
    }
    // Let at least one publication land, then interrupt as Ctrl-C would.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().expect("game-day ends");
    let all = format!(
        "{}\n{}\nstderr:\n{}",
        seen.join("\n"),
        rest.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("ABORTED: interrupted (Ctrl-C)"), "{all}");
    assert!(
        all.contains("rollback: chaos metric 0 for 3 alarm(s)"),
        "{all}"
    );
    let alarm = format!("{}-playback-eu-central-1-5xx", fx.prefix);
    let series = chaos_series("eu-central-1", "playback", &alarm, started_ms).await;
    assert!(series.iter().any(|(_, v)| *v == 1.0), "{series:?}");
    assert_eq!(series.last().map(|p| p.1), Some(0.0), "{series:?}");
}

/// Goal: the verdict plumbing of `--target aws` (local controllers, Route 53 sampling,
/// decisions from the journal, verdict and exit code) works end to end.
///
/// Method, with a **moto stand-in for alarm evaluation**: moto never evaluates the
/// metric-math alarms, so when the game-day prints that it started (and later stopped)
/// publishing the chaos metric, this test does what CloudWatch would do 2–3 minutes later on
/// a real account: it sets those alarms to ALARM (and back to OK) with SetAlarmState. Only
/// that step is simulated; the controllers are real `regionctl run` processes started by
/// `--local-controllers`, and the verdict is the binary's own. Alarms alone make a region
/// *degraded*, not *down* (no probe says it is unreachable), so its controller keeps acting:
/// the stand-down expectation checks, through each controller's `/status`, that it never
/// stood down because its own region was down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verdict_plumbing_with_local_controllers_and_a_moto_stand_in_for_alarm_evaluation() {
    let fx = provisioned("gdaws-verdict").await;
    let scratch = fx.dir.with_extension("scenarios");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let path = scratch.join("verdict.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: regionctl/v1
kind: GameDay
name: aws-verdict
world:
  policies: {}
  duration: 60s
timeline:
  - {{at: 3s, id: euc1-alarms, what: alarm, where: {{region: eu-central-1}}, state: ALARM}}
  - {{at: 50s, id: euc1-back, what: recover, faults: [euc1-alarms]}}
expect:
  - {{id: playback-off-euc1, kind: traffic, service: playback, region: eu-central-1, at_most: 0, within: 40s, after: euc1-alarms, until: euc1-back}}
  - {{id: evacuation-recorded, kind: decision, service: playback, reason_contains: eu-central-1 is degraded, status: applied, within: 40s, after: euc1-alarms}}
  - {{id: euc1-keeps-acting, kind: stand-down, region: eu-central-1, stood_down: false, reason_contains: own region, after: euc1-alarms}}
guardrails:
  accounts: [\"123456789012\"]
  regions: [eu-central-1, eu-west-1, us-east-1]
",
            fx.dir.display()
        ),
    )
    .expect("write scenario");
    let report = scratch.join("report");
    let mut child = spawn_gameday(
        &path,
        &[
            "--local-controllers",
            "--route53-sample-secs",
            "1",
            "--report",
            report.to_str().expect("utf-8 path"),
        ],
    );
    let stdout = child.stdout.take().expect("stdout");
    let cw = CloudWatchClient::new(&harness::sdk("eu-central-1").await);
    let alarms: Vec<String> = ["playback", "auth", "catalog"]
        .iter()
        .map(|s| format!("{}-{s}-eu-central-1-5xx", fx.prefix))
        .collect();
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let state = if line.contains("fault euc1-alarms: chaos metric 1") {
            Some(regionctl_aws::types::AlarmState::Alarm)
        } else if line.contains("recover euc1-alarms: chaos metric 0") {
            Some(regionctl_aws::types::AlarmState::Ok)
        } else {
            None
        };
        if let Some(state) = state {
            for a in &alarms {
                cw.set_alarm_state(a, state, "moto stand-in for CloudWatch evaluation")
                    .await
                    .expect("SetAlarmState");
            }
        }
        seen.push(line);
    }
    let out = child.wait_with_output().expect("game-day ends");
    let all = format!(
        "{}\nstderr:\n{}",
        seen.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("Verdict: PASS (3/3 expectations met); expected PASS → game-day PASSED"),
        "{all}"
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("us-east-1 (local processes)"), "{all}");
}
