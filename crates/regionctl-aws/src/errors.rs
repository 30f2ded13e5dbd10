//! Error classification for every AWS call, in one place.
//!
//! Callers decide what to do from an [`ErrorClass`] (retry with backoff, slow down, or give
//! up), never from service-specific error types, so the retry policy cannot drift between
//! adapters. [`classify`] is the only function that looks at raw SDK errors. The class is
//! the controller's ([`regionctl_controller::ports::ErrorClass`]): a failure reaches the
//! controller as a `PortError` ([`AwsError::into_port`]) with this class and the
//! [`AwsError`] itself as its source.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use regionctl_controller::ports::PortError;

/// What a failed call means for the caller: the controller's port error class, decided
/// here, once, for every AWS call.
pub use regionctl_controller::ports::ErrorClass;

/// Error codes that mean "slow down", across the services we call.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "PriorRequestNotComplete",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
];

/// Error codes that are transient server-side failures even when the status is 4xx.
const TRANSIENT_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
];

/// Classifies any SDK error (every `aws-sdk-*` operation error has this shape).
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> ErrorClass {
    match err {
        // The request was never built (bad input on our side): the same input fails again.
        SdkError::ConstructionFailure(_) => ErrorClass::Permanent,
        // No response within the configured timeout: the service may be slow or unreachable.
        SdkError::TimeoutError(_) => ErrorClass::Retryable,
        // Connection/IO failures are transient; a "user" dispatch failure is a configuration
        // error (e.g. a malformed endpoint) and will not heal by itself.
        SdkError::DispatchFailure(d) => {
            if d.is_user() {
                ErrorClass::Permanent
            } else {
                ErrorClass::Retryable
            }
        }
        // A response arrived but could not be parsed: decide by HTTP status (an HTML 5xx page
        // from a proxy or an emulator lands here).
        SdkError::ResponseError(r) => status_class(r.raw().status().as_u16()),
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or_default();
            let status = s.raw().status().as_u16();
            if THROTTLING_CODES.contains(&code) || status == 429 {
                // Explicit throttling (Route 53 sends 400 Throttling; 429 is the generic form).
                ErrorClass::Throttled
            } else if TRANSIENT_CODES.contains(&code) {
                // Named transient failures, whatever the status.
                ErrorClass::Retryable
            } else {
                status_class(status)
            }
        }
        // Future variants of the non-exhaustive enum: be conservative and do not retry.
        _ => ErrorClass::Permanent,
    }
}

/// 5xx is the server's fault and transient; everything else is the request's fault.
fn status_class(status: u16) -> ErrorClass {
    if status >= 500 {
        ErrorClass::Retryable
    } else {
        ErrorClass::Permanent
    }
}

/// Errors returned by the adapters.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// An AWS call failed.
    #[error("{service} {operation} failed ({class:?}{}): {message}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    Call {
        /// Service name, e.g. `route53`.
        service: &'static str,
        /// Operation name, e.g. `ChangeResourceRecordSets`.
        operation: &'static str,
        /// How the caller should react.
        class: ErrorClass,
        /// The service's error code, if any.
        code: Option<String>,
        /// Human-readable message including the SDK's error chain.
        message: String,
    },
    /// The caller's input was rejected before any call was made.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A response lacked a field the adapter needs.
    #[error("{service} {operation}: unexpected response: {message}")]
    UnexpectedResponse {
        /// Service name.
        service: &'static str,
        /// Operation name.
        operation: &'static str,
        /// What was missing or malformed.
        message: String,
    },
    /// A Route 53 change did not reach INSYNC within the configured number of polls.
    #[error("route53 change {change_id} not INSYNC after {polls} polls")]
    NotInsync {
        /// The change id.
        change_id: String,
        /// How many `GetChange` calls were made.
        polls: u32,
    },
    /// Reading back after a write did not show what was written.
    #[error("read-back mismatch in zone {zone_id}: {}", mismatches.join("; "))]
    ReadBackMismatch {
        /// The hosted zone.
        zone_id: String,
        /// One line per differing record set.
        mismatches: Vec<String>,
    },
    /// A journal item's body is not the JSON document the controller wrote.
    #[error("journal item {pk} / {sk}: unreadable body")]
    UnreadableItem {
        /// Partition key.
        pk: String,
        /// Sort key.
        sk: String,
        /// Why the body does not parse.
        source: serde_json::Error,
    },
    /// A hosted zone named by domain (`routing.hosted_zone`) does not exist.
    #[error("hosted zone {zone}: not found in this account (create it, or name the zone by id)")]
    ZoneNotFound {
        /// The zone as the policy names it (`public zone play.example.com`).
        zone: String,
    },
    /// Several hosted zones match a zone named by domain; none is picked.
    #[error("hosted zone {zone}: {} zones match ({}): name the zone by id (`hosted_zone_id`)", ids.len(), ids.join(", "))]
    ZoneAmbiguous {
        /// The zone as the policy names it.
        zone: String,
        /// The ids of every match.
        ids: Vec<String>,
    },
    /// The guard rejected an intermediate state of a batched apply; nothing was sent.
    #[error("guard rejected the state after batch {batch_index}: {why}; no change was sent")]
    GuardRejected {
        /// Zero-based index of the batch whose resulting state failed the guard.
        batch_index: usize,
        /// What the guard found wrong with that state.
        why: String,
    },
}

impl AwsError {
    /// Builds an [`AwsError::Call`] from an SDK error, classifying it.
    pub fn from_sdk<E>(
        service: &'static str,
        operation: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let class = classify(&err);
        let code = err.code().map(str::to_string);
        let message = match err.message() {
            Some(m) => m.to_string(),
            None => aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
        };
        AwsError::Call {
            service,
            operation,
            class,
            code,
            message,
        }
    }

    /// How the caller should react; client-side errors are permanent.
    pub fn class(&self) -> ErrorClass {
        match self {
            AwsError::Call { class, .. } => *class,
            AwsError::NotInsync { .. } => ErrorClass::Retryable,
            _ => ErrorClass::Permanent,
        }
    }

    /// The service's error code, if this is a failed call that carried one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Call { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The port error for this failure of `service` `operation`, classified as
    /// [`AwsError::class`] says and keeping this error as its source.
    pub fn into_port(self, service: &'static str, operation: &'static str) -> PortError {
        PortError::new(service, operation, self.class(), self)
    }

    /// Shorthand for a missing response field.
    pub(crate) fn missing(service: &'static str, operation: &'static str, field: &str) -> Self {
        AwsError::UnexpectedResponse {
            service,
            operation,
            message: format!("missing {field}"),
        }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = AwsError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_route53::operation::get_change::GetChangeError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_err(code: &str, status: u16) -> SdkError<GetChangeError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(GetChangeError::generic(meta), raw)
    }

    #[test]
    fn throttling_codes_are_throttled() {
        for code in THROTTLING_CODES {
            assert_eq!(
                classify(&service_err(code, 400)),
                ErrorClass::Throttled,
                "{code}"
            );
        }
        assert_eq!(
            classify(&service_err("Whatever", 429)),
            ErrorClass::Throttled
        );
    }

    #[test]
    fn server_errors_are_retryable_and_client_errors_permanent() {
        assert_eq!(classify(&service_err("", 500)), ErrorClass::Retryable);
        assert_eq!(classify(&service_err("", 503)), ErrorClass::Retryable);
        assert_eq!(
            classify(&service_err("InternalError", 400)),
            ErrorClass::Retryable
        );
        assert_eq!(
            classify(&service_err("InvalidChangeBatch", 400)),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify(&service_err("NoSuchHostedZone", 404)),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn timeouts_are_retryable_and_construction_failures_permanent() {
        let t: SdkError<GetChangeError, HttpResponse> = SdkError::timeout_error("slow");
        assert_eq!(classify(&t), ErrorClass::Retryable);
        let c: SdkError<GetChangeError, HttpResponse> = SdkError::construction_failure("bad");
        assert_eq!(classify(&c), ErrorClass::Permanent);
    }

    #[test]
    fn aws_error_carries_class_and_code() {
        let e = AwsError::from_sdk("route53", "GetChange", service_err("Throttling", 400));
        assert_eq!(e.class(), ErrorClass::Throttled);
        assert_eq!(e.code(), Some("Throttling"));
        assert!(e.to_string().contains("route53 GetChange failed"));
    }
}
