//! Bundle-level validation: names, kinds, dependencies (cycles named), the controller
//! configuration and policy tests. Per-service checks live in [`super::compile`].

use super::compile::{Interner, ServiceInput, compile_service, is_region_name};
use super::diagnostics::{Diagnostic, Reporter, did_you_mean};
use super::load::{Doc, kind_name, typed};
use super::raw::{ControllerSpec, Kind, PolicyTestSpec, ServiceSpec};
use super::yaml::FieldPath;
use super::{Bundle, TestFile};
use petgraph::graph::DiGraph;
use std::collections::{BTreeMap, BTreeSet};

mod controller;
use controller::check_controller;

/// Most services in one bundle; a bound for memory and for the planner's arrays.
pub const MAX_SERVICES: usize = 10_000;

/// A bundle's documents, typed by kind, each with its index in `docs`.
#[derive(Default)]
struct Documents {
    services: Vec<(usize, ServiceSpec)>,
    controller: Option<(usize, ControllerSpec)>,
    tests: Vec<(usize, PolicyTestSpec)>,
}

/// Validates every document and compiles the bundle; `None` when any error was reported.
pub(super) fn compile(
    hash: String,
    docs: &mut [Doc<'_>],
    schema: &serde_json::Value,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Bundle> {
    let Documents {
        mut services,
        controller,
        tests,
    } = read_documents(docs, schema, diagnostics);
    let docs: &[Doc<'_>] = docs;
    if services.len() > MAX_SERVICES {
        diagnostics.push(too_many_services(docs, services.len()));
        return None;
    }
    let regions = region_table(&services, controller.as_ref().map(|(_, c)| c))?;
    services.sort_by(|a, b| {
        docs[a.0]
            .header
            .metadata
            .name
            .cmp(&docs[b.0].header.metadata.name)
    });
    let service_names: Vec<&str> = services
        .iter()
        .map(|(i, _)| docs[*i].header.metadata.name.as_str())
        .collect();
    let controller_regions = controller.as_ref().map(|(_, c)| c.regions.as_slice());

    let compiled = compile_services(
        docs,
        &services,
        &regions,
        &service_names,
        controller_regions,
        diagnostics,
    );
    let all_services_compiled = compiled.len() == services.len();
    if all_services_compiled {
        warn_health_check_quota(docs, &services, &compiled, diagnostics);
    }
    // Cycles are found on the names as written, so they are reported even when another
    // problem keeps a service from compiling.
    let deps = dependencies_as_written(&services, &service_names);
    let dependency_order = dependency_order(&service_names, &deps, docs, &services, diagnostics);
    let test_files = compile_tests(
        docs,
        &tests,
        &compiled,
        &service_names,
        &regions,
        diagnostics,
    );

    let dependency_order = dependency_order?;
    if !all_services_compiled {
        return None;
    }
    Some(Bundle {
        hash,
        regions,
        services: compiled,
        dependency_order,
        controller: controller.map(|(_, c)| c),
        tests: test_files,
        warnings: Vec::new(),
    })
}

/// Every document's name (unique within its kind) and spec, typed by kind; at most one
/// controller configuration. Each document's untyped spec is taken: the typed one replaces
/// it, and a fleet's untyped trees (15 MiB for 1,000 services) need not outlive it.
fn read_documents(
    docs: &mut [Doc<'_>],
    schema: &serde_json::Value,
    diagnostics: &mut Vec<Diagnostic>,
) -> Documents {
    let spec_path = FieldPath::root().key("spec");
    let mut out = Documents::default();
    let mut names: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    for i in 0..docs.len() {
        let spec = std::mem::take(&mut docs[i].spec);
        let doc = &docs[i];
        let mut r = doc.reporter();
        let kind = kind_name(doc.header.kind);
        check_name(&doc.header.metadata.name, &mut r);
        if let Some(first) = names.insert((kind, doc.header.metadata.name.clone()), i) {
            let other = &docs[first];
            r.error(
                &FieldPath::root().key("metadata").key("name"),
                format!(
                    "duplicate {kind} name `{}` (also in {})",
                    doc.header.metadata.name, other.file.path
                ),
                Some("names must be unique within a kind".into()),
            );
        }
        match doc.header.kind {
            Kind::ServicePolicy => {
                if let Some(spec) = typed(spec, &spec_path, kind, schema, &mut r) {
                    out.services.push((i, spec));
                }
            }
            Kind::ControllerConfig => {
                if let Some(spec) = typed::<ControllerSpec>(spec, &spec_path, kind, schema, &mut r)
                {
                    if let Some((first, _)) = &out.controller {
                        r.error(
                            &FieldPath::root().key("kind"),
                            format!(
                                "a bundle has at most one ControllerConfig (another is in {})",
                                docs[*first].file.path
                            ),
                            None,
                        );
                    } else {
                        check_controller(&spec, &mut r);
                        out.controller = Some((i, spec));
                    }
                }
            }
            Kind::PolicyTest => {
                if let Some(spec) = typed(spec, &spec_path, kind, schema, &mut r) {
                    out.tests.push((i, spec));
                }
            }
        }
        diagnostics.append(&mut r.diagnostics);
    }
    out
}

/// The error for a bundle over [`MAX_SERVICES`], at its first file.
fn too_many_services(docs: &[Doc<'_>], count: usize) -> Diagnostic {
    Diagnostic {
        severity: super::Severity::Error,
        file: docs
            .first()
            .map(|d| d.file.path.clone())
            .unwrap_or_default(),
        line: None,
        column: None,
        field: String::new(),
        message: format!("{count} services in one bundle; the limit is {MAX_SERVICES}"),
        hint: None,
        source_line: None,
    }
}

/// The global region table: every valid region name any service or the controller names,
/// sorted (`None` past the `u16` region index).
fn region_table(
    services: &[(usize, ServiceSpec)],
    controller: Option<&ControllerSpec>,
) -> Option<Vec<String>> {
    let mut region_set: BTreeSet<String> = BTreeSet::new();
    for (_, spec) in services {
        for r in &spec.regions {
            if is_region_name(&r.name) {
                region_set.insert(r.name.clone());
            }
        }
    }
    if let Some(c) = controller {
        region_set.extend(c.regions.iter().filter(|r| is_region_name(r)).cloned());
    }
    let regions: Vec<String> = region_set.into_iter().collect();
    (regions.len() <= usize::from(u16::MAX)).then_some(regions)
}

/// Every service that compiles without error, in name order.
fn compile_services(
    docs: &[Doc<'_>],
    services: &[(usize, ServiceSpec)],
    regions: &[String],
    service_names: &[&str],
    controller_regions: Option<&[String]>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<super::Service> {
    let mut compiled = Vec::with_capacity(services.len());
    // One interner for the bundle: the same cell of every service shares its lists.
    let mut interner = Interner::default();
    for (i, spec) in services {
        let doc = &docs[*i];
        let mut r = doc.reporter();
        let input = ServiceInput {
            name: &doc.header.metadata.name,
            description: doc.header.metadata.description.clone(),
            file: &doc.file.path,
            spec,
            regions,
            service_names,
            controller_regions,
        };
        if let Some(service) = compile_service(&input, &mut interner, &mut r) {
            compiled.push(service);
        }
        diagnostics.append(&mut r.diagnostics);
    }
    compiled
}

/// Each service's dependencies as written (names that resolve), as service indices.
fn dependencies_as_written(
    services: &[(usize, ServiceSpec)],
    service_names: &[&str],
) -> Vec<Vec<usize>> {
    services
        .iter()
        .map(|(_, spec)| {
            spec.depends_on
                .iter()
                .filter_map(|d| service_names.iter().position(|n| n == d))
                .collect()
        })
        .collect()
}

/// Route 53 allows 200 health checks per account by default: a bundle whose switches need
/// more is warned, at the service that needs the most.
fn warn_health_check_quota(
    docs: &[Doc],
    services: &[(usize, ServiceSpec)],
    compiled: &[super::Service],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let per_service: Vec<usize> = compiled
        .iter()
        .map(|s| crate::switch::slots(s) * s.regions.len())
        .collect();
    let total: usize = per_service.iter().sum();
    if total <= crate::switch::DEFAULT_HEALTH_CHECK_QUOTA {
        return;
    }
    let Some((largest, n)) = per_service
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
    else {
        return;
    };
    let Some((doc_ix, _)) = services.get(largest) else {
        return;
    };
    let doc = &docs[*doc_ix];
    let mut r = doc.reporter();
    r.warn(
        &FieldPath::root().key("spec").key("routing").key("switch"),
        format!(
            "the bundle's data-plane switches need {total} Route 53 health checks (this service {n}); the default quota is {} per account",
            crate::switch::DEFAULT_HEALTH_CHECK_QUOTA
        ),
        Some("use `scope: region` (one check per region, shared by its records) or request a quota increase before provisioning".into()),
    );
    diagnostics.append(&mut r.diagnostics);
}

fn check_name(name: &str, r: &mut Reporter<'_>) {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid {
        r.error(
            &FieldPath::root().key("metadata").key("name"),
            format!("invalid name `{name}`"),
            Some(
                "use 1-63 lowercase letters, digits and `-`, not starting or ending with `-`"
                    .into(),
            ),
        );
    }
}

/// Topological order of services (dependencies first); reports every cycle found.
fn dependency_order(
    names: &[&str],
    deps: &[Vec<usize>],
    docs: &[Doc<'_>],
    specs: &[(usize, ServiceSpec)],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<usize>> {
    let mut graph = DiGraph::<usize, ()>::new();
    let nodes: Vec<_> = (0..names.len()).map(|i| graph.add_node(i)).collect();
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            // Edge dependency → dependant: the dependency's steps come first.
            graph.add_edge(nodes[d], nodes[i], ());
        }
    }
    let sccs = petgraph::algo::tarjan_scc(&graph);
    let mut ok = true;
    for scc in sccs {
        let is_cycle = scc.len() > 1 || scc.first().is_some_and(|n| graph.contains_edge(*n, *n));
        if !is_cycle {
            continue;
        }
        ok = false;
        let mut members: Vec<usize> = scc.iter().map(|n| graph[*n]).collect();
        members.sort();
        let cycle = describe_cycle(names, deps, &members);
        for &m in &members {
            let doc = &docs[specs[m].0];
            let mut r = doc.reporter();
            r.error(
                &FieldPath::root().key("spec").key("depends_on"),
                format!("dependency cycle: {cycle}"),
                Some("a dependency must fail over before its dependants; break the cycle".into()),
            );
            diagnostics.append(&mut r.diagnostics);
        }
    }
    if !ok {
        return None;
    }
    // Kahn's algorithm with a sorted ready set: deterministic, dependencies first.
    let mut indegree: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut ready: BTreeSet<usize> = (0..names.len()).filter(|i| indegree[*i] == 0).collect();
    let mut order = Vec::with_capacity(names.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for (j, ds) in deps.iter().enumerate() {
            if ds.contains(&i) {
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    ready.insert(j);
                }
            }
        }
    }
    Some(order)
}

/// `a → b → c → a`, following dependency edges from the smallest member.
fn describe_cycle(names: &[&str], deps: &[Vec<usize>], members: &[usize]) -> String {
    let Some(&start) = members.first() else {
        return String::new();
    };
    let mut path = vec![start];
    let mut current = start;
    for _ in 0..members.len() {
        let next = deps[current]
            .iter()
            .copied()
            .filter(|d| members.contains(d))
            .min();
        match next {
            Some(n) if n == start => {
                path.push(n);
                break;
            }
            Some(n) if !path.contains(&n) => {
                path.push(n);
                current = n;
            }
            Some(n) => {
                path.push(n);
                break;
            }
            None => break,
        }
    }
    path.iter()
        .map(|i| names[*i])
        .collect::<Vec<_>>()
        .join(" → depends on → ")
}

fn compile_tests(
    docs: &[Doc<'_>],
    tests: &[(usize, PolicyTestSpec)],
    services: &[super::Service],
    service_names: &[&str],
    regions: &[String],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<TestFile> {
    let mut out = Vec::new();
    // Only check a case against services that compiled; the others already have errors.
    let all_compiled = services.len() == service_names.len();
    for (i, spec) in tests {
        let doc = &docs[*i];
        let mut r = doc.reporter();
        let base = FieldPath::root().key("spec").key("cases");
        if spec.cases.is_empty() {
            r.warn(
                &FieldPath::root().key("spec").key("cases"),
                "test file has no cases",
                None,
            );
        }
        for (ci, case) in spec.cases.iter().enumerate() {
            let cpath = base.index(ci);
            for (field, list) in [
                ("down", &case.down),
                ("degraded", &case.degraded),
                ("unknown", &case.unknown),
            ] {
                for (k, target) in list.iter().enumerate() {
                    if !all_compiled {
                        continue;
                    }
                    if let Err(message) = crate::testing::parse_target(target, services, regions) {
                        r.error(&cpath.key(field).index(k), message, None);
                    }
                }
            }
            for (svc, cells) in &case.expect_traffic {
                let spath = cpath.key("expect_traffic").key(svc);
                if service_names.contains(&svc.as_str()) && !services.iter().any(|s| &s.name == svc)
                {
                    continue;
                }
                let Some(service) = services.iter().find(|s| &s.name == svc) else {
                    let hint = did_you_mean(svc, service_names.iter().copied())
                        .map(|b| format!("did you mean `{b}`?"));
                    r.error(&spath, format!("unknown service `{svc}`"), hint);
                    continue;
                };
                for (cell, split) in cells {
                    let cell_path = spath.key(cell);
                    if cell != "*" && !service.cells.iter().any(|c| &c.id == cell) {
                        let hint = did_you_mean(cell, service.cells.iter().map(|c| c.id.as_str()))
                            .map(|b| format!("did you mean `{b}`?"));
                        r.error(
                            &cell_path,
                            format!("service `{svc}` has no cell `{cell}`"),
                            hint,
                        );
                    }
                    let mut sum = 0;
                    for (region, pct) in split {
                        sum += pct;
                        if !service.regions.iter().any(|sr| &sr.name == region) {
                            r.error(
                                &cell_path.key(region),
                                format!("service `{svc}` does not run in `{region}`"),
                                None,
                            );
                        }
                    }
                    if sum != 100 {
                        r.error(
                            &cell_path,
                            format!("expected traffic sums to {sum}%, not 100%"),
                            Some("list every region that should carry traffic; omitted regions mean 0%".into()),
                        );
                    }
                }
            }
            for (k, step) in case.expect_steps.iter().enumerate() {
                let spath = cpath.key("expect_steps").index(k);
                if !service_names.contains(&step.service.as_str()) {
                    r.error(
                        &spath.key("service"),
                        format!("unknown service `{}`", step.service),
                        None,
                    );
                }
                if !crate::testing::STEP_KINDS.contains(&step.kind.as_str()) {
                    r.error(
                        &spath.key("kind"),
                        format!("unknown step kind `{}`", step.kind),
                        Some(format!("one of: {}", crate::testing::STEP_KINDS.join(", "))),
                    );
                }
            }
        }
        diagnostics.append(&mut r.diagnostics);
        out.push(TestFile {
            file: doc.file.path.clone(),
            name: doc.header.metadata.name.clone(),
            cases: spec.cases.clone(),
        });
    }
    out
}
