//! Compiler-style diagnostics: every problem, with file, line, column, field and a hint.
//!
//! Validation never stops at the first problem; it collects [`Diagnostic`]s and the caller
//! decides (errors reject the bundle whole, warnings do not unless `--deny-warnings`).

use super::yaml::{FieldPath, Pos};
use serde::Serialize;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The bundle is rejected.
    Error,
    /// The bundle is accepted; someone should look.
    Warning,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file, as given to the loader (always present).
    pub file: String,
    /// 1-based line, if known.
    pub line: Option<u32>,
    /// 1-based column, if known.
    pub column: Option<u32>,
    /// The field path, e.g. `spec.regions[1].weight` (empty for file-level problems).
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
    /// The source line, for display.
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}: {}", self.message)?;
        match (self.line, self.column) {
            (Some(line), Some(column)) => writeln!(f, "  --> {}:{line}:{column}", self.file)?,
            (Some(line), None) => writeln!(f, "  --> {}:{line}", self.file)?,
            _ => writeln!(f, "  --> {}", self.file)?,
        }
        if let (Some(src), Some(line)) = (&self.source_line, self.line) {
            let gutter = line.to_string().len();
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{line} | {src}")?;
            let col = self.column.unwrap_or(1).max(1) as usize;
            writeln!(f, "{:gutter$} | {:>col$}", "", "^")?;
        }
        if !self.field.is_empty() {
            writeln!(f, "  = field: {}", self.field)?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = hint: {hint}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one file, resolving field paths to positions.
pub struct Reporter<'a> {
    file: &'a str,
    text: &'a str,
    tree: Option<&'a super::yaml::Node>,
    /// Everything reported so far.
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    /// A reporter for `file` with its text and (if it parsed) its position tree.
    pub fn new(file: &'a str, text: &'a str, tree: Option<&'a super::yaml::Node>) -> Self {
        Reporter {
            file,
            text,
            tree,
            diagnostics: Vec::new(),
        }
    }

    /// Reports a problem at a position.
    pub fn at(&mut self, severity: Severity, pos: Option<Pos>, field: &str, message: String) {
        self.push(severity, pos, field, message, None);
    }

    /// Reports a problem at a field, located through the position tree.
    pub fn field(
        &mut self,
        severity: Severity,
        path: &FieldPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let pos = self.tree.map(|t| t.locate(path).0);
        self.push(severity, pos, &path.to_string(), message.into(), hint);
    }

    /// Shorthand for an error at a field.
    pub fn error(&mut self, path: &FieldPath, message: impl Into<String>, hint: Option<String>) {
        self.field(Severity::Error, path, message, hint);
    }

    /// Shorthand for a warning at a field.
    pub fn warn(&mut self, path: &FieldPath, message: impl Into<String>, hint: Option<String>) {
        self.field(Severity::Warning, path, message, hint);
    }

    fn push(
        &mut self,
        severity: Severity,
        pos: Option<Pos>,
        field: &str,
        message: String,
        hint: Option<String>,
    ) {
        let source_line = pos.and_then(|p| {
            self.text
                .lines()
                .nth((p.line as usize).saturating_sub(1))
                .map(str::to_string)
        });
        self.diagnostics.push(Diagnostic {
            severity,
            file: self.file.to_string(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            field: field.to_string(),
            message,
            hint,
            source_line,
        });
    }
}

/// The closest candidate to `word` by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(word, candidate);
        // A quarter of the length: catches typos, not different names (us-west-2 ≠ eu-west-1).
        let limit = (candidate.len().max(word.len()) / 4).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Edit distance counting a swap of two neighbouring characters as one edit (optimal
/// string alignment), so `teir` → `tier` is a typo. Small strings only: field and region
/// names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let regions = ["eu-central-1", "eu-west-1", "us-east-1"];
        assert_eq!(
            did_you_mean("eu-centrl-1", regions).as_deref(),
            Some("eu-central-1")
        );
        assert_eq!(did_you_mean("ap-south-2", regions), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("teir", "tier"), 1);
        assert_eq!(
            did_you_mean("teir", ["tier", "mode"]).as_deref(),
            Some("tier")
        );
    }

    #[test]
    fn renders_like_a_compiler() {
        let text = "a: 1\nweight: 300\n";
        let mut r = Reporter::new("p.yaml", text, None);
        r.at(
            Severity::Error,
            Some(Pos { line: 2, column: 9 }),
            "spec.weight",
            "weight 300 is out of range".into(),
        );
        let out = r.diagnostics[0].to_string();
        assert!(out.contains("--> p.yaml:2:9"), "{out}");
        assert!(out.contains("2 | weight: 300"), "{out}");
        assert!(out.contains("= field: spec.weight"), "{out}");
    }
}
