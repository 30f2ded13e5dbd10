//! `regionctl test`: run policy unit tests.

use super::{Output, load_bundle};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run policy tests (`kind: PolicyTest` files): given down, degraded or unknown regions or
/// cells, expect this traffic, these steps, these alerts. Output like `opa test`.
///
/// Exit code 0 when every case passes, 1 otherwise.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Policy directory (policies and their tests, e.g. `policies/` with `policies/tests/`).
    #[arg(default_value = "policies", env = "REGIONCTL_POLICIES")]
    dir: PathBuf,
    /// Show passing cases too.
    #[arg(short, long)]
    verbose: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub fn run(args: TestArgs) -> Result<ExitCode> {
    let Some(bundle) = load_bundle(std::slice::from_ref(&args.dir), args.output)? else {
        return Ok(ExitCode::from(1));
    };
    let results = regionctl_core::testing::run_all(&bundle);
    let passed = results.iter().filter(|r| r.passed()).count();
    let failed = results.len() - passed;
    if args.output == Output::Json {
        let cases: Vec<serde_json::Value> = results
            .iter()
            .map(|r| serde_json::json!({ "file": r.file, "name": r.name, "passed": r.passed(), "failures": r.failures }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "passed": passed, "failed": failed, "cases": cases })
            )?
        );
    } else {
        let mut file = "";
        for r in &results {
            if r.passed() && !args.verbose {
                continue;
            }
            if r.file != file {
                println!("{}:", r.file);
                file = &r.file;
            }
            if r.passed() {
                println!("  PASS: {}", r.name);
            } else {
                println!("  FAIL: {}", r.name);
                for f in &r.failures {
                    println!("    {f}");
                }
            }
        }
        if results.is_empty() {
            println!(
                "no policy tests found under {} (add `kind: PolicyTest` files)",
                args.dir.display()
            );
        }
        println!("{}", "-".repeat(80));
        println!("PASS: {passed}/{}", results.len());
        if failed > 0 {
            println!("FAIL: {failed}/{}", results.len());
        }
    }
    Ok(if failed == 0 && !results.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
