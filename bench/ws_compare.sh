#!/usr/bin/env bash
# neuroplexd's WebSocket front under load, and beside the Cap'n Proto API on the same node.
#
#   bench/ws_compare.sh [--seconds 10] [--warmup 1] [--connections 64] [--subscribers 1000]
#                       [--rate 200] [--count 10000] [--only throughput|fanout|connections]
#
# Each part runs against its own fresh single-node neuroplexd (fsync on, data in a temp dir on the
# real disk, free loopback ports picked at start), so one part's state cannot slow the next:
#  1. throughput: bench/ws_bench throughput, CONNECTIONS WebSocket connections, each keeping one
#     counter.add on its own key outstanding; then `neuroplexctl bench --op counter` with the same
#     number of clients (the closed-loop Cap'n Proto load generator, tools/loadgen: one request
#     outstanding per client, all over one Cap'n Proto connection) on the same keys k0..k{N-1}.
#     Prints both and WebSocket / Cap'n Proto (target >= 50%), and the server's own time per
#     WebSocket request from /metrics, to split server time from client and network time.
#  2. fanout: SUBSCRIBERS connections watching one namespace, one writer at RATE writes/s; delivery
#     latency and missed events (target: p99 commit -> delivery <= 10 ms, nothing missed).
#  3. connections: COUNT idle connections each with one watch; server VmRSS per connection
#     (target <= 32 KiB) and one write delivered to all of them.
# Everything runs on this machine: the client's CPU is taken from the server's. Each ws_bench run
# reports both processes' CPU use so a reader can tell which one was the limit.
#
# Environment: BUILD_DIR (default build/release) holds tools/neuroplexd, tools/ctl/neuroplexctl and
# bench/ws_bench; missing ones are built there when BUILD_DIR is a configured build tree. TMPDIR
# picks the disk (not tmpfs: fsync would be free); KEEP=1 keeps the temp dir (data, server logs).
# SECONDS_PER_RUN, WARMUP, CONNECTIONS, SUBSCRIBERS, RATE, COUNT and ONLY are the flags' defaults.
# The node processes started here are stopped (by PID) and the temp dir removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/release}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-64}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
RATE=${RATE:-200}
COUNT=${COUNT:-10000}
ONLY=${ONLY:-}

while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --subscribers) SUBSCRIBERS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --count) COUNT=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "ws_compare.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done

NEUROPLEXD=$BUILD_DIR/tools/neuroplexd
NEUROPLEXCTL=$BUILD_DIR/tools/ctl/neuroplexctl
WS_BENCH=$BUILD_DIR/bench/ws_bench

log() { echo "ws_compare: $*" >&2; }
die() { log "$*"; exit 1; }
wanted() { [[ -z $ONLY || $ONLY == "$1" ]]; }

missing=()
for target in neuroplexd:$NEUROPLEXD neuroplexctl:$NEUROPLEXCTL ws_bench:$WS_BENCH; do
  [[ -x ${target#*:} ]] || missing+=("${target%%:*}")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  [[ -f $BUILD_DIR/CMakeCache.txt ]] ||
    die "missing ${missing[*]} and $BUILD_DIR is not a build tree (cmake -S . -B $BUILD_DIR)"
  log "building ${missing[*]} in $BUILD_DIR"
  cmake --build "$BUILD_DIR" --target "${missing[@]}" >&2
fi

# 10000 connections need 10000 descriptors in the server and as many in ws_bench.
ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) > COUNT + 100 )) || log "open-file limit $(ulimit -n) is below --count $COUNT"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/npx-ws-compare-XXXXXX")
[[ $(stat -f -c %T "$WORK") != tmpfs ]] || die "$WORK is on tmpfs: fsync would be free"
# A private copy: a rebuild during the run must not replace the binary under our node.
mkdir -p "$WORK/bin"
cp "$NEUROPLEXD" "$WORK/bin/npxd-ws-compare"
NODE_PID=""
cleanup() {
  if [[ -n $NODE_PID ]]; then
    kill "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
  fi
  if [[ -n ${KEEP:-} ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a fresh node named $1; sets NODE_PID, CAPNP (HOST:PORT), WS_URL and HTTP.
start_node() {
  local name=$1 port ws_port
  port=$(free_port)
  ws_port=$(free_port)
  [[ $port != "$ws_port" ]] || ws_port=$(free_port)
  CAPNP=127.0.0.1:$port
  HTTP=http://127.0.0.1:$ws_port
  WS_URL=ws://127.0.0.1:$ws_port/ws
  "$WORK/bin/npxd-ws-compare" --data-dir "$WORK/$name" --listen "$CAPNP" \
    --ws-listen "127.0.0.1:$ws_port" >"$WORK/$name.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 100); do
    if curl -sf "$HTTP/readyz" >/dev/null 2>&1; then
      log "$name: neuroplexd pid $NODE_PID, capnp $CAPNP, $WS_URL"
      return 0
    fi
    kill -0 "$NODE_PID" 2>/dev/null || break
    sleep 0.2
  done
  tail -n 20 "$WORK/$name.log" >&2
  die "$name: neuroplexd did not become ready"
}

stop_node() {
  kill "$NODE_PID" 2>/dev/null || true
  wait "$NODE_PID" 2>/dev/null || true
  NODE_PID=""
}

# The server's mean time per WebSocket request of op $1 (arrival -> reply queued), in ms.
server_mean_ms() {
  curl -sf "$HTTP/metrics" | awk -v op="$1" '
    index($0, "neuroplex_request_seconds_sum{") == 1 && index($0, "api=\"ws\"") &&
      index($0, "op=\"" op "\"") { sum = $NF }
    index($0, "neuroplex_request_seconds_count{") == 1 && index($0, "api=\"ws\"") &&
      index($0, "op=\"" op "\"") { count = $NF }
    END { if (count > 0) printf "%.3f", 1000 * sum / count; else print "-" }'
}

json_field() { jq -r ".$1 // empty" <<<"$2"; }
status=0

log "$(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); ${SECONDS_PER_RUN} s per run"

if wanted throughput; then
  start_node throughput
  echo "== 1. throughput: $CONNECTIONS WebSocket connections vs $CONNECTIONS Cap'n Proto clients"
  ws_out=$("$WS_BENCH" throughput --url "$WS_URL" --server-pid "$NODE_PID" \
    --connections "$CONNECTIONS" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP") || status=1
  echo "$ws_out"
  ws_json=$(tail -n 1 <<<"$ws_out")
  ws_server_ms=$(server_mean_ms counter.add)
  capnp_json=$("$NEUROPLEXCTL" --endpoint "$CAPNP" --json bench --clients "$CONNECTIONS" \
    --op counter --keys "$CONNECTIONS" --ns bench --seconds "$SECONDS_PER_RUN" \
    --warmup "$WARMUP") || status=1
  echo "neuroplexctl bench (Cap'n Proto): $capnp_json"
  ws_ops=$(json_field ops_per_sec "$ws_json")
  capnp_ops=$(json_field ops_per_sec "$capnp_json")
  printf '%-22s %10s %9s %9s %7s\n' api ops/s p50_ms p99_ms errors
  printf '%-22s %10.0f %9.3f %9.3f %7s\n' "WebSocket (ws_bench)" "$ws_ops" \
    "$(json_field latency_p50_ms "$ws_json")" "$(json_field latency_p99_ms "$ws_json")" \
    "$(json_field errors "$ws_json")"
  printf '%-22s %10.0f %9.3f %9.3f %7s\n' "Cap'n Proto (loadgen)" "$capnp_ops" \
    "$(json_field p50_ms "$capnp_json")" "$(json_field p99_ms "$capnp_json")" \
    "$(json_field errors "$capnp_json")"
  awk -v a="$ws_ops" -v b="$capnp_ops" 'BEGIN {
    if (b + 0 <= 0) { print "ratio: -"; exit }
    r = 100 * a / b
    printf "ratio WebSocket / Cap'"'"'n Proto: %.0f%% (target >= 50%%: %s)\n", r, (r >= 50 ? "met" : "MISSED") }'
  echo "server time per WebSocket counter.add (arrival -> reply queued, /metrics mean): $ws_server_ms ms"
  stop_node
fi

if wanted fanout; then
  start_node fanout
  echo "== 2. fan-out: $SUBSCRIBERS subscribers, $RATE writes/s for $SECONDS_PER_RUN s"
  "$WS_BENCH" fanout --url "$WS_URL" --server-pid "$NODE_PID" --subscribers "$SUBSCRIBERS" \
    --rate "$RATE" --seconds "$SECONDS_PER_RUN" || status=1
  echo "server time per WebSocket register.set (arrival -> reply queued, /metrics mean):" \
    "$(server_mean_ms register.set) ms"
  stop_node
fi

if wanted connections; then
  start_node connections
  echo "== 3. connections: $COUNT connections with one watch each"
  "$WS_BENCH" connections --url "$WS_URL" --server-pid "$NODE_PID" --count "$COUNT" || status=1
  stop_node
fi

exit $status
