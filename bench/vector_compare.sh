#!/usr/bin/env bash
# Vector search, in one run: our HNSW beside Debian's hnswlib and FAISS in process
# (bench/vector_bench), then memory.search end to end over Cap'n Proto against a fresh node
# beside the same index in process (bench/vector_e2e_bench).
#
#   bench/vector_compare.sh [--only index|e2e] [--windows 1,4,16] [--ef 16]
#                           [--consistency linearizable|lease|local]
#
# Data: Fashion-MNIST (Debian's dataset-fashion-mnist; 60k train, 10k queries, L2, k=10).
# Everything runs on this machine: the benchmark client takes CPU from the node.
# Environment: BUILD_DIR (default build/release) holds tools/neuroplexd and the two benches;
# missing ones are built there. TMPDIR picks the node's disk; KEEP=1 keeps the temp dir.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/release}
ONLY=""
WINDOWS=1,4,16
EF=16
CONSISTENCY=linearizable
while [[ $# -gt 0 ]]; do
  case $1 in
    --only) ONLY=$2; shift 2 ;;
    --windows) WINDOWS=$2; shift 2 ;;
    --ef) EF=$2; shift 2 ;;
    --consistency) CONSISTENCY=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "vector_compare.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done

log() { echo "vector_compare: $*" >&2; }
die() { log "$*"; exit 1; }

targets=(neuroplexd vector_e2e_bench vector_bench)
cmake --build "$BUILD_DIR" --target "${targets[@]}" >&2 || die "build failed in $BUILD_DIR"

if [[ -z $ONLY || $ONLY == index ]]; then
  "$BUILD_DIR/bench/vector_bench"
fi
[[ -z $ONLY || $ONLY == e2e ]] || exit 0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/npx-vector-compare-XXXXXX")
mkdir -p "$WORK/bin"
cp "$BUILD_DIR/tools/neuroplexd" "$WORK/bin/npxd-vector-compare"
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

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ws_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$WORK/bin/npxd-vector-compare" --data-dir "$WORK/data" --listen "127.0.0.1:$port" \
  --ws-listen "127.0.0.1:$ws_port" >"$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$ws_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$NODE_PID" 2>/dev/null || die "neuroplexd exited: $(tail -n 5 "$WORK/node.log")"
  sleep 0.2
done
log "neuroplexd pid $NODE_PID on 127.0.0.1:$port"
"$BUILD_DIR/bench/vector_e2e_bench" --endpoint "127.0.0.1:$port" --windows "$WINDOWS" \
  --ef "$EF" --consistency "$CONSISTENCY"
