#!/usr/bin/env bash
# Writes `regionctl simulate --seed S --trace` for a range of seeds into a directory, so two
# builds can be compared byte for byte (a refactoring must not change what the controllers
# do):
#
#   scripts/traces.sh /tmp/before            # seeds 0..99 with this checkout
#   git checkout other && scripts/traces.sh /tmp/after
#   diff -r /tmp/before /tmp/after && echo identical
#
# Options: FROM and COUNT as the second and third arguments (default 0 and 100); the
# binary is built in release mode unless REGIONCTL=path/to/regionctl is set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:?usage: scripts/traces.sh OUT_DIR [FROM] [COUNT]}
from=${2:-0}
count=${3:-100}
bin=${REGIONCTL:-}
if [ -z "$bin" ]; then
    cargo build --release --locked --quiet
    bin=target/release/regionctl
fi
mkdir -p "$out"
for ((s = from; s < from + count; s++)); do
    "$bin" simulate --seed "$s" --trace "$out/seed-$s.trace" --out "$out/failures" >/dev/null \
        || echo "seed $s: exit $? (a violation or an abort; its trace is still written)" >&2
done
echo "traces of seeds $from..$((from + count - 1)) in $out"
