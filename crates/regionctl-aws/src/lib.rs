//! AWS adapters for regionctl, and the controller's ports on them.
//!
//! Each service module wraps one AWS service with the handful of operations the control
//! plane needs, speaking domain types (the core's where it has them, [`types`] otherwise)
//! instead of SDK types. Every failure is an [`AwsError`] carrying an [`ErrorClass`] decided
//! in one place ([`errors::classify`]). [`world`] implements every port of
//! `regionctl_controller::ports` on these adapters (ADR 0011).
//!
//! The crate is tested against moto (see `tests/moto.rs` and `scripts/moto.sh`) for wire
//! behaviour, and with `aws-smithy-mocks` for what moto cannot do (throttling, 5xx,
//! `PENDING` changes).
//!
//! # Layout
//! - [`config`]: `SdkConfig` per region (endpoint override, test settings).
//! - [`errors`]: [`errors::classify`] and [`AwsError`].
//! - [`route53`], [`cloudwatch`], [`sqs`], [`eventbridge`], [`ecs`], [`elbv2`],
//!   [`dynamodb`], [`sts`]: one module per service.
//! - [`types`]: the AWS-side shapes the core has no use for (record sets, alarm statuses).
//! - [`world`]: [`world::AwsWorld`], the controller's ports on the adapters above.

pub mod cloudwatch;
pub mod config;
pub mod dynamodb;
pub mod ecs;
pub mod elbv2;
pub mod errors;
pub mod eventbridge;
pub mod iam;
pub mod route53;
pub mod sqs;
pub mod sts;
pub mod types;
pub mod world;

pub use errors::{AwsError, ErrorClass, Result};
