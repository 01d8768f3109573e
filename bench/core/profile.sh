#!/usr/bin/env bash
# Instructions per task of each kind of bench/core/gather_profile.cpp, from
# callgrind: (Ir at N tasks - Ir at 0 tasks) / N. Deterministic, so it
# compares levers on a machine too noisy for wall time.
#
#   bash bench/core/profile.sh [N] [KIND...]     (default N 20000, every kind)
set -euo pipefail
build=${BUILD:-build/release}
n=${1:-20000}
shift || true
kinds=("$@")
[[ ${#kinds[@]} -gt 0 ]] || kinds=(raw raw_cancellable raw_wait gather_wait gather gather_deadline gather_timeout lazy lazy_limit as_completed with_group)
prog=$build/bench/core_gather_profile
[[ -x $prog ]] || { echo "profile.sh: $prog is missing (cmake --build --preset release --target core_gather_profile)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ir() {
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$prog" "$1" "$2" 2>"$out/log" ||
        { cat "$out/log" >&2; exit 1; }
    sed -n 's/^summary: \([0-9]*\).*/\1/p' "$out/cg"
}
printf '%-16s %10s\n' kind Ir/task
for k in "${kinds[@]}"; do
    base=$(ir "$k" 0)
    full=$(ir "$k" "$n")
    printf '%-16s %10.0f\n' "$k" "$(echo "($full - $base) / $n" | bc -l)"
done
