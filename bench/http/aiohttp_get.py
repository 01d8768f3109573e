"""aiohttp's side of the HTTP client benchmark (bench/http/client_bench.cpp is
muster's): N GETs (default 1,000) gathered with asyncio.gather over one
aiohttp.ClientSession, against bench/http/origin_server.cpp.

Run with Debian's interpreter (/usr/bin/python3) and its python3-aiohttp, the
seed's own stack. Prints one JSON object.

  python3 aiohttp_get.py --port P [--mode timed|memory] [--requests N] [--runs R]
                         [--body-bytes B] [--memory-delay-ms D]

--mode timed, two configurations, each with its own session:
  unlimited  TCPConnector(limit=0): no connection limit, every request gets
             its own connection;
  limit_100  TCPConnector(limit=100): at most 100 connections, so at most 100
             requests in flight; the other gathered requests wait inside the
             connector (aiohttp's own way of limiting, no semaphore).
The first round of each opens the connections ("cold"); then R timed rounds
alternate between the two on their warm pools. Time is wall time around
asyncio.gather (creating the coroutines included), CPU time is
time.process_time() around the same.

--mode memory: as client_bench.cpp's: one GET on a throwaway session, then N
GETs at once (limit=0) that the server holds for --memory-delay-ms; the peak
of RssAnon (/proc/self/status), sampled every 10 ms until 90% of the delay,
minus the value before, divided by N.
"""

import argparse
import asyncio
import json
import platform
import sys
import time

import aiohttp


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


async def get_size(session, url):
    async with session.get(url) as r:
        body = await r.read()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}")
        return len(body)


async def gather_gets(session, url, n, body_bytes):
    """(wall ms, cpu ms) of n GETs gathered at once; raises unless all succeeded."""
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    sizes = await asyncio.gather(*(get_size(session, url) for _ in range(n)),
                                 return_exceptions=True)
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    for i, s in enumerate(sizes):
        if isinstance(s, BaseException):
            raise RuntimeError(f"request {i}: {s!r}")
        if s != body_bytes:
            raise RuntimeError(f"request {i}: body of {s} bytes")
    return (t1 - t0) * 1e3, (cpu1 - cpu0) * 1e3


async def timed(args):
    url = f"http://127.0.0.1:{args.port}/"
    configs = [("unlimited", 0), ("limit_100", 100)]
    out = {}
    sessions = []
    for name, limit in configs:
        sessions.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)))
        out[name] = {"connector_limit": limit, "runs_ms": [], "cpu_ms": []}
    try:
        for rnd in range(args.runs + 1):
            for (name, _), session in zip(configs, sessions):
                wall, cpu = await gather_gets(session, url, args.requests, args.body_bytes)
                if rnd == 0:
                    out[name]["cold_ms"] = wall
                else:
                    out[name]["runs_ms"].append(wall)
                    out[name]["cpu_ms"].append(cpu)
    finally:
        for session in sessions:
            await session.close()
    return {"configs": out}


async def server_max_waiting(session, origin):
    async with session.get(origin + "/stats") as r:
        return json.loads(await r.read())["max_waiting"]


async def memory(args):
    origin = f"http://127.0.0.1:{args.port}"
    async with aiohttp.ClientSession() as warm:
        await gather_gets(warm, origin + "/", 1, args.body_bytes)
        await server_max_waiting(warm, origin)  # resets the server's count
    url = f"{origin}/?delay_ms={args.memory_delay_ms}"
    before = status_kb("RssAnon")
    peak = before
    until = time.monotonic() + args.memory_delay_ms * 0.9 / 1e3

    async def sample():
        nonlocal peak
        while time.monotonic() < until:
            peak = max(peak, status_kb("RssAnon"))
            await asyncio.sleep(0.01)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sampler = asyncio.ensure_future(sample())
        wall, _ = await gather_gets(session, url, args.requests, args.body_bytes)
        await sampler
    async with aiohttp.ClientSession() as probe:
        max_waiting = await server_max_waiting(probe, origin)
    return {
        "memory": {
            "requests": args.requests,
            "delay_ms": args.memory_delay_ms,
            "rss_anon_before_kb": before,
            "rss_anon_peak_kb": peak,
            "bytes_per_request": (peak - before) * 1024 / args.requests,
            "server_max_waiting": max_waiting,
            "batch_ms": wall,
        }
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["timed", "memory"], default="timed")
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--body-bytes", type=int, default=10 * 1024)
    p.add_argument("--memory-delay-ms", type=int, default=2000)
    args = p.parse_args()
    result = asyncio.run(timed(args) if args.mode == "timed" else memory(args))
    out = {
        "client": f"aiohttp {aiohttp.__version__}",
        "runtime": f"CPython {platform.python_version()}",
        "requests": args.requests,
    }
    out.update(result)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
