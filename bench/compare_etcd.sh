#!/usr/bin/env bash
# Neuroplex against etcd on this machine: write throughput and latency, side by side.
#
# Starts a 3-member etcd (Debian's etcd-server 3.4, installed with apt-get when missing) and a
# 3-node Neuroplex on loopback, each member with its own data directory in one temp dir on the
# real disk, both with fsync on (etcd's default; --unsafe-no-fsync is never used). Then, for each
# client count, drives both with the same closed-loop generator (bench/load_compare,
# tools/loadgen): 256-byte values over 1000 keys, `--seconds` measured after `--warmup`.
#   etcd:      PUT through the HTTP/JSON gateway (POST /v3/kv/put, base64 key and value), one
#              keep-alive HTTP/1.1 connection per client.
#   Neuroplex: Session.update, register "set" of a 256-byte JSON string, over Cap'n Proto.
# Both sides send every request to their leader (etcdctl endpoint status, neuroplexctl --json
# status), so neither pays a forwarding hop. When the Neuroplex leader cannot be found, both sides
# spread their clients round-robin over all members instead, and the script says so.
#
# The load generator runs on the same machine and takes CPU from both clusters alike (measured
# here: ~12 us of its CPU per Neuroplex request, ~40 us per etcd HTTP request); on a 2-core
# machine that is part of the numbers. The sides take turns: at each client count etcd runs first,
# then Neuroplex, while the other cluster sits idle.
#
# Everything started here is killed and the temp dir removed on exit.
#
#   bench/compare_etcd.sh [--seconds 10] [--warmup 2] [--clients "1 16 64 256"]
#                         [--value-size 256] [--only etcd|neuroplex]
#
# Environment: BUILD_DIR (default build/release) holds tools/neuroplexd, tools/ctl/neuroplexctl
# and bench/load_compare (LOAD_COMPARE overrides the last); TMPDIR picks the disk (must not be
# tmpfs, or fsync is free); KEEP=1 keeps it (data and member logs). SECONDS_PER_RUN, WARMUP,
# CLIENTS, VALUE_SIZE and ONLY are the defaults of the flags.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/release}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
WARMUP=${WARMUP:-2}
CLIENTS=${CLIENTS:-"1 16 64 256"}
VALUE_SIZE=${VALUE_SIZE:-256}
ONLY=${ONLY:-}

while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) SECONDS_PER_RUN=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --value-size) VALUE_SIZE=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare_etcd.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done

LOAD_COMPARE=${LOAD_COMPARE:-$BUILD_DIR/bench/load_compare}
NEUROPLEXD=$BUILD_DIR/tools/neuroplexd
NEUROPLEXCTL=$BUILD_DIR/tools/ctl/neuroplexctl
ETCD_CLIENT_PORTS=(23791 23792 23793)
ETCD_PEER_PORTS=(23801 23802 23803)
NPX_PORTS=(24001 24002 24003)
NPX_WS_PORTS=(24101 24102 24103)

log() { echo "compare_etcd: $*" >&2; }
die() { log "$*"; exit 1; }
run_etcd() { [[ -z $ONLY || $ONLY == etcd ]]; }
run_neuroplex() { [[ -z $ONLY || $ONLY == neuroplex ]]; }

[[ -x $LOAD_COMPARE ]] || die "$LOAD_COMPARE missing: cmake --build $BUILD_DIR --target load_compare"

if run_etcd && ! command -v etcd >/dev/null; then
  [[ $(id -u) == 0 ]] || die "etcd is not installed; run as root or apt-get install etcd-server"
  log "installing etcd-server and etcd-client"
  DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client >/dev/null
  # Debian starts the packaged service; it would compete for the CPU and disk.
  systemctl stop etcd 2>/dev/null || true
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/npx-compare-XXXXXX")
[[ $(stat -f -c %T "$WORK") != tmpfs ]] || die "$WORK is on tmpfs: fsync would be free"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n ${KEEP:-} ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

join_by() { local IFS=$1; shift; echo "$*"; }

# Another cluster on our ports would be measured instead of ours.
require_free_ports() {
  local port
  for port in "$@"; do
    if ss -Hltn "sport = :$port" | grep -q .; then die "port $port is in use"; fi
  done
}

# ---- etcd ----
start_etcd() {
  local i cluster=() endpoints=()
  for i in 0 1 2; do
    cluster+=("e$((i + 1))=http://127.0.0.1:${ETCD_PEER_PORTS[i]}")
    endpoints+=("127.0.0.1:${ETCD_CLIENT_PORTS[i]}")
  done
  ETCD_ENDPOINTS=$(join_by , "${endpoints[@]}")
  require_free_ports "${ETCD_CLIENT_PORTS[@]}" "${ETCD_PEER_PORTS[@]}"
  for i in 0 1 2; do
    etcd --name "e$((i + 1))" --data-dir "$WORK/etcd$((i + 1))" \
      --listen-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[i]}" \
      --advertise-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[i]}" \
      --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[i]}" \
      --initial-cluster "$(join_by , "${cluster[@]}")" \
      --initial-cluster-token npx-compare --initial-cluster-state new \
      --logger zap --log-level warn >"$WORK/etcd$((i + 1)).log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 60); do
    if ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint health >/dev/null 2>&1; then
      ETCD_LEADER=$(ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint status \
        -w simple 2>/dev/null | awk -F', ' '$5 == "true" { print $1 }')
      [[ -n $ETCD_LEADER ]] && return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$WORK"/etcd*.log >&2
  die "etcd did not become healthy"
}

# ---- Neuroplex ----
start_neuroplex() {
  [[ -x $NEUROPLEXD ]] || die "$NEUROPLEXD missing: cmake --build $BUILD_DIR --target neuroplexd"
  local i peers=() endpoints=()
  for i in 0 1 2; do
    peers+=("$((i + 1))=127.0.0.1:${NPX_PORTS[i]}")
    endpoints+=("127.0.0.1:${NPX_PORTS[i]}")
  done
  NPX_ENDPOINTS=$(join_by , "${endpoints[@]}")
  require_free_ports "${NPX_PORTS[@]}" "${NPX_WS_PORTS[@]}"
  # A private copy: a rebuild, or another job's cleanup by process name, during the run must not
  # replace or stop our nodes.
  mkdir -p "$WORK/bin"
  cp "$NEUROPLEXD" "$WORK/bin/npxd-compare"
  for i in 0 1 2; do
    "$WORK/bin/npxd-compare" --id "$((i + 1))" --listen "127.0.0.1:${NPX_PORTS[i]}" \
      --ws-listen "127.0.0.1:${NPX_WS_PORTS[i]}" --data-dir "$WORK/npx$((i + 1))" \
      --peers "$(join_by , "${peers[@]}")" >"$WORK/neuroplex$((i + 1)).log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 60); do
    # Three clients: one connection to each member, so all three must be up.
    if "$LOAD_COMPARE" --system neuroplex --endpoints "$NPX_ENDPOINTS" --clients 3 --ops 3 \
      --timeout-ms 2000 >/dev/null 2>&1; then
      NPX_LEADER=$(neuroplex_leader)
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$WORK"/neuroplex*.log >&2
  die "Neuroplex did not accept writes"
}

# HOST:PORT of the Neuroplex leader, or nothing when neuroplexctl cannot tell.
neuroplex_leader() {
  [[ -x $NEUROPLEXCTL ]] || return 0
  "$NEUROPLEXCTL" --endpoint "$NPX_ENDPOINTS" --json status 2>/dev/null |
    jq -r '.leader_address // .leaderAddress // empty' 2>/dev/null | head -n 1 || true
}

# ---- load ----
# Prints "ops_per_sec p50_ms p99_ms errors" of one run.
measure() {
  local system=$1 target=$2 clients=$3 line
  line=$("$LOAD_COMPARE" --system "$system" --endpoints "$target" --clients "$clients" \
    --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" --value-size "$VALUE_SIZE" --json) || true
  if [[ -z $line ]]; then
    log "$system at $clients clients failed; the end of its member logs:"
    tail -n 5 "$WORK/$system"*.log >&2 || true
    echo "0 0 0 failed"
    return
  fi
  jq -r '"\(.ops_per_sec) \(.p50_ms) \(.p99_ms) \(.errors)"' <<<"$line"
}

ETCD_TARGET="" NPX_TARGET=""
run_etcd && start_etcd
run_neuroplex && start_neuroplex
if run_neuroplex && [[ -z ${NPX_LEADER:-} ]]; then
  log "the Neuroplex leader is unknown (neuroplexd/neuroplexctl status): both sides use all members"
  NPX_TARGET=$NPX_ENDPOINTS
  ETCD_TARGET=${ETCD_ENDPOINTS:-}
else
  NPX_TARGET=${NPX_LEADER:-}
  ETCD_TARGET=${ETCD_LEADER:-}
fi
log "etcd -> ${ETCD_TARGET:-(skipped)}; neuroplex -> ${NPX_TARGET:-(skipped)}"
log "${SECONDS_PER_RUN} s per run after ${WARMUP} s warmup, ${VALUE_SIZE}-byte values, data in $WORK"

# "ops/s p50 p99" columns of one side, "-" when it did not run.
columns() {
  if [[ $1 == - ]]; then printf '%10s %8s %8s' - - -; else printf '%10.0f %8.2f %8.2f' "$1" "$2" "$3"; fi
}

printf '%7s | %10s %8s %8s | %10s %8s %8s | %7s\n' clients "etcd ops/s" p50_ms p99_ms \
  "npx ops/s" p50_ms p99_ms ratio
for clients in $CLIENTS; do
  e=(- - - 0) n=(- - - 0)
  if run_etcd; then read -r -a e <<<"$(measure etcd "$ETCD_TARGET" "$clients")"; fi
  if run_neuroplex; then read -r -a n <<<"$(measure neuroplex "$NPX_TARGET" "$clients")"; fi
  ratio=$(awk -v a="${n[0]}" -v b="${e[0]}" \
    'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }')
  notes=""
  [[ ${e[3]} == 0 ]] || notes+="  etcd errors: ${e[3]}"
  [[ ${n[3]} == 0 ]] || notes+="  neuroplex errors: ${n[3]}"
  printf '%7s | %s | %s | %7s%s\n' "$clients" "$(columns "${e[@]}")" "$(columns "${n[@]}")" \
    "$ratio" "$notes"
done
