#!/usr/bin/env bash
# Checks that the C++ lines changed on this branch follow .clang-format.
#
# Usage: scripts/check-format.sh [BASE]
#
# Only the lines that differ from BASE are checked (git clang-format), so a
# change is held to the style without reformatting whole files that were
# written before the check existed. BASE defaults to where this branch left
# main (origin/main in a clone, main otherwise); on main itself, to the last
# commit's parent. The working tree's uncommitted changes count too. Prints
# the changes clang-format wants and fails when there are any; `git
# clang-format BASE` applies them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

base=${1:-}
if [[ -z "$base" ]]; then
    for ref in origin/main main; do
        if git rev-parse -q --verify "$ref^{commit}" >/dev/null; then
            base=$(git merge-base HEAD "$ref")
            break
        fi
    done
    if [[ -z "$base" || "$base" == "$(git rev-parse HEAD)" ]]; then
        base=$(git rev-parse -q --verify 'HEAD~1^{commit}' || true)
    fi
fi
if [[ -z "$base" ]]; then
    echo "check-format: no commit to compare with, nothing checked"
    exit 0
fi

out=$(git clang-format --binary clang-format --extensions cpp,hpp,h,cc,ipp --diff "$base" --)
case "$out" in
    "" | "no modified files to format" | "clang-format did not modify any files")
        echo "check-format: changed lines since $(git rev-parse --short "$base") follow .clang-format"
        ;;
    *)
        printf '%s\n' "$out"
        echo "check-format: the lines above, changed since $(git rev-parse --short "$base")," \
            "do not follow .clang-format (git clang-format $(git rev-parse --short "$base") fixes them)" >&2
        exit 1
        ;;
esac
