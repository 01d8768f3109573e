// Benchmarks of muster's collection primitives against the raw Asio they
// are built on, all in one program so every figure shares the allocator,
// the compiler flags and the machine state.
//
// Time: every benchmark uses wall-clock time (UseRealTime), which is what
// the Python and Node peers measure too. "ns_per_task" is wall time per
// task; "wall_ms" is wall time per batch.
//
// Memory: after its timed loop, each 100k-task benchmark runs one more,
// untimed batch with heap tracking on and reports the high-water mark of
// live heap bytes during that batch, divided by the number of tasks
// ("bytes_per_task"), and the allocations per task ("allocs_per_task").
// Tracking counts operator new and aligned_alloc (Asio allocates coroutine
// frames and handlers with aligned_alloc, which operator new never sees) by
// the allocator's usable size, and subtracts in free. Everything forwards to
// the process's malloc, so the mimalloc build measures mimalloc.
#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <new>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/gather.hpp>

// The primitives below land separately; each benchmark appears once its
// header exists.
#if __has_include(<muster/core/as_completed.hpp>)
#include <muster/core/as_completed.hpp>
#define MUSTER_BENCH_AS_COMPLETED 1
#endif
#if __has_include(<muster/core/group.hpp>)
#include <muster/core/group.hpp>
#define MUSTER_BENCH_GROUP 1
#endif
#if __has_include(<muster/core/offload.hpp>)
#include <muster/core/offload.hpp>
#define MUSTER_BENCH_OFFLOAD 1
#endif

namespace asio = boost::asio;

// ---- heap tracking ----------------------------------------------------------

namespace heap {

std::atomic<bool> tracking{false};
std::atomic<std::int64_t> live{0};
std::atomic<std::int64_t> peak{0};
std::atomic<std::int64_t> allocations{0};

using free_fn = void (*)(void*);
using aligned_alloc_fn = void* (*)(std::size_t, std::size_t);

// The next definitions in lookup order: mimalloc's when it is linked in
// (it precedes libc), glibc's otherwise.
std::atomic<free_fn> next_free{nullptr};
std::atomic<aligned_alloc_fn> next_aligned_alloc{nullptr};
std::atomic<bool> resolving{false};

void resolve() noexcept {
    if (resolving.exchange(true)) return;  // dlsym itself freed something: let it leak
    next_aligned_alloc.store(reinterpret_cast<aligned_alloc_fn>(dlsym(RTLD_NEXT, "aligned_alloc")));
    next_free.store(reinterpret_cast<free_fn>(dlsym(RTLD_NEXT, "free")));
    resolving.store(false);
}

__attribute__((constructor(101))) void resolve_early() { resolve(); }

inline void on_allocate(void* p) noexcept {
    if (!p || !tracking.load(std::memory_order_relaxed)) return;
    const auto n = static_cast<std::int64_t>(malloc_usable_size(p));
    allocations.fetch_add(1, std::memory_order_relaxed);
    const auto now = live.fetch_add(n, std::memory_order_relaxed) + n;
    auto seen = peak.load(std::memory_order_relaxed);
    while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
}

inline void on_free(void* p) noexcept {
    if (!p || !tracking.load(std::memory_order_relaxed)) return;
    live.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
}

struct usage {
    double peak_bytes;
    double allocations;
};

void begin() {
    live.store(0);
    peak.store(0);
    allocations.store(0);
    tracking.store(true);
}

usage end() {
    tracking.store(false);
    return {static_cast<double>(peak.load()), static_cast<double>(allocations.load())};
}

}  // namespace heap

extern "C" void free(void* p) noexcept {
    heap::on_free(p);
    auto f = heap::next_free.load(std::memory_order_relaxed);
    if (!f) {
        heap::resolve();
        f = heap::next_free.load();
        if (!f) return;  // only while dlsym resolves: a leak, never a crash
    }
    f(p);
}

extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
    auto f = heap::next_aligned_alloc.load(std::memory_order_relaxed);
    if (!f) {
        heap::resolve();
        f = heap::next_aligned_alloc.load();
        if (!f) return nullptr;
    }
    void* p = f(alignment, size);
    heap::on_allocate(p);
    return p;
}

void* operator new(std::size_t n) {
    void* p = std::malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    heap::on_allocate(p);
    return p;
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    void* p = std::malloc(n ? n : 1);
    heap::on_allocate(p);
    return p;
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
    return ::operator new(n, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

// ---- workloads ----------------------------------------------------------------

constexpr int trivial_tasks = 100'000;
constexpr int timer_tasks = 10'000;
constexpr auto timer_wait = std::chrono::milliseconds(50);
constexpr int cpu_tasks = 64;
constexpr auto cpu_task_time = std::chrono::milliseconds(20);

/// The trivial task: completes without suspending.
asio::awaitable<int> trivial(int i) { co_return i; }

/// Waits on a timer, then completes.
asio::awaitable<int> wait_then_return(int i) {
    asio::steady_timer timer(co_await asio::this_coro::executor, timer_wait);
    co_await timer.async_wait(asio::use_awaitable);
    co_return i;
}

/// What a correct batch of `n` tasks returning their index adds up to.
constexpr std::int64_t expected_sum(int n) { return std::int64_t{n} * (n - 1) / 2; }

template <class T>
asio::awaitable<void> store_result(asio::awaitable<T> task, T* out) {
    *out = co_await std::move(task);
}

/// Runs `main` as the only coroutine of a fresh single-threaded io_context
/// and rethrows what it threw.
template <class Main>
void run_on_io(Main main) {
    asio::io_context io{1};
    std::exception_ptr failure;
    asio::co_spawn(io, std::move(main), [&failure](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
}

/// Runs `task` on a fresh io_context and returns its result.
template <class T>
T run_task(asio::awaitable<T> task) {
    T result{};
    run_on_io(store_result(std::move(task), &result));
    return result;
}

template <class Outcomes>
std::int64_t sum_of(const Outcomes& r) {
    std::int64_t sum = 0;
    for (const auto& o : r) sum += o.value();
    return sum;
}

/// Times `batch` (one run of `tasks` tasks, returning the sum of their
/// results), then measures its heap use in one more, untimed run.
template <class Batch>
void tasks_benchmark(benchmark::State& state, int tasks, Batch batch) {
    std::int64_t sum = 0;
    for (auto _ : state) {
        sum = batch();
        benchmark::DoNotOptimize(sum);
    }
    if (sum != expected_sum(tasks)) {
        state.SkipWithError("wrong results");
        return;
    }
    const double n = tasks;
    state.SetItemsProcessed(state.iterations() * tasks);
    // Inverted rate over n * 1e-9 items per iteration: nanoseconds per task.
    state.counters["ns_per_task"] = benchmark::Counter(
        n * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    heap::begin();
    const std::int64_t checked = batch();
    const heap::usage u = heap::end();
    if (checked != expected_sum(tasks)) state.SkipWithError("wrong results while measuring memory");
    state.counters["bytes_per_task"] = u.peak_bytes / n;
    state.counters["allocs_per_task"] = u.allocations / n;
}

// ---- 100k trivial tasks: baselines --------------------------------------------

/// Raw Asio: one co_spawn per task, a handler that stores the result and
/// counts down.
std::int64_t raw_co_spawn_batch(int n) {
    asio::io_context io{1};
    std::vector<int> values(static_cast<std::size_t>(n));
    int remaining = n;
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(io, trivial(i), [&values, &remaining, i](std::exception_ptr e, int v) {
            if (e) std::rethrow_exception(e);
            values[static_cast<std::size_t>(i)] = v;
            --remaining;
        });
    }
    io.run();
    if (remaining != 0) throw std::logic_error("raw co_spawn: tasks left over");
    return std::accumulate(values.begin(), values.end(), std::int64_t{0});
}

void BM_RawCoSpawn(benchmark::State& state) {
    tasks_benchmark(state, trivial_tasks, [] { return raw_co_spawn_batch(trivial_tasks); });
}
BENCHMARK(BM_RawCoSpawn)->UseRealTime()->Unit(benchmark::kMillisecond);

/// Raw Asio as above, but each task can be cancelled on its own: its handler
/// is bound to a cancellation slot, as any collector that enforces per-task
/// timeouts or deadlines must do. Asio then allocates a cancellation handler
/// and a cancellation state for every co_spawn; this is the floor for a
/// cancellable fan-out built on co_spawn.
std::int64_t raw_co_spawn_cancellable_batch(int n) {
    asio::io_context io{1};
    std::vector<int> values(static_cast<std::size_t>(n));
    std::vector<asio::cancellation_signal> signals(static_cast<std::size_t>(n));
    int remaining = n;
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(
            io, trivial(i),
            asio::bind_cancellation_slot(signals[static_cast<std::size_t>(i)].slot(),
                                         [&values, &remaining, i](std::exception_ptr e, int v) {
                                             if (e) std::rethrow_exception(e);
                                             values[static_cast<std::size_t>(i)] = v;
                                             --remaining;
                                         }));
    }
    io.run();
    if (remaining != 0) throw std::logic_error("raw co_spawn: tasks left over");
    return std::accumulate(values.begin(), values.end(), std::int64_t{0});
}

void BM_RawCoSpawnCancellable(benchmark::State& state) {
    tasks_benchmark(state, trivial_tasks,
                    [] { return raw_co_spawn_cancellable_batch(trivial_tasks); });
}
BENCHMARK(BM_RawCoSpawnCancellable)->UseRealTime()->Unit(benchmark::kMillisecond);

/// Raw Asio: a ranged parallel_group over deferred co_spawns (never over an
/// empty range: that one never completes in Asio 1.26).
std::int64_t parallel_group_batch(int n) {
    asio::io_context io{1};
    auto ex = io.get_executor();
    using op = decltype(asio::co_spawn(ex, trivial(0), asio::deferred));
    std::vector<op> ops;
    ops.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) ops.push_back(asio::co_spawn(ex, trivial(i), asio::deferred));
    std::int64_t sum = -1;
    asio::experimental::make_parallel_group(std::move(ops))
        .async_wait(asio::experimental::wait_for_all(),
                    [&sum](std::vector<std::size_t>, std::vector<std::exception_ptr> errors,
                           std::vector<int> values) {
                        for (auto& e : errors)
                            if (e) std::rethrow_exception(e);
                        sum = std::accumulate(values.begin(), values.end(), std::int64_t{0});
                    });
    io.run();
    return sum;
}

void BM_ParallelGroup(benchmark::State& state) {
    tasks_benchmark(state, trivial_tasks, [] { return parallel_group_batch(trivial_tasks); });
}
BENCHMARK(BM_ParallelGroup)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- 100k trivial tasks: muster ----------------------------------------------

asio::awaitable<std::int64_t> gather_vector(int n) {
    std::vector<asio::awaitable<int>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) tasks.push_back(trivial(i));
    auto r = co_await muster::gather(std::move(tasks));
    co_return sum_of(r);
}

void BM_MusterGather(benchmark::State& state) {
    tasks_benchmark(state, trivial_tasks, [] { return run_task(gather_vector(trivial_tasks)); });
}
BENCHMARK(BM_MusterGather)->UseRealTime()->Unit(benchmark::kMillisecond);

/// The configurations a Lambda handler runs with: a deadline for the whole
/// collection (the invocation's), or a timeout per task. Both lie an hour
/// away, so they never fire; they measure what carrying them costs.
enum class limits { deadline, task_timeout };

asio::awaitable<std::int64_t> gather_vector_with(int n, limits what) {
    std::vector<asio::awaitable<int>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) tasks.push_back(trivial(i));
    muster::options o;
    if (what == limits::deadline) o.deadline = muster::clock::now() + std::chrono::hours(1);
    if (what == limits::task_timeout) o.task_timeout = std::chrono::hours(1);
    auto r = co_await muster::gather(std::move(tasks), o);
    co_return sum_of(r);
}

void BM_MusterGatherDeadline(benchmark::State& state) {
    tasks_benchmark(state, trivial_tasks,
                    [] { return run_task(gather_vector_with(trivial_tasks, limits::deadline)); });
}
BENCHMARK(BM_MusterGatherDeadline)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_MusterGatherTaskTimeout(benchmark::State& state) {
    tasks_benchmark(state, trivial_tasks, [] {
        return run_task(gather_vector_with(trivial_tasks, limits::task_timeout));
    });
}
BENCHMARK(BM_MusterGatherTaskTimeout)->UseRealTime()->Unit(benchmark::kMillisecond);

asio::awaitable<std::int64_t> gather_lazy_view(int n, std::size_t limit) {
    muster::options o;
    if (limit != 0) o.limit = limit;
    auto r = co_await muster::gather(std::views::iota(0, n) | std::views::transform(trivial), o);
    co_return sum_of(r);
}

/// Argument: the limit, 0 for unlimited.
void BM_MusterGatherLazyView(benchmark::State& state) {
    const auto limit = static_cast<std::size_t>(state.range(0));
    tasks_benchmark(state, trivial_tasks,
                    [limit] { return run_task(gather_lazy_view(trivial_tasks, limit)); });
}
BENCHMARK(BM_MusterGatherLazyView)
    ->ArgName("limit")
    ->Arg(0)
    ->Arg(1000)

    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

#ifdef MUSTER_BENCH_AS_COMPLETED
asio::awaitable<std::int64_t> as_completed_vector(int n) {
    std::vector<asio::awaitable<int>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) tasks.push_back(trivial(i));
    auto stream = muster::as_completed(std::move(tasks));
    std::int64_t sum = 0;
    while (auto d = co_await stream.next()) sum += d->result.value();
    co_return sum;
}

void BM_MusterAsCompleted(benchmark::State& state) {
    tasks_benchmark(state, trivial_tasks,
                    [] { return run_task(as_completed_vector(trivial_tasks)); });
}
BENCHMARK(BM_MusterAsCompleted)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

#ifdef MUSTER_BENCH_GROUP
/// Spawns every task from the body, then lets with_group collect them.
/// The body captures nothing: a coroutine lambda's captures live in the
/// closure, not in its frame.
asio::awaitable<std::int64_t> with_group_spawn_all() {
    auto r = co_await muster::with_group<int>(muster::options{},
                                              [](muster::group<int>& g) -> asio::awaitable<void> {
                                                  for (int i = 0; i < trivial_tasks; ++i)
                                                      co_await g.spawn(trivial(i));
                                              });
    co_return sum_of(r);
}

void BM_MusterWithGroup(benchmark::State& state) {
    tasks_benchmark(state, trivial_tasks, [] { return run_task(with_group_spawn_all()); });
}
BENCHMARK(BM_MusterWithGroup)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

// ---- 10k tasks each waiting 50 ms ---------------------------------------------

/// Times `batch` (one run of timer tasks, returning the sum of their
/// results) by the wall clock.
template <class Batch>
void wait_benchmark(benchmark::State& state, Batch batch) {
    std::int64_t sum = 0;
    double total_ms = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        sum = batch();
        total_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
    }
    if (sum != expected_sum(timer_tasks)) {
        state.SkipWithError("wrong results");
        return;
    }
    state.SetItemsProcessed(state.iterations() * timer_tasks);
    state.counters["wall_ms"] = total_ms / static_cast<double>(state.iterations());
}

void BM_Wait50ms_RawCoSpawn(benchmark::State& state) {
    wait_benchmark(state, [] {
        asio::io_context io{1};
        std::int64_t sum = 0;
        int remaining = timer_tasks;
        for (int i = 0; i < timer_tasks; ++i) {
            asio::co_spawn(io, wait_then_return(i),
                           [&sum, &remaining](std::exception_ptr e, int v) {
                               if (e) std::rethrow_exception(e);
                               sum += v;
                               --remaining;
                           });
        }
        io.run();
        if (remaining != 0) throw std::logic_error("raw co_spawn: tasks left over");
        return sum;
    });
}
BENCHMARK(BM_Wait50ms_RawCoSpawn)->UseRealTime()->Unit(benchmark::kMillisecond);

asio::awaitable<std::int64_t> gather_waits(int n) {
    std::vector<asio::awaitable<int>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) tasks.push_back(wait_then_return(i));
    auto r = co_await muster::gather(std::move(tasks));
    co_return sum_of(r);
}

void BM_Wait50ms_MusterGather(benchmark::State& state) {
    wait_benchmark(state, [] { return run_task(gather_waits(timer_tasks)); });
}
BENCHMARK(BM_Wait50ms_MusterGather)

    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---- CPU fan-out: 64 tasks of ~20 ms of arithmetic ----------------------------

/// Serial xorshift steps: no vectorising, no shortcut, one core busy.
std::uint64_t burn(std::uint64_t steps, std::uint64_t seed) {
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (std::uint64_t i = 0; i < steps; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

/// Steps that take about `cpu_task_time` on one core of this machine (the
/// fastest of a few trials, so a noisy neighbour doesn't inflate it).
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

asio::awaitable<std::uint64_t> burn_task(std::uint64_t steps, int i) {
    co_return burn(steps, static_cast<std::uint64_t>(i));
}

asio::awaitable<std::uint64_t> burn_on_pool(asio::thread_pool::executor_type pool,
                                            std::uint64_t steps, int i) {
    co_return co_await asio::co_spawn(pool, burn_task(steps, i), asio::use_awaitable);
}

/// Raw Asio: each task hops to a thread_pool sized to the cores with
/// co_spawn and back.
void BM_CpuFanout_RawThreadPool(benchmark::State& state) {
    asio::thread_pool pool(std::max(1U, std::thread::hardware_concurrency()));
    fanout_benchmark(state, [&pool](std::uint64_t steps) {
        asio::io_context io{1};
        std::uint64_t acc = 0;
        for (int i = 0; i < cpu_tasks; ++i) {
            asio::co_spawn(io, burn_on_pool(pool.get_executor(), steps, i),
                           [&acc](std::exception_ptr e, std::uint64_t v) {
                               if (e) std::rethrow_exception(e);
                               acc ^= v;
                           });
        }
        io.run();
        return acc;
    });
}
BENCHMARK(BM_CpuFanout_RawThreadPool)->UseRealTime()->Unit(benchmark::kMillisecond);

#ifdef MUSTER_BENCH_OFFLOAD
asio::awaitable<std::uint64_t> offload_burn(std::uint64_t steps, int i) {
    co_return co_await muster::offload(
        [steps, i] { return burn(steps, static_cast<std::uint64_t>(i)); });
}

asio::awaitable<std::uint64_t> gather_offloads(std::uint64_t steps) {
    std::vector<asio::awaitable<std::uint64_t>> tasks;
    for (int i = 0; i < cpu_tasks; ++i) tasks.push_back(offload_burn(steps, i));
    auto r = co_await muster::gather(std::move(tasks));
    std::uint64_t acc = 0;
    for (auto& o : r) acc ^= o.value();
    co_return acc;
}

void BM_CpuFanout_MusterOffload(benchmark::State& state) {
    fanout_benchmark(state, [](std::uint64_t steps) { return run_task(gather_offloads(steps)); });
}
BENCHMARK(BM_CpuFanout_MusterOffload)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

/// Which malloc this process really uses, for the report's context.
const char* allocator_name() { return dlsym(RTLD_DEFAULT, "mi_version") ? "mimalloc" : "glibc"; }

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::AddCustomContext("allocator", allocator_name());
    benchmark::AddCustomContext("trivial_tasks", std::to_string(trivial_tasks));
    benchmark::AddCustomContext("timer_tasks", std::to_string(timer_tasks));
    benchmark::AddCustomContext("cpu_tasks", std::to_string(cpu_tasks));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
