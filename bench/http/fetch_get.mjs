// Node's side of the HTTP client benchmark (bench/http/client_bench.cpp is
// muster's): N GETs (default 1,000) with the global `fetch` (undici, built
// into Node), against bench/http/origin_server.cpp. Prints one JSON object.
//
//   node fetch_get.mjs --port P [--mode timed|memory] [--requests N] [--runs R]
//                      [--body-bytes B] [--memory-delay-ms D]
//
// --mode timed, two configurations on the global dispatcher (keep-alive, no
// connection limit per origin; it cannot be configured without the undici
// package, so both configurations share its pool):
//   unlimited  Promise.allSettled over N fetches started at once;
//   limit_100  100 workers taking the next request as soon as theirs is
//              done, so at most 100 requests (and connections) in flight.
// The first round of each opens the connections ("cold"); then R timed
// rounds alternate between the two. Time is wall time around the collection
// (creating the promises included), CPU time is process.cpuUsage() around it.
//
// --mode memory: as client_bench.cpp's: one GET, then N GETs at once that
// the server holds for --memory-delay-ms; the peak of RssAnon
// (/proc/self/status), sampled every 10 ms until 90% of the delay, minus the
// value before, divided by N.

import { readFileSync } from "node:fs";

function parseArgs() {
    const a = {
        port: 0,
        mode: "timed",
        requests: 1000,
        runs: 5,
        bodyBytes: 10 * 1024,
        memoryDelayMs: 2000,
    };
    const names = {
        "--port": "port",
        "--mode": "mode",
        "--requests": "requests",
        "--runs": "runs",
        "--body-bytes": "bodyBytes",
        "--memory-delay-ms": "memoryDelayMs",
    };
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i += 2) {
        const key = names[argv[i]];
        if (!key || i + 1 >= argv.length) throw new Error(`bad option ${argv[i]}`);
        a[key] = key === "mode" ? argv[i + 1] : Number(argv[i + 1]);
    }
    if (!a.port) throw new Error("--port is required");
    return a;
}

function statusKb(field) {
    for (const line of readFileSync("/proc/self/status", "utf8").split("\n")) {
        if (line.startsWith(field + ":")) return Number(line.split(/\s+/)[1]);
    }
    return -1;
}

async function getSize(url) {
    const r = await fetch(url);
    const body = await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    return body.byteLength;
}

function unlimited(url, n) {
    const promises = new Array(n);
    for (let i = 0; i < n; ++i) promises[i] = getSize(url);
    return Promise.allSettled(promises);
}

async function limited(url, n, limit) {
    const settled = new Array(n);
    let next = 0;
    async function worker() {
        while (next < n) {
            const i = next++;
            try {
                settled[i] = { status: "fulfilled", value: await getSize(url) };
            } catch (e) {
                settled[i] = { status: "rejected", reason: e };
            }
        }
    }
    const workers = [];
    for (let k = 0; k < Math.min(limit, n); ++k) workers.push(worker());
    await Promise.all(workers);
    return settled;
}

function msSince(t0) {
    return Number(process.hrtime.bigint() - t0) / 1e6;
}

/// { wallMs, cpuMs } of one collection; throws unless all succeeded.
async function gatherGets(url, n, limit, bodyBytes) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const settled = limit ? await limited(url, n, limit) : await unlimited(url, n);
    const wallMs = msSince(t0);
    const cpu = process.cpuUsage(cpu0);
    settled.forEach((s, i) => {
        if (s.status !== "fulfilled") throw new Error(`request ${i}: ${s.reason}`);
        if (s.value !== bodyBytes) throw new Error(`request ${i}: body of ${s.value} bytes`);
    });
    return { wallMs, cpuMs: (cpu.user + cpu.system) / 1e3 };
}

async function timed(a) {
    const url = `http://127.0.0.1:${a.port}/`;
    const configs = [
        ["unlimited", 0],
        ["limit_100", 100],
    ];
    const out = {};
    for (const [name, limit] of configs) out[name] = { limit: limit || null, runs_ms: [], cpu_ms: [] };
    for (let round = 0; round <= a.runs; ++round) {
        for (const [name, limit] of configs) {
            const t = await gatherGets(url, a.requests, limit, a.bodyBytes);
            if (round === 0) {
                out[name].cold_ms = t.wallMs;
            } else {
                out[name].runs_ms.push(t.wallMs);
                out[name].cpu_ms.push(t.cpuMs);
            }
        }
    }
    return { configs: out };
}

async function serverMaxWaiting(origin) {
    const r = await fetch(origin + "/stats");
    return (await r.json()).max_waiting;
}

async function memory(a) {
    const origin = `http://127.0.0.1:${a.port}`;
    await gatherGets(origin + "/", 1, 0, a.bodyBytes);
    await serverMaxWaiting(origin); // resets the server's count
    const url = `${origin}/?delay_ms=${a.memoryDelayMs}`;
    const before = statusKb("RssAnon");
    let peak = before;
    const until = Date.now() + a.memoryDelayMs * 0.9;
    const sampler = setInterval(() => {
        if (Date.now() < until) peak = Math.max(peak, statusKb("RssAnon"));
    }, 10);
    const t = await gatherGets(url, a.requests, 0, a.bodyBytes);
    clearInterval(sampler);
    const maxWaiting = await serverMaxWaiting(origin);
    return {
        memory: {
            requests: a.requests,
            delay_ms: a.memoryDelayMs,
            rss_anon_before_kb: before,
            rss_anon_peak_kb: peak,
            bytes_per_request: ((peak - before) * 1024) / a.requests,
            server_max_waiting: maxWaiting,
            batch_ms: t.wallMs,
        },
    };
}

const a = parseArgs();
const result = a.mode === "memory" ? await memory(a) : await timed(a);
console.log(
    JSON.stringify({
        client: "Node fetch (undici)",
        runtime: `Node ${process.version}`,
        requests: a.requests,
        ...result,
    }),
);
