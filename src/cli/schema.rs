//! `regionctl schema`: the JSON Schema of the policy format.

use anyhow::Result;
use clap::Args;
use std::process::ExitCode;

/// Print the JSON Schema of policy files (for editors: add the modeline
/// `# yaml-language-server: $schema=<path to this schema>` to policy files).
#[derive(Debug, Args)]
pub struct SchemaArgs {}

pub fn run(_args: SchemaArgs) -> Result<ExitCode> {
    let schema = regionctl_core::policy::schema::policy_schema();
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
