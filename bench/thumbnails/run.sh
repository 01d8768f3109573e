#!/usr/bin/env bash
# The thumbnail job side by side: muster (threads and processes) against Node 20 + sharp and
# Python 3.11 + aiohttp + Pillow, on the same 300 images, rounds alternated, in one run; then
# its section of bench/RESULTS.md is rewritten with the table. See bench/thumbnails/README.md.
#
#   bash bench/thumbnails/run.sh [BUILD_DIR] [--rounds N] [--warm N] [bench.py options...]
#
# BUILD_DIR is a release build tree (default build/release) holding the thumbnails function,
# its zip, thumbnails_samples, thumbnails_origin and the muster CLI:
#   cmake --build --preset release --target thumbnails thumbnails_zip thumbnails_samples \
#       thumbnails_origin muster
# The Node peer (sharp, better-sqlite3) is installed under BUILD_DIR/bench/thumbnails/node,
# aws-lambda-ric with the tests' peers under build/peers; Python's come from Debian
# (scripts/install-deps.sh). MUSTER_BENCH_NO_RESULTS=1 leaves bench/RESULTS.md alone.
set -euo pipefail

cd "$(dirname "$0")/../.."

build=build/release
if [[ $# -gt 0 && $1 != --* ]]; then
    build=$1
    shift
fi
python=/usr/bin/python3  # Debian's, with python3-pil and python3-aiohttp
out=$build/bench/thumbnails

die() {
    echo "bench/thumbnails/run.sh: $*" >&2
    exit 1
}

for tool in tools/muster/muster examples/thumbnails/thumbnails \
    examples/thumbnails/demo/thumbnails_samples examples/thumbnails/demo/thumbnails_origin; do
    [[ -x $build/$tool ]] || die "$build/$tool is missing: cmake --build --preset release --target thumbnails thumbnails_zip thumbnails_samples thumbnails_origin muster"
done
[[ -f $build/examples/thumbnails/thumbnails.zip ]] ||
    echo "bench/thumbnails/run.sh: $build/examples/thumbnails/thumbnails.zip is missing (target thumbnails_zip): no zip size for muster" >&2
[[ -x $python ]] || die "$python is missing (make deps)"
$python -c 'import PIL, aiohttp' 2>/dev/null || die "Debian's python3-pil and python3-aiohttp are missing (make deps)"
command -v node >/dev/null || die "node is missing (make deps)"

# No credentials for any of it.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^AWS_' || true)

mkdir -p "$out"
scripts/install-test-peers.sh build/peers >&2
bash bench/thumbnails/install-node.sh "$out/node" >&2

args=("$@")
echo "bench/thumbnails/run.sh: $python bench/thumbnails/bench.py --build $build ${args[*]}" >&2
$python bench/thumbnails/bench.py --build "$build" --node-dir "$out/node" \
    --ric "$PWD/build/peers/node_modules/aws-lambda-ric/bin/index.mjs" "${args[@]}"

[[ ${MUSTER_BENCH_NO_RESULTS:-0} == 1 ]] && exit 0

export MUSTER_BENCH_COMMAND
MUSTER_BENCH_COMMAND="bash bench/thumbnails/run.sh $build$(printf ' %q' "${args[@]}")"
export MUSTER_BENCH_MACHINE
MUSTER_BENCH_MACHINE="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores, $(uname -sr), Node $(node --version), Python $($python -c 'import sys; print(sys.version.split()[0])'), Pillow $(dpkg-query -W -f='${Version}' python3-pil 2>/dev/null), aiohttp $(dpkg-query -W -f='${Version}' python3-aiohttp 2>/dev/null), sharp $(node -p "require('$PWD/$out/node/node_modules/sharp/package.json').version")"
$python - bench/RESULTS.md "$out/results.json" <<'PY'
import json
import os
import sys

results_md, results_json = sys.argv[1], sys.argv[2]
BEGIN = ("<!-- BEGIN GENERATED thumbnails by bench/thumbnails/run.sh: edits between these "
         "markers are overwritten -->")
END = "<!-- END GENERATED thumbnails -->"
with open(results_json) as f:
    doc = json.load(f)
section = f"""### The thumbnail job: muster against Node 20 + sharp and Python 3.11 + aiohttp + Pillow

{doc['date']}; {os.environ['MUSTER_BENCH_MACHINE']}; load average {doc['load_before']:.2f} before,
{doc['load_after']:.2f} after. Command: `{os.environ['MUSTER_BENCH_COMMAND']}`.

{doc['images']} images (`thumbnails_samples --count 300 --seed 7`, the good ones: JPEG, PNG,
WebP) served by `thumbnails_origin`, one SQS event naming them all, 256 px, JPEG quality 80,
16 fetches in flight. {doc['rounds']} rounds, each contender in turn per round (A B C D A B C D):
a fresh process, one cold invocation, then {doc['warm']} warm ones. muster and Node run under
`muster invoke --memory 1769` (Node through aws-lambda-ric); Python has no runtime client here,
so its handler is timed in-process (init: spawn to handler ready). Warm duration: median of every
warm invocation; cold: median of the first invocations; CPU: user+sys of the function's process
tree per warm batch, median; peak memory: REPORT's Max Memory Used (Python: ru_maxrss); zip: the
function's deployment zip (Node: handler + node_modules; Python: handler + Pillow, aiohttp and the
libraries Pillow loads). In brackets: the ratio to Python.

{doc['table']}
"""
text = open(results_md).read() if os.path.exists(results_md) else "# Benchmark results\n"
if BEGIN in text and END in text:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    text = head + BEGIN + "\n" + section + END + tail
else:
    text = text.rstrip("\n") + "\n\n" + BEGIN + "\n" + section + END + "\n"
with open(results_md, "w") as f:
    f.write(text)
print(f"bench/thumbnails/run.sh: wrote {results_md}", file=sys.stderr)
PY
