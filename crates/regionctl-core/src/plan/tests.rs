//! Planner tests.
#[allow(unused_imports)]
use super::*;
