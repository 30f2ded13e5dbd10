#!/usr/bin/env bash
# Lints what operators deploy beside the controllers (run by .ci/run):
#
#   - deploy/*.yaml (CloudFormation) with cfn-lint, installed into the project's .venv;
#   - deploy/prometheus/regionctl.rules.yml with `promtool check rules`, and its unit tests
#     with `promtool test rules` (promtool from Debian's `prometheus` package, unpacked
#     into .tools/: no server is installed or started);
#   - deploy/grafana/regionctl-fleet.json is what deploy/grafana/generate.py writes;
#   - every regionctl_* series the rules and the dashboard query is documented in
#     docs/OPERATIONS.md's metrics table.
#
# Needs python3 (venv) and apt-get (Debian). Installs only under the repository.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CFN_LINT_VERSION="1.58.0"
PROMETHEUS_DEB_VERSION="2.42.0"   # Debian bookworm's prometheus package
VENV="$ROOT/.venv"
TOOLS="$ROOT/.tools"
PROMTOOL="$TOOLS/prometheus/usr/bin/promtool"

die() { echo "lint-deploy.sh: $*" >&2; exit 1; }

install_cfn_lint() {
    if [[ -x "$VENV/bin/cfn-lint" ]] && "$VENV/bin/cfn-lint" --version | grep -q "$CFN_LINT_VERSION"; then
        return 0
    fi
    [[ -x "$VENV/bin/pip" ]] || python3 -m venv "$VENV" || die "python3 -m venv failed"
    echo "lint-deploy.sh: installing cfn-lint==$CFN_LINT_VERSION into $VENV" >&2
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION" >&2 \
        || die "pip install cfn-lint==$CFN_LINT_VERSION failed"
}

install_promtool() {
    if [[ -x "$PROMTOOL" ]]; then
        return 0
    fi
    command -v apt-get >/dev/null || die "promtool needs Debian's prometheus package (apt-get not found); put promtool at $PROMTOOL"
    echo "lint-deploy.sh: fetching Debian's prometheus package for promtool into $TOOLS" >&2
    local dl
    dl="$(mktemp -d)"
    chmod 777 "$dl"   # apt's _apt user downloads into it
    if ! (cd "$dl" && apt-get download -q prometheus >/dev/null 2>&1); then
        apt-get update -q >/dev/null 2>&1 || true
        (cd "$dl" && apt-get download -q prometheus >/dev/null) || die "apt-get download prometheus failed"
    fi
    mkdir -p "$TOOLS/prometheus"
    dpkg-deb -x "$dl"/prometheus_*.deb "$TOOLS/prometheus" || die "dpkg-deb -x failed"
    rm -rf "$dl"
    [[ -x "$PROMTOOL" ]] || die "promtool missing from the package"
    "$PROMTOOL" --version 2>&1 | head -1 | grep -q "$PROMETHEUS_DEB_VERSION" \
        || echo "lint-deploy.sh: note: promtool is not $PROMETHEUS_DEB_VERSION: $("$PROMTOOL" --version 2>&1 | head -1)" >&2
}

install_cfn_lint
install_promtool

echo "-- cfn-lint deploy/*.yaml"
"$VENV/bin/cfn-lint" deploy/*.yaml

echo "-- promtool check rules / test rules (deploy/prometheus)"
(cd deploy/prometheus && "$PROMTOOL" check rules regionctl.rules.yml && "$PROMTOOL" test rules regionctl.rules.test.yml)

echo "-- grafana dashboard is generated (deploy/grafana/generate.py)"
generated="$(mktemp)"
python3 - "$generated" <<'PY'
import importlib.util, json, pathlib, sys
spec = importlib.util.spec_from_file_location("gen", "deploy/grafana/generate.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)
pathlib.Path(sys.argv[1]).write_text(json.dumps(gen.dashboard(), indent=2) + "\n")
PY
diff -u deploy/grafana/regionctl-fleet.json "$generated" \
    || die "deploy/grafana/regionctl-fleet.json is stale: run python3 deploy/grafana/generate.py"
rm -f "$generated"

echo "-- series queried are documented (docs/OPERATIONS.md)"
python3 - <<'PY'
import re, sys, pathlib
doc = pathlib.Path("docs/OPERATIONS.md").read_text()
documented = set(re.findall(r"^\| `(regionctl_[a-z_]+)`", doc, re.M))
if not documented:
    sys.exit("lint-deploy.sh: no metrics table found in docs/OPERATIONS.md")
missing = []
for path in ["deploy/prometheus/regionctl.rules.yml", "deploy/grafana/regionctl-fleet.json"]:
    for name in sorted(set(re.findall(r"regionctl_[a-z_]+", pathlib.Path(path).read_text()))):
        # A histogram is documented by its name, queried by its _bucket/_sum/_count series.
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in documented and base not in documented:
            missing.append(f"{path}: {name}")
if missing:
    sys.exit("lint-deploy.sh: series not in docs/OPERATIONS.md's metrics table:\n  " + "\n  ".join(missing))
print(f"{len(documented)} documented series; rules and dashboard use only those")
PY
echo "lint-deploy.sh: ok"
