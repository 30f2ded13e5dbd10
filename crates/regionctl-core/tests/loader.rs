//! Loader diagnostics: every problem at once, each with file, line, column, field and a
//! hint; syntax errors with positions; size, nesting and alias limits as clean errors.
//! Expected positions are found in the test's own text, not copied from a run.

#![allow(clippy::unwrap_used)] // tests may unwrap

use regionctl_core::policy::yaml::{MAX_ALIASES, MAX_DEPTH, MAX_DOCUMENTS, MAX_FILE_BYTES};
use regionctl_core::policy::{Diagnostic, Severity, SourceFile, load};

const ALPHA: &str = r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: alpha
  ownr: team-a
spec:
  tier: 2
  strategy: active-active
  depends_on: [beta]
  regions:
    - name: eu-central-1
      weight: 100
    - name: eu-west-1
      weight: 300
  cells:
    dimensions:
      - name: geo
        values: [eu, na]
    serving:
      - tiers:
          - [eu-centrl-1, eu-west-1]
  health:
    alarms:
      - name: "alpha-{region}-5xx"
  routing:
    hosted_zone_id: Z0ALPHAEXAMPLE0001
    record_name: "{cell}.alpha.example.com"
    set_identifier: "{cell}"
    value: "alpha.{region}.example.com"
    geolocation:
      record_name: alpha.example.com
      rules:
        - {continent: EU, cell: eu}
        - {continent: NA, cell: na}
  safety:
    min_healthy_regions: 5
    max_shift_percent_per_step: 0
"#;

const BETA: &str = r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: beta
spec:
  tier: 3
  strategy: active-active
  depends_on: [alpha]
  regions:
    - name: eu-central-1
      weight: 50
    - name: eu-west-1
      weight: 50
  health:
    alarms:
      - name: "beta-{region}-5xx"
  routing:
    hosted_zone_id: Z0BETAEXAMPLE00001
    record_name: "beta.example.com"
    value: "beta.{region}.example.com"
"#;

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        text: text.into(),
    }
}

fn errors(files: &[SourceFile]) -> Vec<Diagnostic> {
    match load(files) {
        Ok(_) => panic!("the bundle must be rejected"),
        Err(d) => {
            assert!(
                d.iter().any(Diagnostic::is_error),
                "rejected without an error: {d:#?}"
            );
            d
        }
    }
}

/// 1-based (line, column) of the `nth` occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str, nth: usize) -> (u32, u32) {
    let at = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in text"))
        .0;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (u32::try_from(line).unwrap(), u32::try_from(col).unwrap())
}

fn find<'a>(d: &'a [Diagnostic], file: &str, field: &str) -> &'a Diagnostic {
    d.iter()
        .find(|x| x.file == file && x.field == field && x.is_error())
        .unwrap_or_else(|| panic!("no error at {file} `{field}`; got:\n{}", render(d)))
}

fn render(d: &[Diagnostic]) -> String {
    d.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn at(d: &Diagnostic) -> (u32, u32) {
    (
        d.line.unwrap_or_else(|| panic!("no line: {d}")),
        d.column.unwrap_or_else(|| panic!("no column: {d}")),
    )
}

#[test]
fn every_problem_is_reported_at_once() {
    let files = [
        file("policies/alpha.yaml", ALPHA),
        file("policies/beta.yaml", BETA),
    ];
    let d = errors(&files);
    let a = "policies/alpha.yaml";

    // Unknown field, with a did-you-mean hint.
    let x = find(&d, a, "metadata.ownr");
    assert!(x.message.contains("ownr"), "{x}");
    assert!(
        x.hint.as_deref().is_some_and(|h| h.contains("owner")),
        "{x}"
    );
    assert_eq!(at(x), pos(ALPHA, "ownr", 0));

    // Weight out of Route 53's range.
    let x = find(&d, a, "spec.regions[1].weight");
    assert!(x.message.contains("300"), "{x}");
    assert!(x.hint.as_deref().is_some_and(|h| h.contains("255")), "{x}");
    assert_eq!(at(x), pos(ALPHA, "weight: 300", 0));

    // Unknown region in the failover tiers, with a suggestion.
    let x = find(&d, a, "spec.cells.serving[0].tiers[0][0]");
    assert!(x.message.contains("eu-centrl-1"), "{x}");
    assert!(
        x.hint
            .as_deref()
            .is_some_and(|h| h.contains("eu-central-1")),
        "{x}"
    );
    assert_eq!(at(x), pos(ALPHA, "eu-centrl-1", 0));

    // Set identifiers that cannot tell regions apart.
    let x = find(&d, a, "spec.routing.set_identifier");
    assert!(
        x.message.contains("region") || x.message.contains("duplicate"),
        "{x}"
    );
    assert_eq!(at(x), pos(ALPHA, "set_identifier", 0));

    // Impossible safety settings.
    let x = find(&d, a, "spec.safety.min_healthy_regions");
    assert!(x.message.contains('5') && x.message.contains('2'), "{x}");
    assert!(x.hint.is_some(), "{x}");
    assert_eq!(at(x), pos(ALPHA, "min_healthy_regions", 0));
    let x = find(&d, a, "spec.safety.max_shift_percent_per_step");
    assert_eq!(at(x), pos(ALPHA, "max_shift_percent_per_step", 0));

    // The cycle across the two files, named in both.
    for (path, text) in [(a, ALPHA), ("policies/beta.yaml", BETA)] {
        let x = find(&d, path, "spec.depends_on");
        assert!(
            x.message.contains("cycle")
                && x.message.contains("alpha")
                && x.message.contains("beta"),
            "{x}"
        );
        assert_eq!(at(x).0, pos(text, "depends_on", 0).0, "{x}");
    }

    // Sorted like a compiler's output; every diagnostic names its file and renders it.
    let keys: Vec<_> = d
        .iter()
        .map(|x| (x.file.clone(), x.line, x.column))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    for x in &d {
        assert!(x.file == a || x.file == "policies/beta.yaml", "{x}");
        if let (Some(l), Some(c)) = (x.line, x.column) {
            assert!(
                x.to_string().contains(&format!("--> {}:{l}:{c}", x.file)),
                "{x}"
            );
        }
    }
}

/// ALPHA with every problem fixed except the missing geolocation default.
fn alpha_geo_only() -> String {
    ALPHA
        .replace("  ownr: team-a\n", "")
        .replace("weight: 300", "weight: 30")
        .replace("eu-centrl-1", "eu-central-1")
        .replace("\"{cell}\"\n", "\"{cell}-{region}\"\n")
        .replace("min_healthy_regions: 5", "min_healthy_regions: 1")
        .replace(
            "max_shift_percent_per_step: 0",
            "max_shift_percent_per_step: 50",
        )
        .replace("  depends_on: [beta]\n", "")
}

#[test]
fn geolocation_without_default_is_reported() {
    let text = alpha_geo_only();
    let d = errors(&[file("alpha.yaml", &text)]);
    let x = find(&d, "alpha.yaml", "spec.routing.geolocation.rules");
    assert!(x.message.contains("default"), "{x}");
    assert!(x.hint.is_some(), "{x}");
    assert_eq!(at(x).0, pos(&text, "rules:", 0).0);
}

#[test]
fn geolocation_without_default_is_reported_with_the_others() {
    let text = alpha_geo_only().replace("weight: 30\n", "weight: 300\n");
    let d = errors(&[file("alpha.yaml", &text)]);
    find(&d, "alpha.yaml", "spec.regions[1].weight");
    find(&d, "alpha.yaml", "spec.routing.geolocation.rules");
}

#[test]
fn unknown_fields_everywhere_are_all_reported() {
    let text = BETA
        .replace("  tier: 3\n", "  tier: 3\n  teir: 3\n")
        .replace(
            "    record_name: \"beta.example.com\"\n",
            "    record_name: \"beta.example.com\"\n    tll_secs: 30\n",
        )
        .replace(
            "      weight: 50\n  health",
            "      weight: 50\n      zonez: []\n  health",
        );
    let d = errors(&[file("beta.yaml", &text)]);
    let x = find(&d, "beta.yaml", "spec.teir");
    assert!(x.hint.as_deref().is_some_and(|h| h.contains("tier")), "{x}");
    assert_eq!(at(x), pos(&text, "teir", 0));
    let x = find(&d, "beta.yaml", "spec.routing.tll_secs");
    assert!(
        x.hint.as_deref().is_some_and(|h| h.contains("ttl_secs")),
        "{x}"
    );
    let x = find(&d, "beta.yaml", "spec.regions[1].zonez");
    assert!(
        x.hint.as_deref().is_some_and(|h| h.contains("zones")),
        "{x}"
    );
    // A name far from every field lists what is allowed.
    let text = BETA.replace("  tier: 3\n", "  tier: 3\n  xyzzy: 1\n");
    let d = errors(&[file("beta.yaml", &text)]);
    let x = find(&d, "beta.yaml", "spec.xyzzy");
    assert!(
        x.hint
            .as_deref()
            .is_some_and(|h| h.contains("strategy") && h.contains("regions")),
        "{x}"
    );
}

#[test]
fn type_errors_point_at_the_value() {
    let text = BETA.replace("  tier: 3\n", "  tier: three\n");
    let d = errors(&[file("beta.yaml", &text)]);
    let x = find(&d, "beta.yaml", "spec.tier");
    assert_eq!(at(x).0, pos(&text, "tier: three", 0).0, "{x}");
    // Unknown strategy names the choices.
    let text = BETA.replace("active-active", "active-passive");
    let d = errors(&[file("beta.yaml", &text)]);
    let x = find(&d, "beta.yaml", "spec.strategy");
    assert!(x.message.contains("active-passive"), "{x}");
}

#[test]
fn syntax_errors_have_positions() {
    for (text, near_line) in [
        (
            "apiVersion: regionctl/v1\nkind: [ServicePolicy\nmetadata:\n  name: x\n",
            2u32,
        ),
        (
            "apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata:\n  name: x\n   bad: indent\n",
            5,
        ),
        (
            "apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata: {name: x\nspec: 1\n",
            3,
        ),
        ("a: 'unterminated\nb: 2\n", 1),
    ] {
        let d = errors(&[file("bad.yaml", text)]);
        let x = d
            .iter()
            .find(|x| x.message.contains("YAML"))
            .unwrap_or_else(|| panic!("{}", render(&d)));
        assert_eq!(x.file, "bad.yaml");
        let line = x.line.unwrap_or_else(|| panic!("no position: {x}"));
        assert!(x.column.is_some(), "{x}");
        let lines = u32::try_from(text.lines().count()).unwrap();
        assert!(
            line >= near_line && line <= lines + 1,
            "{text:?}: line {line}, expected from {near_line}: {x}"
        );
    }
}

#[test]
fn malformed_documents_are_clean_errors() {
    for text in [
        "",
        "---\n",
        "42\n",
        "- a\n- b\n",
        "apiVersion: regionctl/v1\nkind: Bogus\nmetadata: {name: x}\nspec: {}\n",
        "apiVersion: regionctl/v2\nkind: ServicePolicy\nmetadata: {name: x}\nspec: {}\n",
        "apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata: {name: x}\nspec: 3\n",
        "apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata: {name: x}\n",
        "apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata: {name: Not_Valid}\nspec: {}\n",
        "\u{0}\u{1}\u{2}",
        "? [a, b]\n: c\n",
        "a: &x 1\nb: *y\n",
        "{{{{",
    ] {
        let d = errors(&[file("odd.yaml", text)]);
        assert!(
            d.iter().all(|x| x.file == "odd.yaml"),
            "{text:?}: {}",
            render(&d)
        );
        assert!(d.iter().all(|x| !x.message.is_empty()), "{text:?}");
    }
}

#[test]
fn size_limit_is_a_clean_error() {
    let text = format!("{BETA}# {}\n", "x".repeat(MAX_FILE_BYTES));
    let d = errors(&[file("big.yaml", &text)]);
    assert!(
        d.iter()
            .any(|x| x.message.contains(&MAX_FILE_BYTES.to_string())),
        "{}",
        render(&d)
    );
}

#[test]
fn nesting_limit_is_a_clean_error() {
    let deep = "[".repeat(MAX_DEPTH * 4) + &"]".repeat(MAX_DEPTH * 4);
    let text = BETA.replace("  tier: 3\n", &format!("  tier: 3\n  extra: {deep}\n"));
    let d = errors(&[file("deep.yaml", &text)]);
    let x = d
        .iter()
        .find(|x| {
            x.message.contains("nest")
                || x.message.contains("depth")
                || x.message.contains("recursion")
        })
        .unwrap_or_else(|| panic!("{}", render(&d)));
    assert!(x.line.is_some(), "{x}");
    // Deep block mappings too.
    let mut text =
        String::from("apiVersion: regionctl/v1\nkind: ServicePolicy\nmetadata: {name: x}\nspec:\n");
    for i in 0..(MAX_DEPTH * 2) {
        text.push_str(&" ".repeat(2 * (i + 1)));
        text.push_str("k:\n");
    }
    errors(&[file("deep2.yaml", &text)]);
}

#[test]
fn alias_limits_are_clean_errors() {
    // Billion laughs.
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let d = errors(&[file("bomb.yaml", &text)]);
    assert!(d.iter().all(|x| x.file == "bomb.yaml"));
    // Too many alias uses.
    let mut text = String::from("a: &a 1\nb:\n");
    for _ in 0..(MAX_ALIASES + 10) {
        text.push_str("  - *a\n");
    }
    let d = errors(&[file("aliases.yaml", &text)]);
    assert!(
        d.iter().any(|x| x.message.contains("alias")),
        "{}",
        render(&d)
    );
    // Too many documents.
    let text = "---\na: 1\n".repeat(MAX_DOCUMENTS + 5);
    let d = errors(&[file("docs.yaml", &text)]);
    assert!(
        d.iter().any(|x| x.message.contains("document")),
        "{}",
        render(&d)
    );
}

#[allow(clippy::disallowed_methods)]
fn example_files() -> Vec<SourceFile> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            file(
                &format!("policies/{}", p.file_name().unwrap().to_string_lossy()),
                &std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn example_bundle_loads_and_one_bad_file_rejects_it_whole() {
    let files = example_files();
    let bundle = match load(&files) {
        Ok(b) => b,
        Err(d) => panic!("{}", render(&d)),
    };
    assert!(
        bundle
            .warnings
            .iter()
            .all(|w| w.severity == Severity::Warning)
    );
    assert_eq!(
        bundle.services.len(),
        files
            .iter()
            .filter(|f| f.text.contains("kind: ServicePolicy"))
            .count()
    );
    // Listing order does not matter.
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(load(&reversed).unwrap().hash, bundle.hash);
    // One broken file: the whole bundle is rejected, the problem points into that file.
    let mut broken = files.clone();
    broken.push(file(
        "policies/zz.yaml",
        &BETA.replace("weight: 50\n  health", "weight: 256\n  health"),
    ));
    let d = errors(&broken);
    let x = find(&d, "policies/zz.yaml", "spec.regions[1].weight");
    assert!(x.message.contains("256"));
}

#[test]
fn duplicate_names_and_missing_dependencies() {
    let d = errors(&[file("a.yaml", BETA), file("b.yaml", BETA)]);
    let x = d
        .iter()
        .find(|x| x.field == "metadata.name" && x.message.contains("duplicate"))
        .unwrap_or_else(|| panic!("{}", render(&d)));
    assert!(
        x.message.contains("a.yaml") || x.message.contains("b.yaml"),
        "{x}"
    );
    let text = BETA.replace("depends_on: [alpha]", "depends_on: [alpa]");
    let alpha_ok = alpha_geo_only()
        .replace(
            "        - {continent: NA, cell: na}\n",
            "        - {continent: NA, cell: na}\n        - {default: true, cell: na}\n",
        )
        .replace("min_healthy_regions: 5", "min_healthy_regions: 1")
        .replace(
            "max_shift_percent_per_step: 0",
            "max_shift_percent_per_step: 50",
        )
        .replace("  depends_on: [beta]\n", "");
    load(&[file("alpha.yaml", &alpha_ok)])
        .unwrap_or_else(|d| panic!("the fixed alpha must load: {}", render(&d)));
    let d = errors(&[file("alpha.yaml", &alpha_ok), file("beta.yaml", &text)]);
    let x = find(&d, "beta.yaml", "spec.depends_on[0]");
    assert!(
        x.hint.as_deref().is_some_and(|h| h.contains("`alpha`")),
        "{x}"
    );
}

/// A policy with cell-scope switches over `cells` cells in three regions.
fn switched(cells: usize, extra: &str) -> String {
    let values: Vec<String> = (0..cells).map(|c| format!("c{c}")).collect();
    format!(
        r#"apiVersion: regionctl/v1
kind: ServicePolicy
metadata:
  name: wide
spec:
  tier: 1
  strategy: active-active
  regions:
    - {{name: eu-central-1, weight: 50}}
    - {{name: eu-west-1, weight: 30}}
    - {{name: us-east-1, weight: 20}}
  cells:
    dimensions:
      - name: shard
        values: [{}]
  health:
    alarms: [{{name: "wide-{{region}}-5xx"}}]
  routing:
    hosted_zone_id: Z0WIDE
    record_name: "{{cell}}.wide.example.com"
    value: "wide.{{region}}.example.com"
    switch:
      scope: cell
{extra}"#,
        values.join(", ")
    )
}

#[test]
fn switches_over_the_health_check_quota_are_warned() {
    let file = |text: String| SourceFile {
        path: "wide.yaml".into(),
        text,
    };
    let within = load(&[file(switched(66, ""))]).unwrap();
    assert!(within.warnings.is_empty(), "{:#?}", within.warnings);
    assert_eq!(regionctl_core::switch::health_checks_needed(&within), 198);
    let over = load(&[file(switched(67, ""))]).unwrap();
    let w = over
        .warnings
        .iter()
        .find(|d| d.message.contains("health checks"))
        .unwrap_or_else(|| panic!("{:#?}", over.warnings));
    assert_eq!(w.file, "wide.yaml");
    assert!(w.message.contains("201"), "{}", w.message);
    assert!(w.field.contains("switch"), "{}", w.field);
}

#[test]
fn switch_timing_outside_route53s_limits_is_an_error() {
    let bad = switched(
        2,
        "      period_secs: 45\n      interval_secs: 20\n      failure_threshold: 11\n      alarm_region: {eu-west-1: eu-west-1}\n",
    );
    let errors = load(&[SourceFile {
        path: "wide.yaml".into(),
        text: bad,
    }])
    .unwrap_err();
    let text: Vec<String> = errors
        .iter()
        .map(|d| format!("{} {}", d.field, d.message))
        .collect();
    for field in [
        "period_secs",
        "interval_secs",
        "failure_threshold",
        "alarm_region",
    ] {
        assert!(
            errors.iter().any(|d| d.severity == Severity::Error
                && d.field.contains(field)
                && d.line.is_some()),
            "no located error for {field}: {text:#?}"
        );
    }
}

/// BETA with one probe of `probe_role` and `alarms` (YAML list items) as its only alarms.
fn beta_with_probes(probe_role: &str, alarms: &str) -> String {
    let alarms = if alarms.is_empty() {
        "    alarms: []\n".to_string()
    } else {
        format!("    alarms:\n{alarms}")
    };
    BETA.replace("  depends_on: [alpha]\n", "").replace(
        "    alarms:\n      - name: \"beta-{region}-5xx\"\n",
        &format!(
            "{alarms}    probes:\n      - protocol: http\n        target: \"https://beta.{{region}}.example.com/healthz\"\n        role: {probe_role}\n"
        ),
    )
}

#[test]
fn a_probe_role_only_an_alarm_can_have_is_refused_at_the_field() {
    for role in ["served", "load"] {
        let text = beta_with_probes(role, "");
        let d = errors(&[file("beta.yaml", &text)]);
        let x = find(&d, "beta.yaml", "spec.health.probes[0].role");
        assert_eq!(at(x).0, pos(&text, &format!("role: {role}"), 0).0, "{x}");
        assert!(x.message.contains(role), "{x}");
        assert!(
            x.hint.as_deref().is_some_and(|h| h.contains("alarm")),
            "{x}"
        );
    }
    // An unknown role names the choices.
    let text = beta_with_probes("sometimes", "");
    let d = errors(&[file("beta.yaml", &text)]);
    let x = find(&d, "beta.yaml", "spec.health.probes[0].role");
    assert!(
        x.message.contains("sometimes") && x.message.contains("critical"),
        "{x}"
    );
}

#[test]
fn check_warns_when_only_probes_can_evacuate_and_no_signal_says_users_are_served() {
    let warned = |text: &str| {
        let bundle = load(&[file("beta.yaml", text)])
            .unwrap_or_else(|d| panic!("must load: {}", render(&d)));
        bundle
            .warnings
            .iter()
            .any(|w| w.field == "spec.health.probes" && w.message.contains("partition"))
    };
    assert!(warned(&beta_with_probes("failure", "")));
    // A failure alarm does not tell a partition from an outage either (a partition leaves
    // it quiet): still a warning.
    let alarm = "      - name: \"beta-{region}-5xx\"\n";
    assert!(warned(&beta_with_probes("failure", alarm)));
    let served = "      - name: \"beta-{region}-requests\"\n        role: served\n";
    assert!(!warned(&beta_with_probes("failure", served)));
    // Critical and shadow probes are deliberate: no warning.
    assert!(!warned(&beta_with_probes("critical", "")));
    assert!(!warned(&beta_with_probes("shadow", "")));
    assert!(
        !warned(&BETA.replace("  depends_on: [alpha]\n", "")),
        "no probes, nothing to warn about"
    );
}
