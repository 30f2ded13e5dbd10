//! Integration tests against moto (one test binary: each extra binary costs a large link).
//!
//! Run `scripts/moto.sh install` once; the tests start their own moto server on a free
//! 127.0.0.1 port (or use `MOTO_ENDPOINT`). Every test uses unique resource names, so the
//! tests run in parallel against one server.

#[path = "moto/harness.rs"]
mod harness;

#[path = "moto/route53.rs"]
mod route53;

#[path = "moto/cloudwatch.rs"]
mod cloudwatch;

#[path = "moto/events.rs"]
mod events;

#[path = "moto/dynamodb.rs"]
mod dynamodb;

#[path = "moto/compute.rs"]
mod compute;

#[path = "moto/world.rs"]
mod world;
