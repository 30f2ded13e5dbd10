//! `regionctl`: the multi-region failover control plane's command line.
//!
//! The binary stays thin: it parses arguments, reads files, and calls the pure core
//! (`regionctl-core`) — the same functions the controllers, game-days and the simulator use.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
