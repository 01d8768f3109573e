// Node's collection primitive, Promise.allSettled, on the workloads of
// bench/core/gather_bench.cpp. Run with `node --expose-gc`. Prints one JSON
// object:
//
//   allsettled_100k       Promise.allSettled over 100,000 trivial async functions
//   allsettled_10k_50ms   10,000 promises each resolved by a 50 ms setTimeout
//
// Time is wall time around the collection (creating the promises included),
// the best of several runs. Memory is measured in one more run: the growth of
// heapUsed, after a full GC, while the promises and their settled results
// are still held (the live set at the end of the collection).

const TRIVIAL_TASKS = 100_000;
const TIMER_TASKS = 10_000;
const TIMER_WAIT_MS = 50;

async function trivial(i) {
    return i;
}

function waitThenReturn(i) {
    return new Promise((resolve) => setTimeout(() => resolve(i), TIMER_WAIT_MS));
}

async function allSettledOf(make, n) {
    const promises = new Array(n);
    for (let i = 0; i < n; ++i) promises[i] = make(i);
    const settled = await Promise.allSettled(promises);
    return { promises, settled };
}

function check(settled, n) {
    let sum = 0;
    for (const s of settled) {
        if (s.status !== "fulfilled") throw new Error("a task failed");
        sum += s.value;
    }
    if (sum !== (n * (n - 1)) / 2) throw new Error("wrong results");
}

const workloads = {
    allsettled_100k: [trivial, TRIVIAL_TASKS],
    allsettled_10k_50ms: [waitThenReturn, TIMER_TASKS],
};

function collect() {
    if (typeof globalThis.gc === "function") globalThis.gc();
}

async function timed(make, n) {
    collect();
    const t0 = process.hrtime.bigint();
    const { settled } = await allSettledOf(make, n);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    check(settled, n);
    return elapsed;
}

async function liveBytes(make, n) {
    collect();
    const before = process.memoryUsage().heapUsed;
    const held = await allSettledOf(make, n);
    collect();
    const after = process.memoryUsage().heapUsed;
    check(held.settled, n);
    return after - before;
}

async function main() {
    const runs = Number(process.argv[2] ?? 7);
    const out = {
        runtime: `Node ${process.version}`,
        gc_exposed: typeof globalThis.gc === "function",
        runs,
        workloads: {},
    };
    for (const [name, [make, n]] of Object.entries(workloads)) {
        await timed(make, n); // warm-up (and JIT)
        const times = [];
        for (let r = 0; r < runs; ++r) times.push(await timed(make, n));
        times.sort((a, b) => a - b);
        const bytes = await liveBytes(make, n);
        out.workloads[name] = {
            tasks: n,
            best_us_per_task: (times[0] / n) * 1e6,
            median_us_per_task: (times[Math.floor(times.length / 2)] / n) * 1e6,
            best_wall_ms: times[0] * 1e3,
            median_wall_ms: times[Math.floor(times.length / 2)] * 1e3,
            live_bytes_per_task: bytes / n,
        };
    }
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
