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

scripts/moto.sh install

MOTO_PID=""
cleanup() {
    if [[ -n "$MOTO_PID" ]]; then
        scripts/moto.sh stop "$MOTO_PID" || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

out="$(scripts/moto.sh start)"
MOTO_PID="$(sed -n 's/^MOTO_PID=//p' <<<"$out")"
MOTO_ENDPOINT="$(sed -n 's/^MOTO_ENDPOINT=//p' <<<"$out")"
[[ -n "$MOTO_PID" && -n "$MOTO_ENDPOINT" ]] || { echo "bench-route53.sh: bad moto.sh output: $out" >&2; exit 1; }
case "$MOTO_ENDPOINT" in
    http://127.0.0.1:*) ;;
    *) echo "bench-route53.sh: refusing non-loopback endpoint $MOTO_ENDPOINT" >&2; exit 1 ;;
esac
export MOTO_ENDPOINT

# Static credentials and no instance metadata: never reach for real AWS.
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1

echo "machine: $(nproc) CPUs, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)" >&2
echo "moto: $MOTO_ENDPOINT (pid $MOTO_PID), $(.venv/bin/pip show moto 2>/dev/null | sed -n 's/^Version: /moto /p')" >&2

cargo run --locked -p regionctl-aws --example route53_evacuation "$@"
