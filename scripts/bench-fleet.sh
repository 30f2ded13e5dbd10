#!/usr/bin/env bash
# Fleet-scale benchmark on the simulated world (issue 18): 1,000 services × 30 cells ×
# 5 regions with 3 controllers, steady state then the loss of eu-central-1; AWS calls per
# second by API against the default per-account quotas, journal bytes and largest item,
# time to the first corrective write, peak RSS. No AWS, no moto: everything is in-process.
#
#   scripts/bench-fleet.sh                               the documented size (release build)
#   scripts/bench-fleet.sh -- --services 200 --minutes 10   arguments after `--` go to the benchmark
#
# The Markdown table goes to stdout, the JSON summary to target/bench-fleet.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ "${1:-}" == "--" ]]; then shift; fi
echo "machine: $(nproc) CPUs, $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1); load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec cargo bench --locked -p regionctl-sim --bench fleet -- --json "$PWD/target/bench-fleet.json" "$@"
