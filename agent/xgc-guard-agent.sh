#!/usr/bin/env bash
# xgc-guard heartbeat agent: runs inside a XianGong instance and tells the guard, every INTERVAL seconds,
# how busy the GPUs are. The guard's heartbeat probe treats a missing or stale heartbeat as "unknown".
#
# Environment:
#   XGC_INSTANCE_ID        set by XianGong inside every container (required)
#   GUARD_URL              base URL of the guard, e.g. https://guard.example.com (required)
#   GUARD_HEARTBEAT_TOKEN  bearer token the guard expects on /api/v1/heartbeat (required)
#   INTERVAL               seconds between heartbeats (default 60)
#   BUSY_FILE              when this file exists the agent reports busy=true (default /tmp/xgc-guard-busy);
#                          a long CPU-only job can `touch` it to keep the instance alive
set -u

: "${XGC_INSTANCE_ID:?XGC_INSTANCE_ID is not set (it is set by XianGong inside the container)}"
: "${GUARD_URL:?GUARD_URL is not set}"
: "${GUARD_HEARTBEAT_TOKEN:?GUARD_HEARTBEAT_TOKEN is not set}"
INTERVAL="${INTERVAL:-60}"
BUSY_FILE="${BUSY_FILE:-/tmp/xgc-guard-busy}"
ENDPOINT="${GUARD_URL%/}/api/v1/heartbeat"

case "$XGC_INSTANCE_ID" in
  *[!A-Za-z0-9_.-]*) echo "xgc-guard-agent: XGC_INSTANCE_ID has unexpected characters" >&2; exit 2 ;;
esac

# Highest utilisation over all GPUs, as an integer; empty when nvidia-smi is missing or fails.
gpu_util() {
  command -v nvidia-smi >/dev/null 2>&1 || return 0
  nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits 2>/dev/null \
    | tr -dc '0-9\n' | sort -n | tail -n 1
}

while true; do
  body="{\"instance_id\":\"${XGC_INSTANCE_ID}\""
  util="$(gpu_util)"
  [ -n "$util" ] && body="${body},\"gpu_util\":${util}"
  [ -e "$BUSY_FILE" ] && body="${body},\"busy\":true"
  body="${body}}"
  # The token goes to curl on stdin (-H @-), so it never shows up in the process list.
  if ! printf 'Authorization: Bearer %s\n' "$GUARD_HEARTBEAT_TOKEN" \
    | curl -fsS --max-time 15 -H @- -H 'Content-Type: application/json' --data-binary "$body" -o /dev/null "$ENDPOINT"; then
    echo "xgc-guard-agent: heartbeat to ${ENDPOINT} failed; retrying in ${INTERVAL}s" >&2
  fi
  sleep "$INTERVAL"
done
