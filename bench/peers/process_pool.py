"""Python's ProcessPoolExecutor on the workloads of
bench/process_pool/process_pool_bench.cpp.

Run with Debian's interpreter (/usr/bin/python3). Prints one JSON object:

  round_trip   one 64-byte task at a time through a warm pool (submit, result)
  pipelined    2,000 such tasks submitted at once, then every result read
  cpu_fanout   64 tasks of ~20 ms of arithmetic each (calibrated in Python),
               in the pool against the same 64 run one after another

The pool has one worker per core (os.cpu_count()) and Python's default start
method on Linux. Time is wall time, the best of several runs (median too).
"""

import concurrent.futures
import json
import os
import platform
import statistics
import sys
import time

ROUND_TRIPS = 2000
PIPELINED = 2000
CPU_TASKS = 64
CPU_TASK_S = 0.020
PAYLOAD = b"p" * 64
MASK = (1 << 64) - 1


def echo(data):
    return data


def burn(steps, seed):
    """Serial xorshift steps, as in the C++ benchmark."""
    x = (seed * 0x9E3779B97F4A7C15 + 1) & MASK
    for _ in range(steps):
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
    return x


def burn_task(args):
    return burn(*args)


def steps_per_cpu_task():
    probe = 20_000
    best = min(timed(lambda: burn(probe, trial)) for trial in range(5))
    return max(1, int(probe * CPU_TASK_S / best))


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    workers = os.cpu_count() or 1
    result = {
        "runtime": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "workers": workers,
        "workloads": {},
    }
    w = result["workloads"]
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        # Warm: every worker started and has run a task.
        list(pool.map(echo, [PAYLOAD] * (workers * 4)))

        def round_trip():
            for _ in range(ROUND_TRIPS):
                pool.submit(echo, PAYLOAD).result()

        def pipelined():
            futures = [pool.submit(echo, PAYLOAD) for _ in range(PIPELINED)]
            for f in futures:
                f.result()

        for name, fn, n in (("round_trip", round_trip, ROUND_TRIPS),
                            ("pipelined", pipelined, PIPELINED)):
            fn()  # warm-up run
            times = [timed(fn) for _ in range(runs)]
            w[name] = {
                "best_us_per_task": min(times) * 1e6 / n,
                "median_us_per_task": statistics.median(times) * 1e6 / n,
            }

        steps = steps_per_cpu_task()
        args = [(steps, i) for i in range(CPU_TASKS)]
        sequential, parallel = [], []
        for _ in range(max(3, runs // 2)):
            t0 = time.perf_counter()
            expected = [burn_task(a) for a in args]
            t1 = time.perf_counter()
            got = list(pool.map(burn_task, args))
            t2 = time.perf_counter()
            if got != expected:
                raise SystemExit("parallel result differs from sequential")
            sequential.append(t1 - t0)
            parallel.append(t2 - t1)
        speedups = [s / p for s, p in zip(sequential, parallel)]
        w["cpu_fanout"] = {
            "steps": steps,
            "sequential_ms": statistics.median(sequential) * 1e3,
            "parallel_ms": statistics.median(parallel) * 1e3,
            "median_speedup": statistics.median(speedups),
            "best_speedup": max(speedups),
        }
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
