#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs (moto into .venv for the
# AWS adapter tests), then runs every Rust test and the example policies' own checks and
# tests. Integration tests start their own moto_server on 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/moto.sh install

# Debian's Chromium, for the status-page browser test (headless, loopback only).
if ! command -v chromium >/dev/null 2>&1; then
    echo "test.sh: installing Debian's chromium for the status-page browser test" >&2
    { apt-get install -y --no-install-recommends chromium \
        || { apt-get update && apt-get install -y --no-install-recommends chromium; }; } >/dev/null \
        || echo "test.sh: could not install chromium (not root?); the browser test will fail and say how" >&2
fi

# openssl makes the test CA for the HTTPS probe tests (Debian's base system usually has it).
if ! command -v openssl >/dev/null 2>&1; then
    echo "test.sh: installing openssl for the HTTPS probe tests" >&2
    { apt-get install -y --no-install-recommends openssl \
        || { apt-get update && apt-get install -y --no-install-recommends openssl; }; } >/dev/null \
        || echo "test.sh: could not install openssl (not root?); the HTTPS probe tests will fail and say how" >&2
fi

# Static credentials and no instance metadata: tests must never reach for real AWS.
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1

# The failpoints feature lets end-to-end tests kill a controller mid-apply; release builds
# never have it.
# planted-bugs compiles deliberate bugs that stay off unless a simulator test selects one
# (crates/regionctl-core/src/planted.rs); with it, tests/simulate.rs shows each is found.
cargo test --workspace --locked --features regionctl/failpoints,regionctl-sim/planted-bugs
cargo run --quiet --locked -- check policies
cargo run --quiet --locked -- test policies
