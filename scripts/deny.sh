#!/usr/bin/env bash
# The dependency policy: cargo deny (advisories, licenses, sources, bans) with deny.toml.
# Installs the pinned cargo-deny if missing (CI runs on a clean machine).
#
#   scripts/deny.sh                 fetch the RustSec advisory database, then check
#   DENY_OFFLINE=1 scripts/deny.sh  use the copy already on disk (no fetch); its date is
#                                   printed, since a stale copy misses new advisories
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned: a new cargo-deny can add checks or change deny.toml's format; bump it on purpose.
VERSION=0.20.2
if [[ "$(cargo deny --version 2>/dev/null || true)" != "cargo-deny $VERSION" ]]; then
    echo "installing cargo-deny $VERSION (about 5 minutes on 2 cores)"
    cargo install --locked "cargo-deny@$VERSION"
fi

if [[ "${DENY_OFFLINE:-}" == 1 ]]; then
    db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
    for d in "$db"/*/; do
        [[ -d "$d/.git" ]] && echo "advisory database $d: $(git -C "$d" log -1 --format='commit %h of %ci')"
    done
    cargo deny --locked --offline check
else
    cargo deny --locked check
fi
