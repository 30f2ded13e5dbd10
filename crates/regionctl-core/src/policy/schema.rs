//! The JSON Schema of the policy format, derived from [`super::raw`] (`regionctl schema`).
//!
//! The loader also walks this schema to list the fields that *are* allowed where an unknown
//! one was written, so "did you mean" hints come from the same source as the format.

use super::raw::DocumentSchema;
use super::yaml::Seg;
use serde_json::Value;

/// The JSON Schema (draft 2020-12) for every regionctl document.
pub fn policy_schema() -> Value {
    let schema = schemars::schema_for!(DocumentSchema);
    canonical(serde_json::to_value(schema).unwrap_or(Value::Null))
}

/// Keys sorted at every level, so the printed schema does not depend on whether some
/// dependency turned on serde_json's `preserve_order` (feature unification).
pub fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// The fields allowed in the mapping at `path` (a path into a document of `kind`).
pub fn allowed_fields(schema: &Value, kind: &str, path: &[Seg]) -> Vec<String> {
    let Some(mut node) = select_kind(schema, schema, kind) else {
        return Vec::new();
    };
    for seg in path {
        let Some(next) = step(schema, node, seg) else {
            return Vec::new();
        };
        node = next;
    }
    let node = resolve(schema, node);
    let mut fields: Vec<String> = object_branch(schema, node)
        .and_then(|o| o.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    fields.sort();
    fields
}

fn select_kind<'s>(root: &'s Value, node: &'s Value, kind: &str) -> Option<&'s Value> {
    let node = resolve(root, node);
    let branches = node.get("oneOf").and_then(Value::as_array)?;
    branches.iter().find(|b| {
        resolve(root, b)
            .pointer("/properties/kind/const")
            .and_then(Value::as_str)
            == Some(kind)
    })
}

fn resolve<'s>(root: &'s Value, mut node: &'s Value) -> &'s Value {
    // References are never cyclic in our format, but bound the walk anyway.
    for _ in 0..16 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference.trim_start_matches('#');
                match root.pointer(pointer) {
                    Some(target) => node = target,
                    None => return node,
                }
            }
            None => return node,
        }
    }
    node
}

/// For `Option<T>` schemas (`anyOf: [T, null]`), the branch that is an object or array.
fn object_branch<'s>(root: &'s Value, node: &'s Value) -> Option<&'s Value> {
    let node = resolve(root, node);
    if node.get("properties").is_some()
        || node.get("items").is_some()
        || node.get("additionalProperties").is_some()
    {
        return Some(node);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = node.get(key).and_then(Value::as_array) {
            for b in branches {
                if let Some(found) = object_branch(root, b) {
                    return Some(found);
                }
            }
        }
    }
    None
}

fn step<'s>(root: &'s Value, node: &'s Value, seg: &Seg) -> Option<&'s Value> {
    let node = object_branch(root, node)?;
    match seg {
        Seg::Key(k) => node
            .get("properties")
            .and_then(|p| p.get(k))
            .or_else(|| node.get("additionalProperties").filter(|v| v.is_object())),
        Seg::Index(_) => node.get("items"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_lists_fields_by_path() {
        let schema = policy_schema();
        let top = allowed_fields(&schema, "ServicePolicy", &[]);
        assert!(top.contains(&"spec".to_string()), "{top:?}");
        let safety = allowed_fields(
            &schema,
            "ServicePolicy",
            &[Seg::Key("spec".into()), Seg::Key("safety".into())],
        );
        assert!(safety.contains(&"cooldown_secs".to_string()), "{safety:?}");
        let region = allowed_fields(
            &schema,
            "ServicePolicy",
            &[
                Seg::Key("spec".into()),
                Seg::Key("regions".into()),
                Seg::Index(0),
            ],
        );
        assert!(region.contains(&"weight".to_string()), "{region:?}");
    }

    #[test]
    fn schema_denies_unknown_fields() {
        let schema = policy_schema();
        let text = schema.to_string();
        assert!(text.contains("\"additionalProperties\":false"));
    }
}
