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

# moto for the rest of this script (stopped on exit), and the SDK pointed at it.
source scripts/moto-session.sh

echo "machine: $(nproc) CPUs, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1); load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "moto: $MOTO_ENDPOINT (pid $MOTO_PID), $(.venv/bin/pip show moto 2>/dev/null | sed -n 's/^Version: /moto /p'); build: $profile" >&2

mkdir -p target
cargo bench --locked -p regionctl --bench reaction --profile "$profile" "${cargo_args[@]}" -- --json target/bench-reaction.json "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
