#!/usr/bin/env bash
# Manage a local moto server (AWS stand-in) for regionctl's integration tests.
#
#   scripts/moto.sh install      create .venv and install moto[server] (idempotent)
#   scripts/moto.sh start        install if needed, start moto_server on 127.0.0.1 on a
#                                free port, wait until it answers, then print
#                                MOTO_ENDPOINT=http://127.0.0.1:PORT and MOTO_PID=PID
#   scripts/moto.sh stop PID     stop a server started by `start`
#
# The server only ever binds 127.0.0.1. Its log goes to .venv/moto-PORT.log.
set -euo pipefail

MOTO_VERSION="5.2.5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
MOTO_BIN="$VENV/bin/moto_server"

die() { echo "moto.sh: $*" >&2; exit 1; }

install() {
    if [[ -x "$MOTO_BIN" ]]; then
        return 0
    fi
    command -v python3 >/dev/null 2>&1 || die "python3 not found"
    echo "moto.sh: installing moto[server]==$MOTO_VERSION into $VENV" >&2
    python3 -m venv "$VENV" || die "python3 -m venv failed"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2 \
        || die "pip install moto[server]==$MOTO_VERSION failed"
    [[ -x "$MOTO_BIN" ]] || die "moto_server missing after install"
}

free_port() {
    "$VENV/bin/python" - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

start() {
    install
    local port pid url log i
    port="$(free_port)"
    url="http://127.0.0.1:$port"
    log="$VENV/moto-$port.log"
    # setsid: detach from our process group so the caller's Ctrl-C/exit
    # handling decides when it stops (via `stop PID`).
    setsid "$MOTO_BIN" -H 127.0.0.1 -p "$port" >"$log" 2>&1 </dev/null &
    pid=$!
    for i in $(seq 1 150); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            die "moto_server exited during startup"
        fi
        if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
            "$url/moto-api/" >/dev/null 2>&1; then
            echo "MOTO_ENDPOINT=$url"
            echo "MOTO_PID=$pid"
            return 0
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    die "moto_server did not answer on $url within 15 s (log: $log)"
}

stop() {
    local pid="${1:-}"
    [[ "$pid" =~ ^[0-9]+$ ]] || die "usage: moto.sh stop PID"
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) shift; stop "${1:-}" ;;
    *) echo "usage: $0 {install|start|stop PID}" >&2; exit 2 ;;
esac
