#!/usr/bin/env bash
# `make run`: the whole platform on one machine — the Belvo emulator, token-, link- and
# data-service and the gateway — on the embedded defaults: SQLite files under .data/ (kept
# between runs) and regions from libs/regions/config/local.toml. Prints the URL; Ctrl-C stops
# every process cleanly.
set -euo pipefail
cd "$(dirname "$0")/../.."

CARGO=${CARGO:-cargo}
PROFILE_DIR=${CARGO_TARGET_DIR:-target}/debug
DATA=.data
mkdir -p "$DATA"

echo "building the platform (first run takes a few minutes)…"
$CARGO build --quiet -p belvo-emulator -p token-service -p link-service -p data-service -p gateway

export REGIONS_FILE=libs/regions/config/local.toml
# Keys of the local Mexico region (libs/regions/config/local.toml); the emulator accepts them.
SECRET_ID=local-secret-id
SECRET_PASSWORD=local-secret-password
WEBHOOK_AUTHORIZATION='Bearer local-webhook-token'

# The external-id key must outlive restarts: owners' links are recognised by it.
KEY_FILE=$DATA/external-id.key
if [ ! -s "$KEY_FILE" ]; then
  umask 077
  head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > "$KEY_FILE"
fi

# data- and link-service's key rings (encryption at rest, libs/sealing), kept across restarts
# like the external-id key: what a ring sealed opens only with it.
key_ring() {
  if [ ! -s "$1" ]; then
    (umask 077; printf 'active = "local-1"\n[keys]\n"local-1" = "%s"\n' "$(head -c 32 /dev/urandom | base64)" > "$1")
  fi
}
key_ring "$DATA/data-key-ring.toml"
key_ring "$DATA/link-key-ring.toml"

pids=()
stop() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo
    echo "stopping…"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
# Ctrl-C or SIGTERM: stop everything and exit cleanly; any other exit stops everything too.
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Each process in its own session: Ctrl-C reaches only this script, which stops them in
# order (a process dying on the terminal's SIGINT would look like a crash to `wait -n`).
start() { # name, command...
  local name=$1
  shift
  setsid "$@" > "$DATA/$name.log" 2>&1 &
  pids+=($!)
}

start belvo-emulator "$PROFILE_DIR/belvo-emulator" --listen 127.0.0.1:8090 \
  --account "id=$SECRET_ID,password=$SECRET_PASSWORD,webhook=http://127.0.0.1:8080/webhooks/belvo/mx,authorization=$WEBHOOK_AUTHORIZATION" \
  --webhook-retry-ms 2000

TOKEN_SERVICE__SERVER__LISTEN_ADDR=127.0.0.1:50051 TOKEN_SERVICE__SERVER__ADMIN_ADDR=127.0.0.1:9051 \
TOKEN_SERVICE__DATABASE__URL=sqlite:$DATA/token-service.db \
TOKEN_SERVICE__EXTERNAL_ID_KEY=$(cat "$KEY_FILE") \
TOKEN_SERVICE__CLIENTS__LINK_SERVICE__URL=http://127.0.0.1:50052 \
  start token-service "$PROFILE_DIR/token-service"

LINK_SERVICE__SERVER__LISTEN_ADDR=127.0.0.1:50052 LINK_SERVICE__SERVER__ADMIN_ADDR=127.0.0.1:9052 \
LINK_SERVICE__DATABASE__URL=sqlite:$DATA/link-service.db \
LINK_SERVICE__CLIENTS__TOKEN_SERVICE__URL=http://127.0.0.1:50051 \
LINK_SERVICE__CLIENTS__DATA_SERVICE__URL=http://127.0.0.1:50053 \
LINK_SERVICE__ENCRYPTION__KEY_RING_FILE=$DATA/link-key-ring.toml \
  start link-service "$PROFILE_DIR/link-service"

DATA_SERVICE__SERVER__LISTEN_ADDR=127.0.0.1:50053 DATA_SERVICE__SERVER__ADMIN_ADDR=127.0.0.1:9053 \
DATA_SERVICE__DATABASE__URL=sqlite:$DATA/data-service.db \
DATA_SERVICE__CLIENTS__LINK_SERVICE__URL=http://127.0.0.1:50052 \
DATA_SERVICE__ENCRYPTION__KEY_RING_FILE=$DATA/data-key-ring.toml \
  start data-service "$PROFILE_DIR/data-service"

GATEWAY__SERVER__LISTEN_ADDR=127.0.0.1:8080 GATEWAY__SERVER__ADMIN_ADDR=127.0.0.1:9080 GATEWAY__AUTH__MODE=dev \
  start gateway "$PROFILE_DIR/gateway"

# Ready when the gateway reports its three services reachable.
for _ in $(seq 1 300); do
  if curl -fsS http://127.0.0.1:8080/readyz > /dev/null 2>&1; then
    echo
    echo "Connect platform running: http://127.0.0.1:8080/"
    echo "  Belvo emulator: http://127.0.0.1:8090/   logs: $DATA/*.log   Ctrl-C stops everything"
    break
  fi
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "a process exited during start-up; see $DATA/*.log" >&2
      tail -n 20 "$DATA"/*.log >&2
      exit 1
    fi
  done
  sleep 0.2
done

# Run until Ctrl-C, or until one process dies (then stop the rest).
wait -n "${pids[@]}" || true
echo "a process exited; see $DATA/*.log" >&2
exit 1
