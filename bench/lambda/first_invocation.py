"""The whole first invocation of a fresh function under `muster invoke`, for
several bootstraps, alternately: wall time of one `muster invoke` (the
emulator's start, the bootstrap's start and init, one invocation, shutdown),
and the REPORT line's Init Duration and Duration. Prints JSON on stdout.

usage: first_invocation.py --muster CLI --runs N NAME=BOOTSTRAP [NAME=BOOTSTRAP...]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--muster", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("bootstraps", nargs="+")
    args = parser.parse_args()

    specs = [b.split("=", 1) for b in args.bootstraps]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    samples = {name: {"wall_ms": [], "init_ms": [], "duration_ms": []} for name, _ in specs}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as event:
        event.write("{}")
    try:
        for run in range(args.runs + 1):
            for name, bootstrap in specs:
                start = time.perf_counter()
                done = subprocess.run([args.muster, "invoke", "--event", event.name, "--",
                                       bootstrap], env=env, capture_output=True, text=True)
                wall = (time.perf_counter() - start) * 1e3
                if done.returncode != 0:
                    raise SystemExit(f"{name}: muster invoke failed:\n{done.stderr}")
                if run == 0:
                    continue  # warm the page cache
                init = re.search(r"Init Duration: ([\d.]+) ms", done.stderr)
                duration = re.search(r"\tDuration: ([\d.]+) ms", done.stderr)
                samples[name]["wall_ms"].append(wall)
                samples[name]["init_ms"].append(float(init.group(1)) if init else None)
                samples[name]["duration_ms"].append(float(duration.group(1)))
    finally:
        os.unlink(event.name)

    result = {"runs": args.runs, "bootstraps": {}}
    for name, bootstrap in specs:
        s = samples[name]
        inits = [v for v in s["init_ms"] if v is not None]
        result["bootstraps"][name] = {
            "bootstrap": bootstrap,
            "bootstrap_bytes": os.path.getsize(bootstrap),
            "wall_ms_median": statistics.median(s["wall_ms"]),
            "wall_ms_min": min(s["wall_ms"]),
            "init_ms_median": statistics.median(inits) if inits else None,
            "duration_ms_median": statistics.median(s["duration_ms"]),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
