//! An IAM policy document as the generator writes it: `Allow` statements only, each with a
//! `Sid`, sorted actions, sorted resources and optional conditions, serialized in a stable
//! order so that a regenerated file differs only where the policies changed.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// IAM's limit for a customer-managed policy, in characters without whitespace.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

/// Actions AWS gives no resource type: the only ones a generated statement grants on `*`.
/// (Service Authorization Reference, per service; `DescribeListeners` like every ELB
/// `Describe*`.)
pub const NO_RESOURCE_TYPE: &[&str] = &[
    "cloudwatch:GetMetricData",
    "cloudwatch:PutMetricData",
    "ecs:CreateCluster",
    "ecs:RegisterTaskDefinition",
    "elasticloadbalancing:DescribeListeners",
    "route53:CreateHealthCheck",
    "route53:CreateHostedZone",
    "route53:ListHealthChecks",
    "route53:ListHostedZonesByName",
    "sts:GetCallerIdentity",
];

/// A policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    /// Always `2012-10-17`.
    #[serde(rename = "Version")]
    pub version: &'static str,
    /// The statements, in the generator's order.
    #[serde(rename = "Statement")]
    pub statements: Vec<Statement>,
}

/// Condition operator → condition key → values.
pub type Conditions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// One `Allow` statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// Says what the statement is for (and, on `*`, why nothing narrower exists).
    #[serde(rename = "Sid")]
    pub sid: String,
    /// Always `Allow`.
    #[serde(rename = "Effect")]
    pub effect: &'static str,
    /// Actions, sorted.
    #[serde(rename = "Action")]
    pub actions: Vec<String>,
    /// Resources, sorted.
    #[serde(rename = "Resource")]
    pub resources: Vec<String>,
    /// Conditions, if any.
    #[serde(rename = "Condition", skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: Conditions,
}

impl Statement {
    /// Allows `actions` on `resources` (sorted, duplicates dropped).
    pub fn allow(
        sid: &str,
        actions: &[&str],
        resources: impl IntoIterator<Item = String>,
    ) -> Statement {
        let actions: BTreeSet<&str> = actions.iter().copied().collect();
        let resources: BTreeSet<String> = resources.into_iter().collect();
        Statement {
            sid: sid.to_string(),
            effect: "Allow",
            actions: actions.into_iter().map(str::to_string).collect(),
            resources: resources.into_iter().collect(),
            conditions: Conditions::new(),
        }
    }

    /// Allows `actions`, which have no resource type ([`NO_RESOURCE_TYPE`]), on `*`.
    pub fn anywhere(sid: &str, actions: &[&str]) -> Statement {
        Statement::allow(sid, actions, ["*".to_string()])
    }

    /// Adds the condition `operator: { key: values }` (values sorted, duplicates dropped).
    pub fn when(
        mut self,
        operator: &str,
        key: &str,
        values: impl IntoIterator<Item = String>,
    ) -> Statement {
        let values: BTreeSet<String> = values.into_iter().collect();
        self.conditions
            .entry(operator.to_string())
            .or_default()
            .insert(key.to_string(), values.into_iter().collect());
        self
    }
}

impl Document {
    /// A document of `statements`, dropping those left without resources (a bundle that
    /// names no ALB needs no listener statement).
    pub fn new(statements: Vec<Statement>) -> Document {
        Document {
            version: "2012-10-17",
            statements: statements
                .into_iter()
                .filter(|s| !s.resources.is_empty())
                .collect(),
        }
    }

    /// The document as the files in `deploy/` hold it: pretty JSON and a final newline.
    pub fn to_pretty_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Its size as IAM counts it: characters without whitespace.
    pub fn size(&self) -> usize {
        serde_json::to_string(self)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .count()
    }

    /// The document split into documents of at most [`MANAGED_POLICY_LIMIT`] characters
    /// each (IAM's limit for one managed policy; a role takes several). Statements are
    /// placed first-fit in order; one that is too large alone is split by its resources
    /// (`Sid` numbered), never by its conditions: a condition must hold for a whole
    /// request. Errors, naming the statement, when one resource with its conditions is
    /// already too large.
    pub fn split(&self) -> Result<Vec<Document>, String> {
        let mut parts: Vec<Document> = Vec::new();
        for statement in &self.statements {
            for piece in fitting(statement)? {
                match parts.iter_mut().find(|d| d.fits(&piece)) {
                    Some(doc) => doc.statements.push(piece),
                    None => parts.push(Document::new(vec![piece])),
                }
            }
        }
        Ok(parts)
    }

    /// Whether `statement` can join this document within the limit.
    fn fits(&self, statement: &Statement) -> bool {
        let mut with = self.clone();
        with.statements.push(statement.clone());
        with.size() <= MANAGED_POLICY_LIMIT
    }

    /// Every action it grants.
    pub fn actions(&self) -> BTreeSet<&str> {
        self.statements
            .iter()
            .flat_map(|s| s.actions.iter().map(String::as_str))
            .collect()
    }
}

/// `statement` as statements that each fit a document alone: itself, or its resources in
/// as few chunks as fit.
fn fitting(statement: &Statement) -> Result<Vec<Statement>, String> {
    let alone = |s: &Statement| Document::new(vec![s.clone()]).size() <= MANAGED_POLICY_LIMIT;
    if alone(statement) {
        return Ok(vec![statement.clone()]);
    }
    let mut pieces: Vec<Statement> = Vec::new();
    let mut current = Statement {
        resources: Vec::new(),
        ..statement.clone()
    };
    for resource in &statement.resources {
        let mut grown = current.clone();
        grown.resources.push(resource.clone());
        if alone(&grown) {
            current = grown;
            continue;
        }
        if current.resources.is_empty() {
            return Err(format!(
                "statement {} is over IAM's {MANAGED_POLICY_LIMIT} characters for one managed policy with a single resource ({resource}): its conditions are too long to split",
                statement.sid
            ));
        }
        pieces.push(current);
        current = Statement {
            resources: vec![resource.clone()],
            ..statement.clone()
        };
    }
    pieces.push(current);
    for (i, piece) in pieces.iter_mut().enumerate() {
        piece.sid = format!("{}{}", statement.sid, i + 1);
    }
    Ok(pieces)
}
