#!/usr/bin/env bash
# The HTTP client benchmark: 1,000 GETs to a local server that answers each
# after 20 ms with 10 KB, through
#   muster::http   gather unlimited, and gather with limit = 100 (client_bench.cpp);
#   aiohttp        asyncio.gather over one ClientSession (aiohttp_get.py, Debian's python3);
#   Node fetch     Promise.allSettled, and 100 workers (fetch_get.mjs);
#   wrk            100 connections for 3 s: the floor, 1,000 / its requests per second;
# all against one instance of origin_server.cpp, in rounds, in an order that
# rotates each round so that load on the machine falls on every client alike.
# Then, once per client, the memory per in-flight request (--mode memory).
# Prints one JSON document on stdout; bench/run.sh turns it into RESULTS.md's
# table.
#
#   bash bench/http/run.sh [ROUNDS]      (default 3 rounds)
#
# Environment: MUSTER_BENCH_BUILD (default build/release) holds the binaries;
# MUSTER_BENCH_HTTP_RUNS (default 5) is the number of timed batches of each
# configuration per client process and round, after one that opens the
# connections.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${MUSTER_BENCH_BUILD:-build/release}
rounds=${1:-3}
runs=${MUSTER_BENCH_HTTP_RUNS:-5}
requests=1000
delay_ms=20
body_bytes=10240
memory_delay_ms=5000
python=/usr/bin/python3  # Debian's, with python3-aiohttp
server=$build/bench/http/http_origin_server
driver=$build/bench/http/http_client_bench

die() {
    echo "bench/http/run.sh: $*" >&2
    exit 1
}
for f in "$server" "$driver"; do
    [[ -x $f ]] || die "$f is missing (build the release preset with benchmarks)"
done
[[ -x $python ]] || die "$python is missing (make deps)"
$python -c 'import aiohttp' 2>/dev/null || die "Debian's python3-aiohttp is missing (make deps)"
command -v node >/dev/null || die "node is missing"
command -v wrk >/dev/null || die "wrk is missing (make deps)"
command -v curl >/dev/null || die "curl is missing (make deps)"
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^AWS_' || true)
# Unlimited clients hold 1,000 connections, and the server as many.
if (($(ulimit -n) < 4096)); then ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"; fi

# CPU time the whole machine has spent busy, and this script's finished
# children, in clock ticks (as bench/run.sh measures it), so that the report
# can tell how much of the machine other work took during the run.
machine_busy_ticks() {
    local _ user nice system _idle _iowait irq softirq steal
    read -r _ user nice system _idle _iowait irq softirq steal _ </proc/stat
    echo $((user + nice + system + irq + softirq + steal))
}
own_children_ticks() {
    local fields
    read -r -a fields </proc/$$/stat
    echo $((fields[15] + fields[16]))
}
uptime_ticks() {
    local up _
    read -r up _ </proc/uptime
    echo $((${up/./} * $(getconf CLK_TCK) / 100))
}
date_utc=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1 /proc/loadavg)
busy0=$(machine_busy_ticks) own0=$(own_children_ticks) up0=$(uptime_ticks)

work=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n $server_pid ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$server" --delay-ms "$delay_ms" --body-bytes "$body_bytes" >"$work/port" 2>"$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 500); do
    port=$(head -n1 "$work/port" 2>/dev/null || true)
    [[ -n $port ]] && break
    sleep 0.01
done
[[ -n $port ]] || die "the origin server did not start: $(cat "$work/server.log")"
origin=http://127.0.0.1:$port
stats() { curl -sf "$origin/stats"; }

common=(--port "$port" --requests "$requests" --body-bytes "$body_bytes")
# Each command for the report, with the server's port as PORT and the build
# tree as BUILD.
: >"$work/commands"
note() {
    printf '%s\n' "$*" |
        sed -e "s|$build/|BUILD/|g" -e "s/--port $port /--port PORT /" -e "s|:$port/|:PORT/|" \
            >>"$work/commands"
}

run_client() {
    local client=$1 round=$2 dest=$work/$1.$2
    local cmd
    case $client in
        muster) cmd=("$driver" "${common[@]}" --runs "$runs") ;;
        aiohttp) cmd=("$python" bench/http/aiohttp_get.py "${common[@]}" --runs "$runs") ;;
        fetch) cmd=(node bench/http/fetch_get.mjs "${common[@]}" --runs "$runs") ;;
        wrk) cmd=(wrk -t2 -c100 -d3s -s bench/http/wrk_report.lua "$origin/") ;;
    esac
    ((round == 1)) && note "${cmd[@]}"
    echo "bench/http/run.sh: round $round: $client" >&2
    stats >"$dest.server_before"
    if [[ $client == wrk ]]; then
        /usr/bin/time -f '{"user_s":%U,"system_s":%S}' -o "$dest.cpu" "${cmd[@]}" >"$dest.out" 2>"$dest.log" ||
            die "failed: ${cmd[*]}: $(cat "$dest.log")"
        grep '^{' "$dest.out" | tail -n1 >"$dest.json"
    else
        "${cmd[@]}" >"$dest.json" 2>"$dest.log" || die "failed: ${cmd[*]}: $(cat "$dest.log")"
    fi
    stats >"$dest.server_after"
}

clients=(muster aiohttp fetch wrk)
for round in $(seq "$rounds"); do
    for k in "${!clients[@]}"; do
        run_client "${clients[$(((k + round - 1) % ${#clients[@]}))]}" "$round"
    done
done

memory=(--mode memory --memory-delay-ms "$memory_delay_ms")
for client in muster aiohttp fetch; do
    case $client in
        muster) cmd=("$driver" "${common[@]}" "${memory[@]}") ;;
        aiohttp) cmd=("$python" bench/http/aiohttp_get.py "${common[@]}" "${memory[@]}") ;;
        fetch) cmd=(node bench/http/fetch_get.mjs "${common[@]}" "${memory[@]}") ;;
    esac
    note "${cmd[@]}"
    echo "bench/http/run.sh: memory: $client" >&2
    "${cmd[@]}" >"$work/$client.memory.json" 2>"$work/$client.memory.log" ||
        die "failed: ${cmd[*]}: $(cat "$work/$client.memory.log")"
done

kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
load_after=$(cut -d' ' -f1 /proc/loadavg)
busy1=$(machine_busy_ticks) own1=$(own_children_ticks) up1=$(uptime_ticks)
other=$(((busy1 - busy0 - (own1 - own0)) * 100 / (up1 - up0)))
((other >= 0)) || other=0
cat >"$work/machine.json" <<EOF
{"date": "$date_utc",
 "cpu": "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)",
 "cores": $(nproc), "kernel": "$(uname -sr)",
 "load_before": "$load_before", "load_after": "$load_after",
 "other_cores": "$(printf '%d.%02d' $((other / 100)) $((other % 100)))",
 "wrk": "$(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)"}
EOF

# ---- every file -> one JSON document ---------------------------------------------
$python - "$work" "$rounds" "$runs" "$requests" "$delay_ms" "$body_bytes" "$memory_delay_ms" <<'PY'
import json
import os
import sys

work = sys.argv[1]
rounds, runs, requests, delay_ms, body_bytes, memory_delay_ms = map(int, sys.argv[2:])


def load(name):
    with open(os.path.join(work, name)) as f:
        return json.load(f)


def server_cost(client, rnd):
    """The server's CPU time per response it served while `client` ran."""
    before = load(f"{client}.{rnd}.server_before")
    after = load(f"{client}.{rnd}.server_after")
    served = after["served"] - before["served"]
    return {"served": served,
            "cpu_us_per_response": (after["cpu_ms"] - before["cpu_ms"]) * 1e3 / max(served, 1)}


doc = {
    "machine": json.load(open(os.path.join(work, "machine.json"))),
    "requests": requests, "delay_ms": delay_ms, "body_bytes": body_bytes,
    "rounds": rounds, "runs_per_round": runs, "memory_delay_ms": memory_delay_ms,
    "commands": open(os.path.join(work, "commands")).read().splitlines(),
    "clients": {}, "wrk": {"connections": 100, "threads": 2, "rounds": []}, "memory": {},
}
for client in ("muster", "aiohttp", "fetch"):
    merged = {"configs": {}, "server": []}
    for rnd in range(1, rounds + 1):
        d = load(f"{client}.{rnd}.json")
        merged["label"] = d["client"]
        if "runtime" in d:
            merged["runtime"] = d["runtime"]
        for name, c in d["configs"].items():
            m = merged["configs"].setdefault(name, {"cold_ms": []})
            for k, v in c.items():
                if k == "cold_ms":
                    m["cold_ms"].append(v)
                elif isinstance(v, list):  # one entry per timed batch
                    m.setdefault(k, []).extend(v)
                else:
                    m[k] = v
        merged["server"].append(server_cost(client, rnd))
    doc["clients"][client] = merged
    doc["memory"][client] = dict(load(f"{client}.memory.json")["memory"],
                                 label=merged["label"])
for rnd in range(1, rounds + 1):
    w = load(f"wrk.{rnd}.json")
    cpu = load(f"wrk.{rnd}.cpu")
    w["cpu_s"] = cpu["user_s"] + cpu["system_s"]
    w["requests_per_second"] = w["requests"] / (w["duration_us"] / 1e6)
    w["server"] = server_cost("wrk", rnd)
    doc["wrk"]["rounds"].append(w)
json.dump(doc, sys.stdout, indent=1)
print()
PY
