//! Name templates such as `playback-{region}-{cell}-5xx`.
//!
//! Templates are parsed once at load time into parts, so rendering 30,000 record names costs
//! one small allocation each and no parsing.

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(String),
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl Template {
    /// Parses `text`; every `{name}` must be in `allowed`.
    pub fn parse(text: &str, allowed: &[&str]) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest.as_bytes()[open] == b'}' {
                return Err(TemplateError(format!(
                    "unmatched `}}` in template `{text}`"
                )));
            }
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                return Err(TemplateError(format!("unclosed `{{` in template `{text}`")));
            };
            let name = &after[..close];
            if !allowed.contains(&name) {
                return Err(TemplateError(format!(
                    "unknown placeholder `{{{name}}}` in template `{text}`; allowed here: {}",
                    allowed
                        .iter()
                        .map(|a| format!("{{{a}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            parts.push(Part::Var(name.to_string()));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// True when the template uses `{name}`.
    pub fn uses(&self, name: &str) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Var(v) if v == name))
    }

    /// Renders with `lookup` supplying each variable's value.
    pub fn render(&self, mut lookup: impl FnMut(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Var(v) => out.push_str(&lookup(v).unwrap_or_default()),
            }
        }
        // Rendered names live as long as the bundle (155,000 alarm names in a fleet):
        // without this, growth by doubling left a third of their bytes unused.
        out.shrink_to_fit();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let t = Template::parse("{cell}.play.example.com", &["cell", "region"]).unwrap();
        assert!(t.uses("cell"));
        assert!(!t.uses("region"));
        let s = t.render(|v| (v == "cell").then(|| "de-paid-ios".to_string()));
        assert_eq!(s, "de-paid-ios.play.example.com");
    }

    #[test]
    fn rejects_bad_templates() {
        assert!(Template::parse("{regon}-x", &["region"]).is_err());
        assert!(Template::parse("{region", &["region"]).is_err());
        assert!(Template::parse("region}", &["region"]).is_err());
    }
}
