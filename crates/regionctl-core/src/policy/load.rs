//! From files' text to a [`Bundle`] or a complete list of problems.

use super::diagnostics::{Diagnostic, Reporter, Severity, did_you_mean};
use super::raw::{API_VERSION, Header, Kind};
use super::yaml::{self, FieldPath, Node, NodeKind, Seg};
use super::{Bundle, validate};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// One file of a bundle: its path (for messages) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as the user should see it, e.g. `policies/playback.yaml`.
    pub path: String,
    /// The file's contents.
    pub text: String,
}

/// A document that parsed, with what is needed to point at its fields later.
pub(super) struct Doc<'a> {
    pub file: &'a SourceFile,
    pub tree: Option<Node>,
    pub header: Header,
    /// The untyped spec; validation takes it when it types it (`Null` afterwards).
    pub spec: serde_json::Value,
}

impl Doc<'_> {
    pub fn reporter(&self) -> Reporter<'_> {
        Reporter::new(&self.file.path, &self.file.text, self.tree.as_ref())
    }
}

/// Loads a bundle. Returns every error (and warning) when any error is found; a bundle is
/// never half-loaded.
pub fn load(files: &[SourceFile]) -> Result<Bundle, Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let mut docs = Vec::new();
    let schema = super::schema::policy_schema();
    for file in files {
        read_file(file, &schema, &mut docs, &mut diagnostics);
    }
    let hash = bundle_hash(files);
    let result = validate::compile(hash, &mut docs, &schema, &mut diagnostics);
    sort(&mut diagnostics);
    match result {
        Some(mut bundle) if !diagnostics.iter().any(Diagnostic::is_error) => {
            bundle.warnings = diagnostics;
            Ok(bundle)
        }
        _ => Err(diagnostics),
    }
}

fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (&a.file, a.line, a.column, &a.message).cmp(&(&b.file, b.line, b.column, &b.message))
    });
}

/// SHA-256 over every file's path and text, in path order, so the hash does not depend on
/// the order the directory was listed in.
///
/// Paths are taken relative to the files' common directory, so `policies`, `./policies` and
/// `/srv/regionctl/policies` give every controller the same hash for the same files.
fn bundle_hash(files: &[SourceFile]) -> String {
    let common = common_dir(files);
    let mut sorted: Vec<(&str, &SourceFile)> = files
        .iter()
        .map(|f| (f.path.get(common..).unwrap_or(&f.path), f))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut hasher = Sha256::new();
    for (path, f) in sorted {
        hasher.update(path.as_bytes());
        hasher.update([0u8]);
        hasher.update(f.text.as_bytes());
        hasher.update([0u8]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Length of the longest directory prefix (ending in `/`) all paths share.
fn common_dir(files: &[SourceFile]) -> usize {
    let Some(first) = files.first() else { return 0 };
    let mut len = first.path.rfind('/').map_or(0, |i| i + 1);
    for f in &files[1..] {
        while len > 0
            && !(f.path.len() >= len && f.path.as_bytes()[..len] == first.path.as_bytes()[..len])
        {
            len = first.path[..len - 1].rfind('/').map_or(0, |i| i + 1);
        }
    }
    len
}

fn read_file<'a>(
    file: &'a SourceFile,
    schema: &serde_json::Value,
    docs: &mut Vec<Doc<'a>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut reporter = Reporter::new(&file.path, &file.text, None);
    // The position tree first: its errors carry positions (the values are not parsed then).
    let parsed =
        yaml::parse_tree(&file.text).and_then(|trees| Ok((trees, yaml::parse_values(&file.text)?)));
    let (trees, values) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            reporter.at(
                Severity::Error,
                e.pos,
                "",
                format!("invalid YAML: {}", e.message),
            );
            diagnostics.append(&mut reporter.diagnostics);
            return;
        }
    };
    // serde-saphyr skips empty documents; skip them in the position tree too.
    let trees: Vec<Node> = trees.into_iter().filter(|t| !is_null(t)).collect();
    if values.is_empty() {
        reporter.at(
            Severity::Error,
            None,
            "",
            "file has no YAML document; expected `apiVersion: regionctl/v1`, `kind`, `metadata` and `spec`".into(),
        );
        diagnostics.append(&mut reporter.diagnostics);
        return;
    }
    let aligned = trees.len() == values.len();
    for (i, value) in values.into_iter().enumerate() {
        let tree = if aligned { trees.get(i).cloned() } else { None };
        let mut reporter = Reporter::new(&file.path, &file.text, tree.as_ref());
        if !value.is_object() {
            reporter.error(
                &FieldPath::root(),
                "a document must be a mapping with `apiVersion`, `kind`, `metadata` and `spec`",
                None,
            );
            diagnostics.append(&mut reporter.diagnostics);
            continue;
        }
        let mut body = value;
        let spec = body
            .as_object_mut()
            .and_then(|o| o.remove("spec"))
            .unwrap_or(serde_json::Value::Null);
        let header: Option<Header> = typed(
            body,
            &FieldPath::root(),
            "ServicePolicy",
            schema,
            &mut reporter,
        );
        if let Some(header) = header {
            if header.api_version != API_VERSION {
                reporter.error(
                    &FieldPath::root().key("apiVersion"),
                    format!(
                        "unsupported apiVersion `{}`; this build reads `{API_VERSION}`",
                        header.api_version
                    ),
                    Some(format!("write `apiVersion: {API_VERSION}`")),
                );
            }
            if spec.is_null() {
                reporter.error(&FieldPath::root(), "missing field `spec`", None);
                diagnostics.append(&mut reporter.diagnostics);
            } else {
                diagnostics.append(&mut reporter.diagnostics);
                docs.push(Doc {
                    file,
                    tree,
                    header,
                    spec,
                });
            }
        } else {
            diagnostics.append(&mut reporter.diagnostics);
        }
    }
}

fn is_null(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Scalar(s) if s.is_empty() || s == "~" || s == "null")
}

/// Name of a kind, as the schema spells it.
pub(super) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::ServicePolicy => "ServicePolicy",
        Kind::ControllerConfig => "ControllerConfig",
        Kind::PolicyTest => "PolicyTest",
    }
}

/// Deserializes `value` into `T`, reporting every unknown field (with a hint from the
/// schema) and the first type error, each located through the position tree.
pub(super) fn typed<T: DeserializeOwned>(
    value: serde_json::Value,
    prefix: &FieldPath,
    kind: &str,
    schema: &serde_json::Value,
    reporter: &mut Reporter<'_>,
) -> Option<T> {
    let mut unknown: Vec<FieldPath> = Vec::new();
    let result = {
        let mut on_unknown = |path: serde_ignored::Path<'_>| {
            unknown.push(from_ignored(prefix, &path));
        };
        let ignored = serde_ignored::Deserializer::new(value, &mut on_unknown);
        serde_path_to_error::deserialize::<_, T>(ignored)
    };
    for path in &unknown {
        let (parent, name) = match path.0.split_last() {
            Some((Seg::Key(name), parent)) => (parent.to_vec(), name.clone()),
            _ => (path.0.clone(), String::new()),
        };
        let allowed = super::schema::allowed_fields(schema, kind, &parent);
        let hint = match did_you_mean(&name, allowed.iter().map(String::as_str)) {
            Some(best) => Some(format!("did you mean `{best}`?")),
            None if !allowed.is_empty() => Some(format!("allowed here: {}", allowed.join(", "))),
            None => None,
        };
        reporter.error(path, format!("unknown field `{name}`"), hint);
    }
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            let path = join(prefix, &from_error_path(e.path()));
            let message = clean_serde_message(&e.inner().to_string());
            reporter.error(&path, message, None);
            None
        }
    }
}

fn join(prefix: &FieldPath, rest: &FieldPath) -> FieldPath {
    let mut segs = prefix.0.clone();
    segs.extend(rest.0.iter().cloned());
    FieldPath(segs)
}

fn from_error_path(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment;
    let mut segs = Vec::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => segs.push(Seg::Index(*index)),
            Segment::Map { key } => segs.push(Seg::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    FieldPath(segs)
}

fn from_ignored(prefix: &FieldPath, path: &serde_ignored::Path<'_>) -> FieldPath {
    fn walk(path: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
        use serde_ignored::Path;
        match path {
            Path::Root => {}
            Path::Seq { parent, index } => {
                walk(parent, out);
                out.push(Seg::Index(*index));
            }
            Path::Map { parent, key } => {
                walk(parent, out);
                out.push(Seg::Key(key.clone()));
            }
            Path::Some { parent }
            | Path::NewtypeStruct { parent }
            | Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    let mut segs = prefix.0.clone();
    walk(path, &mut segs);
    FieldPath(segs)
}

/// serde's messages are good, but mention Rust types; speak YAML instead.
fn clean_serde_message(message: &str) -> String {
    message
        .replace("u32", "a non-negative integer")
        .replace("u64", "a non-negative integer")
        .replace("u8", "an integer 0-255")
        .replace("a string", "text")
        .replace("struct ", "")
        .replace("invalid type: map", "expected a value, found a mapping")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_listing_order() {
        let a = SourceFile {
            path: "a.yaml".into(),
            text: "x".into(),
        };
        let b = SourceFile {
            path: "b.yaml".into(),
            text: "y".into(),
        };
        assert_eq!(
            bundle_hash(&[a.clone(), b.clone()]),
            bundle_hash(&[b.clone(), a.clone()])
        );
        // The same files under another spelling of their directory hash the same.
        let dotted = |p: &str, t: &str| SourceFile {
            path: format!("./{p}"),
            text: t.into(),
        };
        let plain = |p: &str, t: &str| SourceFile {
            path: format!("policies/{p}"),
            text: t.into(),
        };
        assert_eq!(
            bundle_hash(&[dotted("a.yaml", "x"), dotted("t/b.yaml", "y")]),
            bundle_hash(&[plain("a.yaml", "x"), plain("t/b.yaml", "y")])
        );
        let b2 = SourceFile {
            path: "b.yaml".into(),
            text: "z".into(),
        };
        assert_ne!(bundle_hash(&[a.clone(), b]), bundle_hash(&[a, b2]));
    }
}
