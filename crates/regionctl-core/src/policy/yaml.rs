//! Bounded YAML reading with source positions.
//!
//! Two passes over each file, both bounded:
//! 1. [`parse_tree`] builds a small position-annotated tree from parser events. It never
//!    expands aliases (an alias is a leaf), so it is linear in the input; it is used only to
//!    map a field path (`spec.regions[2].weight`) back to a line and column.
//! 2. [`parse_values`] deserializes each document into a `serde_json::Value` with
//!    `serde-saphyr`, whose budget caps events, nodes, depth, anchors and alias replay (the
//!    "billion laughs" defence). Typed deserialization then runs on those values.
//!
//! # Limits
//! Every limit is a named constant; the fuzz target (`fuzz/fuzz_targets/load_policy.rs`)
//! checks that no input gets past them with a panic or unbounded time or memory.

use granit::{Event, Parser};
use serde_saphyr::granit_parser as granit;

/// Largest policy file accepted, in bytes. Real policies are a few KiB; 1 MiB leaves room
/// for generated ones without letting a stray file stall a reload.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Deepest nesting of mappings and sequences. Policies nest about 8 deep.
pub const MAX_DEPTH: usize = 64;
/// Most parser events (scalars, collection starts and ends) in one file.
pub const MAX_EVENTS: usize = 400_000;
/// Most alias uses (`*name`) in one file.
pub const MAX_ALIASES: usize = 1_000;
/// Most events replayed by alias expansion in one file.
pub const MAX_ALIAS_REPLAY_EVENTS: usize = 100_000;
/// Most YAML documents in one file.
pub const MAX_DOCUMENTS: usize = 256;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A path into a document, rendered as `spec.regions[2].weight`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    /// The empty path (the document root).
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path plus a key.
    pub fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_string()));
        FieldPath(segs)
    }

    /// This path plus an index.
    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        FieldPath(segs)
    }

    /// Parses `spec.regions[2].weight` (keys may not contain `.` or `[`).
    pub fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(open) = rest.find('[') {
                let (key, tail) = rest.split_at(open);
                if !key.is_empty() {
                    segs.push(Seg::Key(key.to_string()));
                }
                rest = tail;
                while let Some(stripped) = rest.strip_prefix('[') {
                    let Some(close) = stripped.find(']') else {
                        break;
                    };
                    if let Ok(i) = stripped[..close].parse() {
                        segs.push(Seg::Index(i));
                    }
                    rest = &stripped[close + 1..];
                }
            } else {
                segs.push(Seg::Key(rest.to_string()));
            }
        }
        FieldPath(segs)
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for seg in &self.0 {
            match seg {
                Seg::Key(k) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Seg::Index(i) => write!(f, "[{i}]")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// A node of the position tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What it is.
    pub kind: NodeKind,
}

/// Node contents.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar (its text, unresolved).
    Scalar(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping: (key text, key position, value).
    Map(Vec<(String, Pos, Node)>),
    /// An alias (`*name`); not expanded here.
    Alias,
}

impl Node {
    /// The node at `path`, or the deepest ancestor that exists, together with whether the
    /// whole path was found. For a key path, the position is the key's own position, which
    /// is where an editor should put the cursor.
    pub fn locate(&self, path: &FieldPath) -> (Pos, bool) {
        let mut node = self;
        let mut pos = self.pos;
        for seg in &path.0 {
            match (seg, &node.kind) {
                (Seg::Key(k), NodeKind::Map(entries)) => {
                    match entries.iter().find(|(key, _, _)| key == k) {
                        Some((_, key_pos, value)) => {
                            pos = *key_pos;
                            node = value;
                        }
                        None => return (pos, false),
                    }
                }
                (Seg::Index(i), NodeKind::Seq(items)) => match items.get(*i) {
                    Some(item) => {
                        pos = item.pos;
                        node = item;
                    }
                    None => return (pos, false),
                },
                _ => return (pos, false),
            }
        }
        (pos, true)
    }

    /// Position of the value (not the key) at `path`, if it exists.
    pub fn value_pos(&self, path: &FieldPath) -> Option<Pos> {
        let mut node = self;
        for seg in &path.0 {
            node = match (seg, &node.kind) {
                (Seg::Key(k), NodeKind::Map(entries)) => {
                    &entries.iter().find(|(key, _, _)| key == k)?.2
                }
                (Seg::Index(i), NodeKind::Seq(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node.pos)
    }
}

/// A YAML error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// What is wrong.
    pub message: String,
    /// Where, if known.
    pub pos: Option<Pos>,
}

fn pos_of(marker: &granit::Marker) -> Pos {
    Pos {
        line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
        column: u32::try_from(marker.col().saturating_add(1)).unwrap_or(u32::MAX),
    }
}

/// Refuses a file over [`MAX_FILE_BYTES`] before any parsing.
fn check_size(text: &str) -> Result<(), YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(YamlError {
            message: format!(
                "file is {} bytes; the limit is {MAX_FILE_BYTES} bytes",
                text.len()
            ),
            pos: None,
        });
    }
    Ok(())
}

/// Builds one position tree per document, within the limits above.
pub fn parse_tree(text: &str) -> Result<Vec<Node>, YamlError> {
    check_size(text)?;
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    // Open collections: (start position, partially built contents, pending key).
    let mut stack: Vec<(Pos, Partial)> = Vec::new();
    let mut events = 0usize;
    let mut aliases = 0usize;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError {
            message: e.info().to_string(),
            pos: Some(pos_of(e.marker())),
        })?;
        events += 1;
        if events > MAX_EVENTS {
            return Err(YamlError {
                message: format!("more than {MAX_EVENTS} YAML events; the file is too large"),
                pos: Some(pos_of(&span.start)),
            });
        }
        let pos = pos_of(&span.start);
        let finished: Option<Node> = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => None,
            Event::DocumentStart(..) => {
                if docs.len() >= MAX_DOCUMENTS {
                    return Err(YamlError {
                        message: format!("more than {MAX_DOCUMENTS} documents in one file"),
                        pos: Some(pos),
                    });
                }
                None
            }
            Event::Scalar(text, ..) => Some(Node {
                pos,
                kind: NodeKind::Scalar(text.into_owned()),
            }),
            Event::Alias(_) | Event::UnresolvedAlias(_) => {
                aliases += 1;
                if aliases > MAX_ALIASES {
                    return Err(YamlError {
                        message: format!("more than {MAX_ALIASES} aliases in one file"),
                        pos: Some(pos),
                    });
                }
                Some(Node {
                    pos,
                    kind: NodeKind::Alias,
                })
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError {
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                        pos: Some(pos),
                    });
                }
                let partial = if matches!(event, Event::SequenceStart(..)) {
                    Partial::Seq(Vec::new())
                } else {
                    Partial::Map(Vec::new(), None)
                };
                stack.push((pos, partial));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some((start, Partial::Seq(items))) => Some(Node {
                    pos: start,
                    kind: NodeKind::Seq(items),
                }),
                Some((start, Partial::Map(entries, _))) => Some(Node {
                    pos: start,
                    kind: NodeKind::Map(entries),
                }),
                None => None,
            },
            // Anchors and comments carry no structure.
            _ => None,
        };
        if let Some(node) = finished {
            match stack.last_mut() {
                None => docs.push(node),
                Some((_, Partial::Seq(items))) => items.push(node),
                Some((_, Partial::Map(entries, pending))) => match pending.take() {
                    None => {
                        // A key. Non-scalar keys are unusual in policies; keep their position.
                        let key = match &node.kind {
                            NodeKind::Scalar(s) => s.clone(),
                            _ => String::from("<complex key>"),
                        };
                        *pending = Some((key, node.pos));
                    }
                    Some((key, key_pos)) => entries.push((key, key_pos, node)),
                },
            }
        }
    }
    Ok(docs)
}

enum Partial {
    Seq(Vec<Node>),
    Map(Vec<(String, Pos, Node)>, Option<(String, Pos)>),
}

/// Deserializes every document of `text` into JSON values, under a strict budget.
pub fn parse_values(text: &str) -> Result<Vec<serde_json::Value>, YamlError> {
    check_size(text)?;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = MAX_EVENTS;
    budget.max_aliases = MAX_ALIASES;
    budget.max_anchors = MAX_ALIASES;
    budget.max_depth = MAX_DEPTH;
    budget.max_documents = MAX_DOCUMENTS;
    budget.max_nodes = MAX_EVENTS;
    budget.max_total_scalar_bytes = MAX_FILE_BYTES * 4;
    budget.max_recorded_anchor_events = MAX_ALIAS_REPLAY_EVENTS;
    budget.max_recorded_anchor_bytes = MAX_FILE_BYTES * 4;
    budget.max_merge_keys = MAX_ALIASES;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = MAX_ALIAS_REPLAY_EVENTS;
    options.alias_limits.max_replay_stack_depth = MAX_DEPTH;
    options.with_snippet = false;
    serde_saphyr::from_str_multiple_with_options::<serde_json::Value, Vec<_>>(text, options)
        .map_err(|e| YamlError {
            message: first_line(&e.to_string()),
            pos: e.location().map(|l| Pos {
                line: u32::try_from(l.line()).unwrap_or(u32::MAX),
                column: u32::try_from(l.column()).unwrap_or(u32::MAX),
            }),
        })
}

/// The first line of a parser message, without library advice or the position (which the
/// diagnostic shows itself).
fn first_line(message: &str) -> String {
    let mut line = message.lines().next().unwrap_or(message).trim().to_string();
    if let Some(i) = line.find(", set DuplicateKeyPolicy") {
        line.truncate(i);
    }
    if let Some(i) = line.rfind(" at line ") {
        line.truncate(i);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_keys_and_indices() {
        let text = "a:\n  b:\n    - x: 1\n    - x: 2\n";
        let docs = parse_tree(text).unwrap();
        assert_eq!(docs.len(), 1);
        let (pos, found) = docs[0].locate(&FieldPath::parse("a.b[1].x"));
        assert!(found);
        assert_eq!(pos, Pos { line: 4, column: 7 });
        let (pos, found) = docs[0].locate(&FieldPath::parse("a.b[1].y"));
        assert!(!found);
        assert_eq!(pos.line, 4);
    }

    #[test]
    fn path_round_trips() {
        let p = FieldPath::parse("spec.regions[2].weight");
        assert_eq!(p.to_string(), "spec.regions[2].weight");
        assert_eq!(p.0.len(), 4);
    }

    #[test]
    fn depth_is_bounded() {
        let text = "[".repeat(MAX_DEPTH + 5) + &"]".repeat(MAX_DEPTH + 5);
        let err = parse_tree(&text).unwrap_err();
        assert!(err.message.contains("nesting"), "{}", err.message);
        assert!(parse_values(&text).is_err());
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(parse_values(&text).is_err());
        // The tree does not expand aliases, so it stays small either way.
        assert!(parse_tree(&text).is_ok());
    }

    #[test]
    fn size_is_bounded() {
        let text = "a: ".to_string() + &"x".repeat(MAX_FILE_BYTES);
        assert!(parse_tree(&text).is_err());
        assert!(parse_values(&text).is_err());
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_tree("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.is_some());
    }
}
