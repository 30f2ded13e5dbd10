# Sourced (never run) by the benchmark scripts, from the repository root: starts a moto
# server for the rest of the calling script and points the AWS SDK at it.
#
#   source scripts/moto-session.sh
#
# Installs moto into .venv if needed, starts moto_server on a free 127.0.0.1 port
# (`scripts/moto.sh start`), stops it when the calling script exits (traps EXIT, and exits
# 130 on INT/TERM), refuses any endpoint that is not loopback, and exports MOTO_ENDPOINT,
# MOTO_PID and static test credentials. Errors name the calling script.

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
[[ -n "$MOTO_PID" && -n "$MOTO_ENDPOINT" ]] || { echo "$(basename "$0"): bad moto.sh output: $out" >&2; exit 1; }
case "$MOTO_ENDPOINT" in
    http://127.0.0.1:*) ;;
    *) echo "$(basename "$0"): refusing non-loopback endpoint $MOTO_ENDPOINT" >&2; exit 1 ;;
esac
export MOTO_ENDPOINT

# Static credentials and no instance metadata: never reach for real AWS.
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1
