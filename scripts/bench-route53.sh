#!/usr/bin/env bash
# Route 53 evacuation benchmark against a local moto server (127.0.0.1 only).
#
#   scripts/bench-route53.sh            debug build (what docs/PERFORMANCE.md reports)
#   scripts/bench-route53.sh --release  release build of the client
#
# Installs moto into .venv if needed, starts moto_server on a free 127.0.0.1 port, runs
# `cargo run -p regionctl-aws --example route53_evacuation`, and always stops moto on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# moto for the rest of this script (stopped on exit), and the SDK pointed at it.
source scripts/moto-session.sh

echo "machine: $(nproc) CPUs, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)" >&2
echo "moto: $MOTO_ENDPOINT (pid $MOTO_PID), $(.venv/bin/pip show moto 2>/dev/null | sed -n 's/^Version: /moto /p')" >&2

cargo run --locked -p regionctl-aws --example route53_evacuation "$@"
