"""The seed's own pattern, asyncio, on the workloads of bench/core/gather_bench.cpp.

Run with Debian's interpreter (/usr/bin/python3), the one the seed's users
have. Prints one JSON object:

  gather_100k      asyncio.gather over 100,000 trivial coroutines
  taskgroup_100k   asyncio.TaskGroup creating the same 100,000 tasks
  wait_10k_50ms    10,000 tasks each doing asyncio.sleep(0.05), gathered

Time is wall time around the collection only (creating the coroutines
included, the event loop's start-up not), the best of several runs.
Memory is the peak of tracemalloc during one more run per workload, apart
from the timed runs because tracing slows allocation down.
"""

import asyncio
import gc
import json
import platform
import sys
import time
import tracemalloc

TRIVIAL_TASKS = 100_000
TIMER_TASKS = 10_000
TIMER_WAIT_S = 0.05


async def trivial(i):
    return i


async def wait_then_return(i):
    await asyncio.sleep(TIMER_WAIT_S)
    return i


async def gather_trivial(n):
    results = await asyncio.gather(*(trivial(i) for i in range(n)), return_exceptions=True)
    return sum(results)


async def taskgroup_trivial(n):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(trivial(i)) for i in range(n)]
    return sum(t.result() for t in tasks)


async def gather_waits(n):
    results = await asyncio.gather(*(wait_then_return(i) for i in range(n)), return_exceptions=True)
    return sum(results)


WORKLOADS = {
    "gather_100k": (gather_trivial, TRIVIAL_TASKS),
    "taskgroup_100k": (taskgroup_trivial, TRIVIAL_TASKS),
    "wait_10k_50ms": (gather_waits, TIMER_TASKS),
}


def timed(fn, n):
    """Seconds for one collection of n tasks, on a fresh event loop."""

    async def main():
        t0 = time.perf_counter()
        total = await fn(n)
        elapsed = time.perf_counter() - t0
        if total != n * (n - 1) // 2:
            raise RuntimeError(f"{fn.__name__}: wrong results")
        return elapsed

    gc.collect()
    return asyncio.run(main())


def peak_bytes(fn, n):
    """Peak traced heap bytes during one collection of n tasks."""

    async def main():
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        await fn(n)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak - base

    gc.collect()
    return asyncio.run(main())


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    out = {
        "runtime": f"CPython {platform.python_version()}",
        "executable": sys.executable,
        "runs": runs,
        "workloads": {},
    }
    for name, (fn, n) in WORKLOADS.items():
        timed(fn, n)  # warm-up
        times = sorted(timed(fn, n) for _ in range(runs))
        peak = peak_bytes(fn, n)
        out["workloads"][name] = {
            "tasks": n,
            "best_us_per_task": times[0] / n * 1e6,
            "median_us_per_task": times[len(times) // 2] / n * 1e6,
            "best_wall_ms": times[0] * 1e3,
            "median_wall_ms": times[len(times) // 2] * 1e3,
            "peak_bytes_per_task": peak / n,
        }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
