//! Health evaluation tests (filled below).
#[allow(unused_imports)]
use super::*;
