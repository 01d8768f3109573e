#!/usr/bin/env bash
# Sequential invocations per second through `muster serve`: N requests, one
# after the other over one keep-alive connection, against
#   1. a minimal C++ runtime (emulator_noop_bootstrap): the emulator's ceiling;
#   2. muster's own runtime with a no-op handler (bench/lambda's muster_noop_function);
#   3. AWS's aws-lambda-ric 3.x running a no-op Node handler;
# each with freezing on (Lambda's behaviour, the default) and off.
# Then load: 64 keep-alive connections at once sending N invocations in all
# to the minimal runtime answering each event with itself, every answer
# matched to its request by its id, the serve process's resident memory
# sampled (emulator_serve_load_driver; fails on any missing or mismatched
# answer).
#
#   bash bench/emulator/run.sh [N]      (default N=20000; ric runs N/4)
#   MUSTER_BENCH_ONLY_LOAD=1 bash bench/emulator/run.sh [N]    only the load
#
# Environment: MUSTER_BENCH_BUILD (default build/release) holds the muster
# binary and bench/emulator's programs; MUSTER_PEERS_DIR (default build/peers)
# holds node_modules/aws-lambda-ric (scripts/install-test-peers.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${MUSTER_BENCH_BUILD:-build/release}
peers=${MUSTER_PEERS_DIR:-build/peers}
n=${1:-20000}
muster=$build/tools/muster/muster
driver=$build/bench/emulator/emulator_invoke_driver
load_driver=$build/bench/emulator/emulator_serve_load_driver
noop=$build/bench/emulator/emulator_noop_bootstrap
ric=$(realpath -m "$peers/node_modules/aws-lambda-ric/bin/index.mjs")

for f in "$muster" "$driver" "$load_driver" "$noop"; do
    [[ -x $f ]] || { echo "run.sh: $f is missing (build the release preset with benchmarks)" >&2; exit 1; }
done
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^AWS_' || true)

log=$(mktemp)
trap 'rm -f "$log"; [[ -n ${pid:-} ]] && kill "$pid" 2>/dev/null || true' EXIT

# serve_and_drive LABEL COUNT [serve options] -- bootstrap...
# (with LOAD=C set: C connections through the load driver)
serve_and_drive() {
    local label=$1 count=$2
    shift 2
    : >"$log"
    # The function's START/END/REPORT lines go to the log, not the terminal.
    "$muster" serve --port 0 "$@" 2>"$log" &
    pid=$!
    local port=""
    for _ in $(seq 500); do
        port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$' || true)
        [[ -n $port ]] && break
        sleep 0.01
    done
    [[ -n $port ]] || { echo "run.sh: muster serve did not start" >&2; cat "$log" >&2; exit 1; }
    printf '%-48s ' "$label"
    if [[ -n ${LOAD:-} ]]; then
        "$load_driver" "$port" "$pid" "$LOAD" "$count"
    else
        "$driver" "$port" "$count"
    fi
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
}

if [[ ${MUSTER_BENCH_ONLY_LOAD:-0} == 1 ]]; then
    echo "muster serve under load ($(nproc) cores)"
    LOAD=64 serve_and_drive "64 connections, echo runtime, freezing on" "$n" -- "$noop" echo
    exit 0
fi
echo "muster serve, sequential invocations over one keep-alive connection ($(nproc) cores)"
serve_and_drive "minimal C++ runtime, freezing on" "$n" -- "$noop"
serve_and_drive "minimal C++ runtime, freezing off" "$n" --no-freeze -- "$noop"
runtime=$build/bench/lambda/muster_noop_function
if [[ -x $runtime ]]; then
    serve_and_drive "muster::lambda runtime, freezing on" "$n" -- "$runtime"
    serve_and_drive "muster::lambda runtime, freezing off" "$n" --no-freeze -- "$runtime"
fi
if [[ -f $ric ]]; then
    serve_and_drive "aws-lambda-ric 3.x (Node 20), freezing on" $((n / 4)) \
        --task-root bench/emulator/ric -- node "$ric" index.handler
    serve_and_drive "aws-lambda-ric 3.x (Node 20), freezing off" $((n / 4)) --no-freeze \
        --task-root bench/emulator/ric -- node "$ric" index.handler
else
    echo "run.sh: $ric is missing; skipping aws-lambda-ric (scripts/install-test-peers.sh $peers)" >&2
fi
echo "muster serve under load ($(nproc) cores)"
LOAD=64 serve_and_drive "64 connections, echo runtime, freezing on" "$n" -- "$noop" echo
