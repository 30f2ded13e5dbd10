//! Metrics read from spans: how long each phase of a pass took, and which AWS API
//! operations were called — a `tracing` layer, so that the controller crate reads no clock
//! and the AWS adapters need no hook of their own.
//!
//! # Design
//! - **Phases**: the pass's phase spans ([`PHASE_TARGET`], `regionctl_controller::trace`)
//!   are timed from their first entry to their last exit (a phase span entered across
//!   several awaits is one phase; one never entered, e.g. `record` while acting, is not
//!   counted), observed on close into `regionctl_pass_phase_seconds{phase}`.
//! - **AWS API calls**: every SDK operation runs inside a span the SDK's generated code
//!   opens with the OpenTelemetry RPC fields `rpc.service` and `rpc.method`
//!   (`SQS.ReceiveMessage`); each such span counts one call in
//!   `regionctl_aws_api_calls_total{service, operation}` (its retries are attempts inside
//!   it, not calls). Those spans are at debug level: this layer's own filter
//!   ([`SpanMetrics::filter`]) takes them whatever `RUST_LOG` says. The test
//!   `counts_an_sdk_call_by_service_and_operation` fails if an SDK upgrade drops the fields.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use regionctl_controller::trace::PHASE_TARGET;
use std::time::Instant;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterFn, Filtered};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The field naming the AWS service in the SDK's operation spans.
const RPC_SERVICE: &str = "rpc.service";
/// The field naming the operation.
const RPC_METHOD: &str = "rpc.method";

/// `phase` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabel {
    /// `coordinate`, `observe`, `live`, `evaluate`, `plan`, `decide`, `record`.
    pub phase: String,
}

/// `service`, `operation` labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiCallLabels {
    /// The SDK's service name (`Route 53`, `DynamoDB`, `SQS`, …).
    pub service: String,
    /// The operation (`ChangeResourceRecordSets`, …).
    pub operation: String,
}

/// The layer; its families are the ones `/metrics` shows (`crate::daemon::metrics`).
#[derive(Clone)]
pub struct SpanMetrics {
    /// Phase durations.
    pub phases: Family<PhaseLabel, Histogram>,
    /// AWS API calls.
    pub api_calls: Family<ApiCallLabels, Counter>,
}

/// When a phase span was first entered and last exited.
#[derive(Debug, Clone, Copy, Default)]
struct PhaseTiming {
    first_entry: Option<Instant>,
    last_exit: Option<Instant>,
}

/// The spans this layer reads, whatever the log filter: phases and SDK operations.
fn wanted(meta: &Metadata<'_>) -> bool {
    meta.is_span() && (meta.target() == PHASE_TARGET || meta.fields().field(RPC_SERVICE).is_some())
}

impl SpanMetrics {
    /// This layer behind its own filter ([`wanted`] spans only).
    pub fn filter<S>(self) -> Filtered<Self, FilterFn, S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        self.with_filter(FilterFn::new(wanted as fn(&Metadata<'_>) -> bool))
    }
}

/// Reads `rpc.service` and `rpc.method` from an operation span's fields.
#[derive(Default)]
struct RpcFields {
    service: Option<String>,
    operation: Option<String>,
}

impl Visit for RpcFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            RPC_SERVICE => self.service = Some(value.to_string()),
            RPC_METHOD => self.operation = Some(value.to_string()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), RPC_SERVICE | RPC_METHOD) {
            self.record_str(field, format!("{value:?}").trim_matches('"'));
        }
    }
}

impl<S> Layer<S> for SpanMetrics
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.target() == PHASE_TARGET {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().insert(PhaseTiming::default());
            }
            return;
        }
        let mut rpc = RpcFields::default();
        attrs.record(&mut rpc);
        if let (Some(service), Some(operation)) = (rpc.service, rpc.operation) {
            let labels = ApiCallLabels { service, operation };
            self.api_calls.get_or_create(&labels).inc();
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(timing) = span.extensions_mut().get_mut::<PhaseTiming>()
        {
            timing.first_entry.get_or_insert_with(Instant::now);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(timing) = span.extensions_mut().get_mut::<PhaseTiming>()
        {
            timing.last_exit = Some(Instant::now());
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let timing = span.extensions().get::<PhaseTiming>().copied();
        if let Some(PhaseTiming {
            first_entry: Some(first),
            last_exit: Some(last),
        }) = timing
        {
            let phase = span.name().to_string();
            let secs = last.saturating_duration_since(first).as_secs_f64();
            self.phases
                .get_or_create(&PhaseLabel { phase })
                .observe(secs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;
    use regionctl_controller::trace::Phase;
    use tracing_subscriber::layer::SubscriberExt;

    fn metrics() -> (SpanMetrics, Registry) {
        let m = SpanMetrics {
            phases: Family::new_with_constructor(|| Histogram::new([0.5, 1.0])),
            api_calls: Family::default(),
        };
        let mut registry = Registry::default();
        registry.register("phase_seconds", "p", m.phases.clone());
        registry.register("api_calls", "c", m.api_calls.clone());
        (m, registry)
    }

    fn text(registry: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, registry).expect("encode");
        out
    }

    /// Goal: each phase span entered (twice, as across two polls) is observed once under its
    /// name; one never entered is not.
    #[test]
    fn times_entered_phases_only() {
        let (m, registry) = metrics();
        let subscriber = tracing_subscriber::registry().with(m.filter());
        tracing::subscriber::with_default(subscriber, || {
            for phase in Phase::ALL.into_iter().filter(|p| *p != Phase::Record) {
                let span = phase.span();
                span.in_scope(|| {});
                span.in_scope(|| {});
            }
            drop(Phase::Record.span());
        });
        let out = text(&registry);
        for phase in [
            "coordinate",
            "observe",
            "live",
            "evaluate",
            "plan",
            "decide",
        ] {
            let sample = format!("phase_seconds_count{{phase=\"{phase}\"}} 1\n");
            assert!(out.contains(&sample), "{sample} in {out}");
        }
        assert!(!out.contains("record"), "{out}");
    }

    /// Goal: an AWS SDK operation counts one call under its service and operation, even a
    /// failed one, whatever the log filter. Method: an SQS call to a closed local port.
    #[test]
    fn counts_an_sdk_call_by_service_and_operation() {
        let (m, registry) = metrics();
        let subscriber = tracing_subscriber::registry().with(m.filter());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        tracing::subscriber::with_default(subscriber, || {
            runtime.block_on(async {
                let sdk =
                    regionctl_aws::config::load_for_tests("us-east-1", "http://127.0.0.1:1").await;
                let sqs = regionctl_aws::sqs::SqsClient::new(&sdk);
                assert!(sqs.queue_url("nowhere").await.is_err(), "port 1 is closed");
            });
        });
        let out = text(&registry);
        assert!(
            out.contains("api_calls_total{service=\"SQS\",operation=\"GetQueueUrl\"} 1\n"),
            "{out}"
        );
    }
}
