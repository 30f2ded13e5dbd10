#!/usr/bin/env bash
# The dependency policy: cargo deny (advisories, licenses, sources, bans) with deny.toml.
# Installs the pinned cargo-deny if missing (CI runs on a clean machine).
#
#   scripts/deny.sh                 bans, licenses and sources (no network needed), then
#                                   advisories against a fresh RustSec database
#   DENY_OFFLINE=1 scripts/deny.sh  advisories against the copy already on disk (no
#                                   fetch); its date is printed, since a stale copy misses
#                                   new advisories
#
# The advisory database lives on github.com. Where github.com cannot be reached (this
# project's CI machines reach crates.io through a mirror, not GitHub), the advisories check
# cannot run: the script says so in a banner and the other three checks still gate the
# build. It never passes the advisories check without having run it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned: a new cargo-deny can add checks or change deny.toml's format; bump it on purpose.
VERSION=0.20.2
if [[ "$(cargo deny --version 2>/dev/null || true)" != "cargo-deny $VERSION" ]]; then
    echo "installing cargo-deny $VERSION (about 5 minutes on 2 cores)"
    cargo install --locked "cargo-deny@$VERSION"
fi

# cargo deny reads `cargo metadata`, which wants every package of the lock file on disk,
# those of other platforms too (windows-sys, android_system_properties); a Linux build
# downloads only its own, so on a fresh machine the offline check failed for want of
# them. `cargo fetch` gets all of them from the registry (crates.io or its mirror).
cargo fetch --locked --quiet

echo "cargo deny: bans, licenses, sources"
cargo deny --locked --offline check bans licenses sources

ADVISORY_DB=https://github.com/rustsec/advisory-db
if [[ "${DENY_OFFLINE:-}" == 1 ]]; then
    db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
    for d in "$db"/*/; do
        [[ -d "$d/.git" ]] && echo "advisory database $d: $(git -C "$d" log -1 --format='commit %h of %ci')"
    done
    cargo deny --locked --offline check advisories
elif timeout 20 git ls-remote "$ADVISORY_DB" HEAD >/dev/null 2>&1; then
    echo "cargo deny: advisories (fetching $ADVISORY_DB)"
    cargo deny --locked check advisories
else
    cat >&2 <<EOF
################################################################################
# cargo deny: ADVISORIES NOT CHECKED. $ADVISORY_DB cannot be reached from
# this machine, so there is no advisory database to check against. Bans,
# licenses and sources were checked. To check advisories: run scripts/deny.sh
# where github.com is reachable, or DENY_OFFLINE=1 scripts/deny.sh with a copy
# of the database in \${CARGO_HOME:-~/.cargo}/advisory-dbs.
################################################################################
EOF
fi
