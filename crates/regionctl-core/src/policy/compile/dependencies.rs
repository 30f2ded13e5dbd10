//! `depends_on`: other services, by name, resolved to service indices.

use super::ServiceInput;
use crate::policy::diagnostics::{Reporter, did_you_mean};
use crate::policy::yaml::FieldPath;

/// Indices of the services this one depends on, each once. Cycles through other services
/// are found later, over the whole bundle (`validate::dependency_order`).
pub(super) fn compile_dependencies(
    input: &ServiceInput<'_>,
    base: &FieldPath,
    r: &mut Reporter<'_>,
) -> Vec<usize> {
    let mut depends_on = Vec::new();
    for (i, dep) in input.spec.depends_on.iter().enumerate() {
        let path = base.key("depends_on").index(i);
        if dep == input.name {
            r.error(
                &path,
                format!("dependency cycle: {dep} → depends on → {dep}"),
                Some("a service cannot depend on itself".into()),
            );
            continue;
        }
        match input.service_names.iter().position(|n| n == dep) {
            Some(ix) if !depends_on.contains(&ix) => depends_on.push(ix),
            Some(_) => r.warn(&path, format!("`{dep}` listed twice"), None),
            None => {
                let hint = did_you_mean(dep, input.service_names.iter().copied())
                    .map(|b| format!("did you mean `{b}`?"));
                r.error(&path, format!("unknown service `{dep}`"), hint);
            }
        }
    }
    depends_on
}
