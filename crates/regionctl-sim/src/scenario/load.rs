//! Reading and parsing a scenario file: bounded like policy loading, with every error
//! located by file, line, column and field through the YAML position tree.

use super::format::{API_VERSION, Scenario};
use crate::duration::Dur;
use regionctl_core::policy::yaml::{self, FieldPath, Node};
use std::path::{Path, PathBuf};

/// A problem with a scenario file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// File.
    pub file: String,
    /// 1-based line and column, if known.
    pub line: Option<(u32, u32)>,
    /// Field path (`timeline[2].where.region`), if any.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some((l, c)) => write!(f, "{}:{l}:{c}: ", self.file)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A parsed scenario with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The scenario.
    pub scenario: Scenario,
    /// Its file.
    pub path: PathBuf,
    /// The policy directory, resolved.
    pub policies: PathBuf,
    tree: Option<Node>,
    text: String,
}

impl Loaded {
    /// An error at `field` (a path like `timeline[2].where.region`).
    pub fn error(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        locate(&self.path, self.tree.as_ref(), field, message.into())
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

fn locate(path: &Path, tree: Option<&Node>, field: &str, message: String) -> ScenarioError {
    let line = tree.map(|t| {
        let (pos, _) = t.locate(&FieldPath::parse(field));
        (pos.line, pos.column)
    });
    ScenarioError {
        file: path.display().to_string(),
        line,
        field: field.to_string(),
        message,
    }
}

/// Reads and parses a scenario file (structure only; see [`validate`](super::validate) for
/// the rest).
pub fn load(path: &Path) -> Result<Loaded, ScenarioError> {
    let plain = |message: String| ScenarioError {
        file: path.display().to_string(),
        line: None,
        field: String::new(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| plain(format!("cannot read: {e}")))?;
    if meta.len() > yaml::MAX_FILE_BYTES as u64 {
        return Err(plain(format!(
            "{} bytes; scenario files are limited to {} bytes",
            meta.len(),
            yaml::MAX_FILE_BYTES
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| plain(format!("cannot read as UTF-8 text: {e}")))?;
    parse(path, &text)
}

/// Parses scenario text (`path` names it in errors and anchors `world.policies`).
pub fn parse(path: &Path, text: &str) -> Result<Loaded, ScenarioError> {
    let yaml_error = |e: yaml::YamlError| ScenarioError {
        file: path.display().to_string(),
        line: e.pos.map(|p| (p.line, p.column)),
        field: String::new(),
        message: format!("invalid YAML: {}", e.message),
    };
    let trees = yaml::parse_tree(text).map_err(yaml_error)?;
    let values = yaml::parse_values(text).map_err(yaml_error)?;
    let tree = trees.into_iter().next();
    let [value] = <[serde_json::Value; 1]>::try_from(values).map_err(|v| ScenarioError {
        file: path.display().to_string(),
        line: None,
        field: String::new(),
        message: format!("expected exactly one YAML document, found {}", v.len()),
    })?;
    let scenario: Scenario = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        locate(path, tree.as_ref(), &field, e.inner().to_string())
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let policies = base.join(&scenario.world.policies);
    let loaded = Loaded {
        scenario,
        path: path.to_path_buf(),
        policies,
        tree,
        text: text.to_string(),
    };
    if loaded.scenario.api_version != API_VERSION {
        return Err(loaded.error(
            "apiVersion",
            format!(
                "unsupported apiVersion `{}`; this build reads `{API_VERSION}`",
                loaded.scenario.api_version
            ),
        ));
    }
    if loaded.scenario.kind != "GameDay" {
        return Err(loaded.error(
            "kind",
            format!(
                "kind `{}` is not a game-day scenario; write `kind: GameDay`",
                loaded.scenario.kind
            ),
        ));
    }
    Ok(loaded)
}

/// Parses a `clock-skew` value: `90s`, `-2m`.
pub fn parse_skew(text: &str) -> Result<i64, String> {
    let (sign, rest) = match text.trim().strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, text.trim().trim_start_matches('+')),
    };
    let d = Dur::parse(rest)?;
    Ok(sign * i64::try_from(d.secs()).unwrap_or(i64::MAX) * 1000)
}

/// Resolves an `after`/`until` reference: a timeline id or a duration from the start.
pub fn resolve_ref(scenario: &Scenario, reference: &str) -> Option<u64> {
    scenario
        .timeline
        .iter()
        .find(|e| e.id.as_deref() == Some(reference))
        .map(|e| e.at.secs())
        .or_else(|| Dur::parse(reference).ok().map(Dur::secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `parse` (what `load`, the simulator and the `scenario` fuzz target call) refuses text
    /// over the YAML readers' limit before parsing, with the file and the limit named.
    #[test]
    fn text_over_the_limit_is_refused_with_the_file_named() {
        let big = format!("# {}\n", "x".repeat(yaml::MAX_FILE_BYTES));
        let err = parse(Path::new("chaos/big.yaml"), &big).expect_err("over the limit");
        assert_eq!(err.file, "chaos/big.yaml");
        assert!(
            err.message
                .contains(&format!("the limit is {} bytes", yaml::MAX_FILE_BYTES)),
            "{err}"
        );
    }
}
