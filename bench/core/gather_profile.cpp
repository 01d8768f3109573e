// One batch of trivial tasks, for an instruction profiler: the per-task cost
// of muster's collection primitives against raw Asio in instructions, a
// figure that a shared, noisy machine does not move.
//
//   valgrind --tool=callgrind build/release/bench/core_gather_profile gather 20000
//
// Instructions per task: (Ir at N tasks - Ir at 0 tasks) / N, the same kind
// run twice (bench/run.sh does not run this; RESULTS.md gives the figures).
// Kinds: raw, raw_cancellable, raw_wait and gather_wait (tasks waiting 50 ms
// on a timer), gather, gather_deadline, gather_timeout,
// lazy, lazy_limit, as_completed, with_group.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/as_completed.hpp>
#include <muster/core/gather.hpp>
#include <muster/core/group.hpp>

namespace asio = boost::asio;

namespace {

asio::awaitable<int> trivial(int i) { co_return i; }

/// Waits 50 ms on a timer, then completes.
asio::awaitable<int> wait_then_return(int i) {
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
    co_await timer.async_wait(asio::use_awaitable);
    co_return i;
}

template <class Outcomes>
std::int64_t sum_of(const Outcomes& r) {
    std::int64_t sum = 0;
    for (const auto& o : r) sum += o.value();
    return sum;
}

std::int64_t run(asio::awaitable<std::int64_t> main) {
    asio::io_context io{1};
    std::int64_t sum = -1;
    asio::co_spawn(io, std::move(main), [&sum](std::exception_ptr e, std::int64_t v) {
        if (e) std::rethrow_exception(e);
        sum = v;
    });
    io.run();
    return sum;
}

template <class Make>
std::int64_t raw(int n, bool cancellable, Make make) {
    asio::io_context io{1};
    std::vector<int> values(static_cast<std::size_t>(n));
    std::vector<asio::cancellation_signal> signals(cancellable ? static_cast<std::size_t>(n) : 0);
    int remaining = n;
    for (int i = 0; i < n; ++i) {
        auto done = [&values, &remaining, i](std::exception_ptr e, int v) {
            if (e) std::rethrow_exception(e);
            values[static_cast<std::size_t>(i)] = v;
            --remaining;
        };
        if (cancellable) {
            asio::co_spawn(
                io, make(i),
                asio::bind_cancellation_slot(signals[static_cast<std::size_t>(i)].slot(), done));
        } else {
            asio::co_spawn(io, make(i), done);
        }
    }
    io.run();
    if (remaining != 0) throw std::logic_error("tasks left over");
    return std::accumulate(values.begin(), values.end(), std::int64_t{0});
}

std::vector<asio::awaitable<int>> tasks_of(int n, bool wait = false) {
    std::vector<asio::awaitable<int>> tasks;
    tasks.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) tasks.push_back(wait ? wait_then_return(i) : trivial(i));
    return tasks;
}

asio::awaitable<std::int64_t> gather(int n, muster::options o, bool wait = false) {
    co_return sum_of(co_await muster::gather(tasks_of(n, wait), std::move(o)));
}

asio::awaitable<std::int64_t> lazy(int n, muster::options o) {
    co_return sum_of(
        co_await muster::gather(std::views::iota(0, n) | std::views::transform(trivial), o));
}

asio::awaitable<std::int64_t> as_completed(int n) {
    auto stream = muster::as_completed(tasks_of(n));
    std::int64_t sum = 0;
    while (auto d = co_await stream.next()) sum += d->result.value();
    co_return sum;
}

asio::awaitable<std::int64_t> with_group(int n) {
    auto r = co_await muster::with_group<int>(muster::options{},
                                              [n](muster::group<int>& g) -> asio::awaitable<void> {
                                                  for (int i = 0; i < n; ++i)
                                                      co_await g.spawn(trivial(i));
                                              });
    co_return sum_of(r);
}

muster::options with_deadline() {
    muster::options o;
    o.deadline = muster::clock::now() + std::chrono::hours(1);
    return o;
}

muster::options with_timeout() {
    muster::options o;
    o.task_timeout = std::chrono::hours(1);
    return o;
}

muster::options with_limit() {
    muster::options o;
    o.limit = 1000;
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const std::map<std::string, std::function<std::int64_t(int)>> kinds{
        {"raw", [](int n) { return raw(n, false, trivial); }},
        {"raw_cancellable", [](int n) { return raw(n, true, trivial); }},
        {"raw_wait", [](int n) { return raw(n, false, wait_then_return); }},
        {"gather_wait", [](int n) { return run(gather(n, {}, true)); }},
        {"gather", [](int n) { return run(gather(n, {})); }},
        {"gather_deadline", [](int n) { return run(gather(n, with_deadline())); }},
        {"gather_timeout", [](int n) { return run(gather(n, with_timeout())); }},
        {"lazy", [](int n) { return run(lazy(n, {})); }},
        {"lazy_limit", [](int n) { return run(lazy(n, with_limit())); }},
        {"as_completed", [](int n) { return run(as_completed(n)); }},
        {"with_group", [](int n) { return run(with_group(n)); }},
    };
    if (argc != 3 || !kinds.contains(argv[1])) {
        std::fprintf(stderr, "usage: %s KIND N\nkinds:", argv[0]);
        for (const auto& [name, fn] : kinds) std::fprintf(stderr, " %s", name.c_str());
        std::fprintf(stderr, "\n");
        return 2;
    }
    const int n = std::atoi(argv[2]);
    const std::int64_t sum = kinds.at(argv[1])(n);
    if (sum != std::int64_t{n} * (n - 1) / 2) {
        std::fprintf(stderr, "wrong results\n");
        return 1;
    }
    return 0;
}
