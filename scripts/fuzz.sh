#!/usr/bin/env bash
# Runs every libFuzzer harness of a build for a set time each.
#
#   scripts/fuzz.sh <build dir> [seconds per harness] [harness name...]
#
# Inputs that reach new code are kept in <build>/fuzz/corpus/<name> (the
# seeds in fuzz/corpus/<name> are only read); a crash, a leak or a timeout
# is kept in <build>/fuzz/crashes/<name>/ and makes the script exit 1 once
# every harness has run. Each harness's output is in <build>/fuzz/logs/.
set -u
build=${1:?usage: scripts/fuzz.sh <build dir> [seconds] [name...]}
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/fuzz/logs"

if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for exe in "$build"/fuzz/muster_fuzz_*; do
        [ -x "$exe" ] && names+=("${exe##*/muster_fuzz_}")
    done
fi
if [ ${#names[@]} -eq 0 ]; then
    echo "fuzz.sh: no harness in $build/fuzz (configure with MUSTER_BUILD_FUZZERS=ON and Clang)" >&2
    exit 2
fi

failed=()
for name in "${names[@]}"; do
    corpus="$build/fuzz/corpus/$name"
    crashes="$build/fuzz/crashes/$name"
    log="$build/fuzz/logs/$name.log"
    mkdir -p "$corpus" "$crashes"
    "$build/fuzz/muster_fuzz_$name" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
        -artifact_prefix="$crashes/" -print_final_stats=1 \
        "$corpus" "$root/fuzz/corpus/$name" > "$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    if [ $rc -eq 0 ]; then
        echo "fuzz $name: ${runs:-?} inputs in ${seconds} s, no crash"
    else
        echo "fuzz $name: FAILED (exit $rc); see $log and $crashes/"
        failed+=("$name")
    fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: crashes in ${failed[*]}"; exit 1; }
