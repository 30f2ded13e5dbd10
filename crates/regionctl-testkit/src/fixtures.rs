//! The moto fixture policies (`tests/fixtures/moto/`): playback (active-active, 3 regions,
//! 30 cells), auth (warm standby) and catalog (active-active, 2 regions), controllers in
//! eu-central-1, eu-west-1 and us-east-1, with one run's names filled in so that tests
//! share one moto server safely.
//!
//! Placeholders: `{{PREFIX}}` (every resource name), `{{TABLE}}`, `{{QUEUE}}`,
//! `{{NETWORK}}` (the default VPC per region, [`crate::moto::network_yaml`]) and the hosted
//! zone ids [`ZONES`] (created by the caller: this kit does not call AWS).

/// The fixture's controller regions, in fleet order.
pub const REGIONS: [&str; 3] = ["eu-central-1", "eu-west-1", "us-east-1"];

/// Zone placeholders and the domain each zone is for.
pub const ZONES: [(&str, &str); 3] = [
    ("{{ZONE_PLAYBACK}}", "play.example.com"),
    ("{{ZONE_AUTH}}", "auth.example.com"),
    ("{{ZONE_CATALOG}}", "catalog.example.com"),
];

/// The journal table of a run with this prefix.
pub fn journal_table(prefix: &str) -> String {
    format!("{prefix}-journal")
}

/// The fixture policies as `(file name, text)`, sorted, for a run whose names start with
/// `prefix`, with `zones` (placeholder → hosted zone id) and `network`.
///
/// # Panics
/// When `tests/fixtures/moto/` cannot be read.
pub fn moto_policies(
    prefix: &str,
    zones: &[(&str, String)],
    network: &str,
) -> Vec<(String, String)> {
    let mut replacements: Vec<(&str, String)> = zones.to_vec();
    replacements.push(("{{TABLE}}", journal_table(prefix)));
    replacements.push(("{{QUEUE}}", format!("{prefix}-alarms")));
    replacements.push(("{{PREFIX}}", format!("{prefix}-")));
    replacements.push(("{{NETWORK}}", network.to_string()));
    let dir = crate::repo_root().join("tests/fixtures/moto");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a fixture directory entry").path();
            let mut text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for (placeholder, value) in &replacements {
                text = text.replace(placeholder, value);
            }
            let name = path.file_name().expect("a file name");
            (name.to_string_lossy().into_owned(), text)
        })
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::{load, source_files};

    #[test]
    fn the_fixture_loads_once_every_placeholder_is_filled() {
        let zones: Vec<(&str, String)> = ZONES
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (*k, format!("Z0FIXTURE{i}")))
            .collect();
        let network = REGIONS
            .iter()
            .map(|r| format!("      {r}: {{subnets: [subnet-1], security_groups: [sg-1]}}"))
            .collect::<Vec<_>>()
            .join("\n");
        let files = moto_policies("t1", &zones, &network);
        assert!(files.iter().all(|(_, text)| !text.contains("{{")));
        let bundle = load(&source_files(files));
        let names: Vec<&str> = bundle.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["auth", "catalog", "playback"]);
        let controller = bundle.controller.expect("a controller config");
        assert_eq!(controller.journal_table, journal_table("t1"));
        assert_eq!(controller.regions, REGIONS);
    }
}
