//! What a moto game-day sets up before its timeline: the moto server (unless one is
//! given; [`regionctl_local::moto`]), the hosted zones, and the policies rewritten for this
//! run. The endpoints standing in for each region are [`regionctl_local::endpoint`]'s.

use anyhow::{Context, Result, bail};
use regionctl_local::moto::MotoServer;
use regionctl_sim::scenario::{ExpectKind, Loaded, What};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The run's rewritten policy directory (removed on drop).
pub(super) struct TempDir(pub(super) PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _removed = std::fs::remove_dir_all(&self.0);
    }
}

/// `scripts/moto.sh`: from the working directory or an ancestor of the scenario file.
fn moto_script(scenario: &Path) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok();
    let abs = scenario.canonicalize().ok();
    cwd.iter()
        .chain(abs.iter())
        .flat_map(|p| p.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
        .map(|d| d.join("scripts/moto.sh"))
        .find(|p| p.exists())
}

/// Starts moto with `scripts/moto.sh start`: its endpoint, and the server (stopped on drop).
pub(super) fn start_moto(scenario: &Path) -> Result<(String, MotoServer)> {
    let Some(script) = moto_script(scenario) else {
        bail!(
            "scripts/moto.sh not found (run from the repository, or pass --endpoint-url of a running moto)"
        );
    };
    let server = MotoServer::start(&script)?;
    Ok((server.endpoint().to_string(), server))
}

/// This binary, with moto's test credentials and endpoint.
pub(super) fn regionctl_command(endpoint: &str) -> Result<Command> {
    let exe = std::env::current_exe().context("locating the regionctl binary")?;
    let mut cmd = Command::new(exe);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("REGIONCTL_ENDPOINT_URL", endpoint);
    Ok(cmd)
}

/// Refuses what this target cannot play or check, before anything starts.
pub(super) fn supported(loaded: &Loaded) -> Result<()> {
    let s = &loaded.scenario;
    let mut problems = Vec::new();
    for (i, e) in s.timeline.iter().enumerate() {
        match e.what {
            What::EndpointsFail | What::Recover => {}
            What::Pause | What::Resume | What::Override | What::Approve => {}
            What::Alarm if !e.place.services.is_empty() || !e.place.cells.is_empty() => problems
                .push(format!(
                    "timeline[{i}]: `alarm` limited to services or cells is not supported on moto"
                )),
            What::Alarm => {}
            other => problems.push(format!(
                "timeline[{i}]: `{}` is not supported on moto (endpoints-fail, alarm, recover, pause, resume, override and approve are)",
                other.as_str()
            )),
        }
        if e.what == What::EndpointsFail && !e.place.services.is_empty() {
            problems.push(format!(
                "timeline[{i}]: `endpoints-fail` limited to services is not supported on moto"
            ));
        }
    }
    for (i, x) in s.expect.iter().enumerate() {
        if x.kind == ExpectKind::TrafficSteady {
            problems.push(format!(
                "expect[{i}]: `traffic-steady` is not supported on moto"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!(
            "{}: not playable on moto:\n  {}",
            loaded.path.display(),
            problems.join("\n  ")
        )
    }
}

/// What the policies are rewritten with for this run.
pub(super) struct Rewrite<'a> {
    /// Replaces every `gameday-` prefix.
    pub(super) run_id: &'a str,
    /// Hosted zone ids the policies name → the zones created on moto.
    pub(super) zones: &'a BTreeMap<String, String>,
    /// Every region's local endpoint server (URL); a probe's `per_region` lists those of
    /// its service's regions.
    pub(super) endpoints: &'a BTreeMap<String, String>,
    /// Policy file name → the regions of the service it declares.
    pub(super) service_regions: &'a BTreeMap<String, Vec<String>>,
    /// The one journal region (moto does not replicate DynamoDB).
    pub(super) journal_region: &'a str,
    /// The scenario's tick, if it sets one.
    pub(super) tick_secs: Option<u64>,
    /// `provision.network`, from moto's default VPCs.
    pub(super) network: &'a str,
}

/// Copies the policies with this run's names, zones, probes, journal region and network.
pub(super) fn rewrite_policies(src: &Path, dst: &Path, w: &Rewrite<'_>) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let path = entry?.path();
        if !path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            continue;
        }
        let mut text =
            std::fs::read_to_string(&path)?.replace("gameday-", &format!("{}-", w.run_id));
        for (old, new) in w.zones {
            text = text.replace(old.as_str(), new);
        }
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
        let regions = file.and_then(|f| w.service_regions.get(&f));
        let targets = [per_region(w, regions, false), per_region(w, regions, true)];
        let (text, is_controller) = rewrite_lines(&text, &targets, w);
        let mut text = text;
        if is_controller {
            if !text.contains("journal_region:") {
                text.push_str(&format!("  journal_region: {}\n", w.journal_region));
            }
            if text.contains("provision:") {
                bail!(
                    "{}: already has `provision:`; the moto target fills it",
                    path.display()
                );
            }
            text.push_str(&format!("  provision:\n    network:\n{}\n", w.network));
        }
        let name = path.file_name().context("file name")?;
        std::fs::write(dst.join(name), text)?;
    }
    Ok(())
}

/// The flow-style `per_region` map of a service's probes: its regions' endpoint servers
/// (every region's for a file that declares no service), as URLs for HTTP probes or as
/// `host:port` for TCP probes (`tcp`).
fn per_region(w: &Rewrite<'_>, regions: Option<&Vec<String>>, tcp: bool) -> String {
    let entries: Vec<String> = w
        .endpoints
        .iter()
        .filter(|(r, _)| regions.is_none_or(|rs| rs.contains(r)))
        .map(|(r, url)| {
            let target = if tcp {
                url.trim_start_matches("http://")
                    .trim_end_matches("/healthz")
            } else {
                url.as_str()
            };
            format!("{r}: \"{target}\"")
        })
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// Which of `targets` (HTTP, TCP) a probe's `target:` line takes: a target without a
/// scheme is a TCP `host:port`.
fn probe_targets<'t>(line: &str, targets: &'t [String; 2]) -> &'t str {
    if line.contains("://") {
        &targets[0]
    } else {
        &targets[1]
    }
}

/// One policy file, line by line: probes' `per_region`, the journal region, the tick.
/// Whether it is the ControllerConfig.
fn rewrite_lines(text: &str, targets: &[String; 2], w: &Rewrite<'_>) -> (String, bool) {
    let mut out = Vec::new();
    let mut is_controller = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with("kind: ControllerConfig") {
            is_controller = true;
        }
        let per_region = probe_targets(line, targets);
        if trimmed.starts_with("target:") {
            out.push(line.to_string());
            out.push(format!("{indent}per_region: {per_region}"));
        } else if let Some(i) = line.find("target: \"")
            && let Some(j) = line[i + 9..].find('"')
        {
            let end = i + 9 + j + 1;
            out.push(format!(
                "{}, per_region: {per_region}{}",
                &line[..end],
                &line[end..]
            ));
        } else if trimmed.starts_with("journal_region:") {
            out.push(format!("{indent}journal_region: {}", w.journal_region));
        } else if let (Some(t), true) = (w.tick_secs, trimmed.starts_with("tick_secs:")) {
            out.push(format!("{indent}tick_secs: {t}"));
        } else {
            out.push(line.to_string());
        }
    }
    (out.join("\n") + "\n", is_controller)
}

/// The hosted zone a record name lives in (its parent domain).
pub(super) fn zone_name(record_name: &str) -> String {
    let labels: Vec<&str> = record_name.trim_end_matches('.').split('.').collect();
    if labels.len() > 2 {
        labels[1..].join(".")
    } else {
        labels.join(".")
    }
}
