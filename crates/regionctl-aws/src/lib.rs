//! AWS adapters for regionctl.
//!
//! Each module wraps one AWS service with the handful of operations the control plane needs,
//! speaking the small domain types in [`types`] instead of SDK types. Every failure is an
//! [`AwsError`] carrying an [`ErrorClass`] decided in one place ([`errors::classify`]).
//!
//! The crate is tested against moto (see `tests/moto.rs` and `scripts/moto.sh`) for wire
//! behaviour, and with `aws-smithy-mocks` for what moto cannot do (throttling, 5xx,
//! `PENDING` changes).

pub mod cloudwatch;
pub mod config;
pub mod dynamodb;
pub mod ecs;
pub mod elbv2;
pub mod errors;
pub mod eventbridge;
pub mod route53;
pub mod sqs;
pub mod sts;
pub mod types;
pub mod world;

pub use errors::{AwsError, ErrorClass, Result};
