#!/usr/bin/env bash
# Builds Neuroplex (Release, no tests) and starts a local cluster of neuroplexd nodes:
#   scripts/run.sh             one node: Cap'n Proto on 127.0.0.1:7400, WebSocket/HTTP on :7401
#   scripts/run.sh --nodes 3   three nodes on 7400/7401, 7410/7411, 7420/7421
# Data and logs go under ./neuroplex-data in the repository root. Ctrl-C stops every node.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

usage() {
  echo "usage: scripts/run.sh [--nodes 1|3]" >&2
  exit 2
}

nodes=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes)
      [[ $# -ge 2 ]] || usage
      nodes="$2"
      shift 2
      ;;
    --nodes=*)
      nodes="${1#--nodes=}"
      shift
      ;;
    -h | --help) usage ;;
    *)
      echo "run.sh: unknown argument: $1" >&2
      usage
      ;;
  esac
done
if [[ "${nodes}" != 1 && "${nodes}" != 3 ]]; then
  echo "run.sh: --nodes must be 1 or 3 (got '${nodes}')" >&2
  exit 2
fi

scripts/install-deps.sh

build_dir="${BUILD_DIR:-build/release}"
export CCACHE_DIR="${CCACHE_DIR:-${HOME:-/tmp}/.cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
cmake -S . -B "${build_dir}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNEUROPLEX_BUILD_TESTS=OFF
cmake --build "${build_dir}" -j "$(nproc)"

daemon="${build_dir}/tools/neuroplexd"
data_root="./neuroplex-data"

# node_args ID: the command-line flags of node ID (1-based) in a 3-node cluster.
peers="1=127.0.0.1:7400,2=127.0.0.1:7410,3=127.0.0.1:7420"
node_args() {
  local id="$1"
  local port=$((7400 + 10 * (id - 1)))
  echo "--id ${id} --data-dir ${data_root}/node${id} --listen 127.0.0.1:${port}" \
    "--ws-listen 127.0.0.1:$((port + 1)) --peers ${peers}"
}
single_args="--data-dir ${data_root} --listen 127.0.0.1:7400 --ws-listen 127.0.0.1:7401"

ctl="${build_dir}/tools/ctl/neuroplexctl"
if [[ "${nodes}" == 1 ]]; then
  mkdir -p "${data_root}"
  echo "Neuroplex: one node, Cap'n Proto on 127.0.0.1:7400, data in ${data_root}"
  echo "  dashboard http://127.0.0.1:7401/, WebSocket ws://127.0.0.1:7401/ws, metrics /metrics"
  echo "  try: ${ctl} counter add demo visits 1 && ${ctl} get demo visits"
  echo "  Ctrl-C stops it (a clean shutdown; kill -9 loses nothing acknowledged either)."
  # shellcheck disable=SC2086  # the flags are a space-separated list without spaces in values
  exec "${daemon}" ${single_args}
fi

mkdir -p "${data_root}"
pids=()
stop_nodes() {
  trap - INT TERM
  if [[ ${#pids[@]} -gt 0 ]]; then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap 'stop_nodes; exit 130' INT
trap 'stop_nodes; exit 143' TERM

for id in 1 2 3; do
  mkdir -p "${data_root}/node${id}"
  # shellcheck disable=SC2046  # node_args prints flags without spaces inside values
  "${daemon}" $(node_args "${id}") >"${data_root}/node${id}.log" 2>&1 &
  pids+=("$!")
  echo "node ${id}: pid $!, log ${data_root}/node${id}.log"
  echo "  restart it with: ${daemon} $(node_args "${id}")"
done
echo "3 nodes running: endpoints 127.0.0.1:7400, 127.0.0.1:7410, 127.0.0.1:7420"
echo "  dashboards http://127.0.0.1:7401/ :7411/ :7421/ (WebSocket on /ws, metrics on /metrics)"
echo "  try: ${ctl} status && ${ctl} --endpoint 127.0.0.1:7410 counter add demo visits 1"
echo "  Ctrl-C stops them."

# Nodes may exit on their own (e.g. one stopped by hand to watch a failover); the script
# returns once all have exited, or stops them all on Ctrl-C / SIGTERM.
wait
