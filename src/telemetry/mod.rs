//! The controller's logs: `tracing` events and spans, written to stderr by
//! `tracing-subscriber` as text or as one JSON object per line (ADR 0016).
//!
//! # Design
//! Only `regionctl run` installs a subscriber ([`init`]): the simulator and game-days call
//! the same pass, whose spans then cost a disabled check. What a line carries comes from
//! the spans it is in: `controller{region}` (the daemon), `pass{n}`, the phase
//! (`coordinate`, `observe`, …, target [`PHASE_TARGET`]), `decision{service, decision_id}`
//! and `step{step, kind}`, so `grep <decision id>` (text) or a filter on
//! `spans[].decision_id` (JSON) follows one decision through its steps.
//!
//! Which lines are written is `RUST_LOG` (the `EnvFilter` syntax, e.g.
//! `info,regionctl_aws=debug`); without it, [`DEFAULT_FILTER`].

pub mod span_metrics;

use anyhow::{Result, anyhow};
pub use regionctl_controller::trace::PHASE_TARGET;
use span_metrics::SpanMetrics;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// What is logged without `RUST_LOG`: regionctl's own lines from `info` up, the libraries'
/// (the AWS SDK, hyper) from `warn` up.
pub const DEFAULT_FILTER: &str =
    "warn,regionctl=info,regionctl_controller=info,regionctl_aws=info,regionctl::phase=info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event for people: time, level, spans with their fields, message, fields.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `message` and the event's fields at
    /// the top level, `target`, and `spans` (outermost first, each with its `name` and
    /// fields).
    Json,
}

/// The filter from `RUST_LOG`, or [`DEFAULT_FILTER`]; an invalid `RUST_LOG` is an error
/// naming it (not silently ignored).
pub fn filter() -> Result<EnvFilter> {
    match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(directives) => EnvFilter::try_new(&directives)
            .map_err(|e| anyhow!("RUST_LOG={directives:?} is not a valid log filter: {e}")),
        Err(_) => Ok(EnvFilter::new(DEFAULT_FILTER)),
    }
}

/// Installs the process's subscriber: `format` lines on stderr, filtered by [`filter`], and
/// the daemon's [`SpanMetrics`] if given (phases and AWS calls, whatever the filter).
/// Called once, by `regionctl run`; a second call is an error.
pub fn init(format: LogFormat, metrics: Option<SpanMetrics>) -> Result<()> {
    let filter = filter()?;
    let registry = tracing_subscriber::registry().with(metrics.map(SpanMetrics::filter));
    let installed = match format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(json_layer(std::io::stderr).with_filter(filter))
            .try_init(),
    };
    installed.map_err(|e| anyhow!("log subscriber not installed: {e}"))
}

/// The JSON lines' formatter, writing to `writer` (a function so that tests format
/// exactly as the daemon does).
pub fn json_layer<S, W>(writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_writer(writer)
}

#[cfg(test)]
mod tests;
