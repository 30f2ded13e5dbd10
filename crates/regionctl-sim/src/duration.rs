//! Durations as people write them in scenarios: `90s`, `5m`, `1h30m`, `2m30s`, or a number
//! of seconds.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;

/// Whole seconds, written `1h30m`, `5m`, `90s` or `90`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Dur(pub u64);

impl Dur {
    /// Seconds.
    pub fn secs(self) -> u64 {
        self.0
    }

    /// Parses `1h30m`, `5m`, `90s`, `90`.
    pub fn parse(text: &str) -> Result<Dur, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty duration; write e.g. `90s`, `5m` or `1h30m`".into());
        }
        if let Ok(n) = t.parse::<u64>() {
            return Ok(Dur(n));
        }
        let mut total: u64 = 0;
        let mut number = String::new();
        let mut seen_unit = false;
        for ch in t.chars() {
            if ch.is_ascii_digit() {
                number.push(ch);
                continue;
            }
            let unit = match ch {
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => {
                    return Err(format!(
                        "`{text}`: unexpected `{ch}`; write e.g. `90s`, `5m` or `1h30m`"
                    ));
                }
            };
            let n: u64 = number
                .parse()
                .map_err(|_| format!("`{text}`: a number must come before `{ch}`"))?;
            total = total.saturating_add(n.saturating_mul(unit));
            number.clear();
            seen_unit = true;
        }
        if !number.is_empty() || !seen_unit {
            return Err(format!(
                "`{text}`: a number without a unit at the end; write e.g. `90s`"
            ));
        }
        Ok(Dur(total))
    }
}

impl std::fmt::Display for Dur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (h, m, s) = (self.0 / 3600, (self.0 / 60) % 60, self.0 % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if s > 0 || out.is_empty() {
            out.push_str(&format!("{s}s"));
        }
        f.write_str(&out)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(Dur(n)),
            Raw::Text(t) => Dur::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        let value = serde_json::json!({
            "description": "A duration: `90s`, `5m`, `1h30m`, or whole seconds.",
            "oneOf": [
                { "type": "string", "pattern": "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$" },
                { "type": "integer", "minimum": 0 }
            ]
        });
        match value {
            serde_json::Value::Object(map) => Schema::from(map),
            _ => Schema::default(),
        }
    }
}

/// `mm:ss` (or `h:mm:ss`) of a virtual time offset, for timelines.
pub fn clock(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60)
    } else {
        format!("{:02}:{:02}", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        assert_eq!(Dur::parse("90s"), Ok(Dur(90)));
        assert_eq!(Dur::parse("5m"), Ok(Dur(300)));
        assert_eq!(Dur::parse("1h30m"), Ok(Dur(5400)));
        assert_eq!(Dur::parse("2m30s"), Ok(Dur(150)));
        assert_eq!(Dur::parse("45"), Ok(Dur(45)));
        assert!(Dur::parse("5x").is_err());
        assert!(Dur::parse("5m3").is_err());
        assert_eq!(Dur(5400).to_string(), "1h30m");
        assert_eq!(Dur(150).to_string(), "2m30s");
        assert_eq!(clock(330), "05:30");
    }
}
