//! The policy file format, exactly as written in YAML (`apiVersion: regionctl/v1`).
//!
//! These types are the single source of truth for the format: the loader deserializes them,
//! `regionctl schema` derives the JSON Schema from them, and validation
//! ([`super::validate`]) turns them into the checked, indexed [`super::Bundle`].
//!
//! Field names are `snake_case`, with units last (`fail_after_secs`), as in firecracker's
//! config types. Every struct denies unknown fields; the loader reports all of them at once.
//!
//! One module per part of the format, all re-exported here: `service` (the service policy
//! and its regions and cells), `health`, `routing`, `compute`, `safety`, `controller` (the
//! controller configuration) and `policy_test` (policy unit tests). This module holds what
//! every document shares: the header, the kinds and the schema's top level.

mod compute;
mod controller;
mod health;
mod policy_test;
mod routing;
mod safety;
mod service;

pub use compute::{AlbSpec, ComputeSpec, EcsSpec};
pub use controller::{
    AlarmReadBudget, CapacityReadBudget, ControllerSpec, NetworkSpec, ProbeBudget, ProvisionSpec,
    Route53Budget,
};
pub use health::{AlarmSpec, HealthSpec, ProbeProtocol, ProbeSpec, ReadinessSpec, SignalRole};
pub use policy_test::{ExpectStep, PolicyTestSpec, TestCase};
pub use routing::{GeoRule, GeolocationSpec, RecordType, RoutingSpec, SwitchScope, SwitchSpec};
pub use safety::{FailbackMode, FailbackSpec, SafetySpec};
pub use service::{
    CellsSpec, DimensionSpec, Mode, RegionSpec, Role, ServiceSpec, ServingRule, Strategy, ZoneSpec,
};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The only API version this build understands.
pub const API_VERSION: &str = "regionctl/v1";

/// The header every document starts with. `spec` is read separately, by `kind`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Header {
    /// Must be `regionctl/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// What this document is.
    pub kind: Kind,
    /// Name and description.
    pub metadata: Metadata,
}

/// One YAML document, as the JSON Schema describes it (`regionctl schema`): the `kind`
/// field selects the shape of `spec`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind")]
// Only used to derive the schema; never held in bulk, so variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[schemars(title = "regionctl policy document")]
pub enum DocumentSchema {
    /// A failover policy for one service.
    ServicePolicy {
        /// Must be `regionctl/v1`.
        #[serde(rename = "apiVersion")]
        api_version: String,
        /// Name and description.
        metadata: Metadata,
        /// The policy.
        spec: ServiceSpec,
    },
    /// The controller-wide configuration; at most one per bundle.
    ControllerConfig {
        /// Must be `regionctl/v1`.
        #[serde(rename = "apiVersion")]
        api_version: String,
        /// Name and description.
        metadata: Metadata,
        /// The configuration.
        spec: ControllerSpec,
    },
    /// Policy unit tests, run by `regionctl test`.
    PolicyTest {
        /// Must be `regionctl/v1`.
        #[serde(rename = "apiVersion")]
        api_version: String,
        /// Name and description.
        metadata: Metadata,
        /// The test cases.
        spec: PolicyTestSpec,
    },
}

/// The kinds of document a policy directory may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Kind {
    /// A failover policy for one service (`spec`: `ServiceSpec`).
    ServicePolicy,
    /// The controller-wide configuration (`spec`: `ControllerSpec`); at most one per bundle.
    ControllerConfig,
    /// Policy unit tests (`spec`: `PolicyTestSpec`), run by `regionctl test`.
    PolicyTest,
}

/// Name and free-form description.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Metadata {
    /// Unique within its kind: lowercase letters, digits and `-`, at most 63 characters.
    pub name: String,
    /// What this is for; shown by `plan` and `explain`.
    #[serde(default)]
    pub description: Option<String>,
    /// Team or person paged about this service.
    #[serde(default)]
    pub owner: Option<String>,
}
