// process_pool against the thread pool (`offload`) in the same program:
// the round trip of a task with a small payload, and 64 tasks of ~20 ms of
// CPU each against the same 64 run one after another. The program is its
// own worker: main hands over to the worker entry first.
#include <muster/process_pool/process_pool.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <muster/core/gather.hpp>
#include <muster/core/offload.hpp>

namespace {

namespace asio = boost::asio;

constexpr int round_trips = 2000;
constexpr int pipelined_tasks = 2000;
constexpr int cpu_tasks = 64;
constexpr auto cpu_task_time = std::chrono::milliseconds(20);
const std::string small_payload(64, 'p');

/// Serial xorshift steps: no vectorising, no shortcut, one core busy (the
/// same arithmetic as bench/core/gather_bench.cpp).
std::uint64_t burn(std::uint64_t steps, std::uint64_t seed) {
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (std::uint64_t i = 0; i < steps; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

/// "steps seed" in, the result in decimal out.
std::string burn_work(std::string_view in) {
    const std::string text(in);
    const auto space = text.find(' ');
    return std::to_string(
        burn(std::stoull(text.substr(0, space)), std::stoull(text.substr(space + 1))));
}

std::string echo_work(std::string_view in) { return std::string(in); }

const muster::work_registrar burn_registration{"burn", burn_work};
const muster::work_registrar echo_registration{"echo", echo_work};

/// Steps that take about `cpu_task_time` on one core of this machine (the
/// fastest of a few trials).
std::uint64_t steps_per_cpu_task() {
    static const std::uint64_t steps = [] {
        constexpr std::uint64_t probe = 2'000'000;
        double best = 1e300;
        for (int trial = 0; trial < 5; ++trial) {
            const auto t0 = std::chrono::steady_clock::now();
            benchmark::DoNotOptimize(burn(probe, static_cast<std::uint64_t>(trial)));
            best = std::min(
                best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        return static_cast<std::uint64_t>(static_cast<double>(probe) *
                                          std::chrono::duration<double>(cpu_task_time).count() /
                                          best);
    }();
    return steps;
}

/// Runs `task` on `io` until it completes (the pool's idle workers keep
/// the io_context busy, so `run()` would not return by itself).
template <class T>
T run_on(asio::io_context& io, asio::awaitable<T> task) {
    std::optional<T> value;
    std::exception_ptr error;
    bool done = false;
    io.restart();  // an io_context that ran out of work stays stopped until restarted
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) value.emplace(std::move(v));
        done = true;
    });
    // Polled with a bound rather than a bare run_one(): an io_context that
    // ran out of work between two awaits is restarted instead of spun on.
    while (!done) {
        if (io.stopped()) io.restart();
        io.run_one_for(std::chrono::milliseconds(10));
    }
    if (error) std::rethrow_exception(error);
    return std::move(*value);
}

/// A warm pool of one worker per core on its own io_context.
struct warm_pool {
    asio::io_context io;
    muster::process_pool pool{io.get_executor()};
    warm_pool() {
        run_on(io, [](muster::process_pool* p) -> asio::awaitable<int> {
            co_await p->start();
            co_return 0;
        }(&pool));
    }
};

// ---- round trip -----------------------------------------------------------------

asio::awaitable<std::size_t> sequential_pool(muster::process_pool* pool, int n) {
    std::size_t bytes = 0;
    for (int i = 0; i < n; ++i) {
        // Named first: GCC 12 may destroy temporaries of a co_await twice.
        auto task = pool->run("echo", small_payload);
        bytes += (co_await std::move(task)).size();
    }
    co_return bytes;
}

asio::awaitable<std::size_t> sequential_offload(int n) {
    std::size_t bytes = 0;
    for (int i = 0; i < n; ++i) {
        auto job = [] { return small_payload; };
        bytes += (co_await muster::offload(std::move(job))).size();
    }
    co_return bytes;
}

asio::awaitable<std::size_t> pipelined_pool(muster::process_pool* pool, int n) {
    std::vector<asio::awaitable<std::string>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(pool->run("echo", small_payload));
    auto r = co_await muster::gather(std::move(tasks));
    co_return r.count(muster::status::ok);
}

asio::awaitable<std::size_t> offload_small(int) {
    auto job = [] { return small_payload; };
    co_return (co_await muster::offload(std::move(job))).size();
}

asio::awaitable<std::size_t> pipelined_offload(int n) {
    std::vector<asio::awaitable<std::size_t>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(offload_small(i));
    auto r = co_await muster::gather(std::move(tasks));
    co_return r.count(muster::status::ok);
}

void report_per_task(benchmark::State& state, double seconds, int tasks) {
    state.counters["us_per_task"] =
        seconds * 1e6 / (static_cast<double>(state.iterations()) * tasks);
}

/// One small task at a time: the latency of a round trip.
void BM_RoundTrip_ProcessPool(benchmark::State& state) {
    warm_pool w;
    double seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(run_on(w.io, sequential_pool(&w.pool, round_trips)));
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    report_per_task(state, seconds, round_trips);
}
BENCHMARK(BM_RoundTrip_ProcessPool)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RoundTrip_Offload(benchmark::State& state) {
    asio::io_context io;
    double seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(run_on(io, sequential_offload(round_trips)));
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    report_per_task(state, seconds, round_trips);
}
BENCHMARK(BM_RoundTrip_Offload)->UseRealTime()->Unit(benchmark::kMillisecond);

/// Many small tasks in one gather: throughput when every worker is kept
/// busy.
void BM_Pipelined_ProcessPool(benchmark::State& state) {
    warm_pool w;
    double seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(run_on(w.io, pipelined_pool(&w.pool, pipelined_tasks)));
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    report_per_task(state, seconds, pipelined_tasks);
}
BENCHMARK(BM_Pipelined_ProcessPool)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Pipelined_Offload(benchmark::State& state) {
    asio::io_context io;
    double seconds = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(run_on(io, pipelined_offload(pipelined_tasks)));
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    report_per_task(state, seconds, pipelined_tasks);
}
BENCHMARK(BM_Pipelined_Offload)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- CPU fan-out ------------------------------------------------------------------

std::uint64_t sequential_fanout(std::uint64_t steps) {
    std::uint64_t acc = 0;
    for (int i = 0; i < cpu_tasks; ++i) acc ^= burn(steps, static_cast<std::uint64_t>(i));
    return acc;
}

/// Times the sequential run and `parallel` (which must compute the same
/// value) back to back in every iteration, so both see the same machine.
template <class Parallel>
void fanout_benchmark(benchmark::State& state, Parallel parallel) {
    const std::uint64_t steps = steps_per_cpu_task();
    double sequential_s = 0;
    double parallel_s = 0;
    for (auto _ : state) {
        auto t0 = std::chrono::steady_clock::now();
        const std::uint64_t expected = sequential_fanout(steps);
        auto t1 = std::chrono::steady_clock::now();
        const std::uint64_t got = parallel(steps);
        auto t2 = std::chrono::steady_clock::now();
        if (got != expected) {
            state.SkipWithError("parallel result differs from sequential");
            return;
        }
        sequential_s += std::chrono::duration<double>(t1 - t0).count();
        parallel_s += std::chrono::duration<double>(t2 - t1).count();
    }
    const auto n = static_cast<double>(state.iterations());
    state.counters["sequential_ms"] = sequential_s * 1e3 / n;
    state.counters["parallel_ms"] = parallel_s * 1e3 / n;
    state.counters["speedup"] = sequential_s / parallel_s;
}

asio::awaitable<std::uint64_t> fanout_pool(muster::process_pool* pool, std::uint64_t steps) {
    std::vector<asio::awaitable<std::string>> tasks;
    for (int i = 0; i < cpu_tasks; ++i) {
        tasks.push_back(pool->run("burn", std::to_string(steps) + " " + std::to_string(i)));
    }
    auto r = co_await muster::gather(std::move(tasks));
    std::uint64_t acc = 0;
    for (auto& o : r) acc ^= std::stoull(o.value());
    co_return acc;
}

asio::awaitable<std::uint64_t> offload_burn(std::uint64_t steps, int i) {
    auto job = [steps, i] { return burn(steps, static_cast<std::uint64_t>(i)); };
    co_return co_await muster::offload(std::move(job));
}

asio::awaitable<std::uint64_t> fanout_offload(std::uint64_t steps) {
    std::vector<asio::awaitable<std::uint64_t>> tasks;
    for (int i = 0; i < cpu_tasks; ++i) tasks.push_back(offload_burn(steps, i));
    auto r = co_await muster::gather(std::move(tasks));
    std::uint64_t acc = 0;
    for (auto& o : r) acc ^= o.value();
    co_return acc;
}

void BM_CpuFanout_ProcessPool(benchmark::State& state) {
    warm_pool w;
    fanout_benchmark(
        state, [&w](std::uint64_t steps) { return run_on(w.io, fanout_pool(&w.pool, steps)); });
}
BENCHMARK(BM_CpuFanout_ProcessPool)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_CpuFanout_Offload(benchmark::State& state) {
    asio::io_context io;
    fanout_benchmark(state,
                     [&io](std::uint64_t steps) { return run_on(io, fanout_offload(steps)); });
}
BENCHMARK(BM_CpuFanout_Offload)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    if (auto code = muster::process_pool::worker_main_if_requested(argc, argv)) return *code;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::AddCustomContext("workers", std::to_string(muster::default_cpu_count()));
    benchmark::AddCustomContext("round_trips", std::to_string(round_trips));
    benchmark::AddCustomContext("cpu_tasks", std::to_string(cpu_tasks));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
