#!/usr/bin/env bash
# muster::aws and AWS's JavaScript SDK v3 doing the same work against the same
# local stand-ins: s3rver (S3) and dynalite (DynamoDB, in memory), both from
# the npm test peers, on 127.0.0.1 with dummy credentials. Each round runs
# aws_bench once, then sdk.mjs once, so load on the machine falls on both
# alike. Prints one JSON document on stdout.
#
#   bash bench/aws/run.sh [ROUNDS]     (default 5; after a release build of aws_bench)
#
# Environment: MUSTER_BENCH_BUILD, the build tree (default build/release).
set -euo pipefail

cd "$(dirname "$0")/../.."
rounds=${1:-5}
build=${MUSTER_BENCH_BUILD:-build/release}
bench=$build/bench/aws/aws_bench
peers=$PWD/build/peers
[[ -x $bench ]] || { echo "bench/aws/run.sh: $bench is missing" >&2; exit 1; }

# No credentials of the shell may reach the clients or the stand-ins.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^AWS_' || true)
scripts/install-test-peers.sh "$peers" >&2

tmp=$(mktemp -d)
pids=()
cleanup() {
    exec 7>&- 8>&- 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
    rm -f "$peers"/muster-bench-$$-*.mjs
}
trap cleanup EXIT

# Node resolves the peers' packages from the script's directory: each script
# runs through a symlink in the peers directory.
link() {
    local dest=$peers/muster-bench-$$-$(basename "$1")
    ln -sf "$PWD/$1" "$dest"
    echo "$dest"
}

# Starts a stand-in whose stdin is a FIFO held open on fd $1 (it exits when
# this script does); sets `port`. Not called in a subshell: the fd must stay.
start() {
    local fd=$1 name=$2
    shift 2
    mkfifo "$tmp/$name.in"
    node --preserve-symlinks-main "$@" <"$tmp/$name.in" >"$tmp/$name.out" &
    pids+=($!)
    eval "exec $fd>\"$tmp/$name.in\""
    for _ in $(seq 200); do
        if grep -q listening "$tmp/$name.out"; then
            port=$(sed -n 's/^listening //p' "$tmp/$name.out")
            return
        fi
        sleep 0.05
    done
    echo "bench/aws/run.sh: $name did not start" >&2
    exit 1
}

mkdir -p "$tmp/s3"
start 7 s3rver "$(link tests/aws/peers/s3rver.mjs)" "$tmp/s3" --direct
s3=http://127.0.0.1:$port
start 8 dynalite "$(link tests/aws/peers/dynalite.mjs)"
ddb=http://127.0.0.1:$port
sdk=$(link bench/aws/sdk.mjs)

for round in $(seq "$rounds"); do
    echo "bench/aws/run.sh: round $round of $rounds" >&2
    "$bench" --s3 "$s3" --dynamodb "$ddb" --runs 1 >>"$tmp/muster.jsonl"
    node --preserve-symlinks-main "$sdk" --s3 "$s3" --dynamodb "$ddb" --runs 1 >>"$tmp/sdk.jsonl"
done

/usr/bin/python3 - "$tmp/muster.jsonl" "$tmp/sdk.jsonl" <<'PY'
import json, sys
out = {"rounds": 0, "implementations": {}}
for path in sys.argv[1:]:
    docs = [json.loads(line) for line in open(path) if line.strip()]
    name = docs[0]["implementation"]
    merged = {"items": docs[0]["items"], "limit": docs[0]["limit"], "workloads": {}}
    if "runtime" in docs[0]:
        merged["runtime"] = docs[0]["runtime"]
    for doc in docs:
        for w, v in doc["workloads"].items():
            slot = merged["workloads"].setdefault(w, {"runs_ms": [], "cpu_ms": []})
            slot["runs_ms"] += v["runs_ms"]
            slot["cpu_ms"] += v["cpu_ms"]
    out["implementations"][name] = merged
    out["rounds"] = len(docs)
print(json.dumps(out))
PY
