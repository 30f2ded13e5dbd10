#!/usr/bin/env bash
# Reaction-time benchmark against a local moto server (127.0.0.1 only): alarm event
# received → first corrective AWS call, over 100 trials, plus resident memory.
#
#   scripts/bench-reaction.sh                       debug build (what docs/PERFORMANCE.md reports)
#   scripts/bench-reaction.sh --release             release build of the benchmark
#   scripts/bench-reaction.sh -- --trials 200       arguments after `--` go to the benchmark
#
# Installs moto into .venv if needed, starts moto_server on a free 127.0.0.1 port, runs
# `cargo bench -p regionctl --bench reaction` (benches/reaction/, built with the dev profile
# unless --release), and always stops moto on exit. The JSON summary is written to
# target/bench-reaction.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile="dev"
cargo_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --) shift; break ;;
        --release) profile="release"; shift ;;
        *) cargo_args+=("$1"); shift ;;
    esac
done

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
[[ -n "$MOTO_PID" && -n "$MOTO_ENDPOINT" ]] || { echo "bench-reaction.sh: bad moto.sh output: $out" >&2; exit 1; }
case "$MOTO_ENDPOINT" in
    http://127.0.0.1:*) ;;
    *) echo "bench-reaction.sh: refusing non-loopback endpoint $MOTO_ENDPOINT" >&2; exit 1 ;;
esac
export MOTO_ENDPOINT

# Static credentials and no instance metadata: never reach for real AWS.
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1

echo "machine: $(nproc) CPUs, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1); load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "moto: $MOTO_ENDPOINT (pid $MOTO_PID), $(.venv/bin/pip show moto 2>/dev/null | sed -n 's/^Version: /moto /p'); build: $profile" >&2

mkdir -p target
cargo bench --locked -p regionctl --bench reaction --profile "$profile" "${cargo_args[@]}" -- --json target/bench-reaction.json "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
