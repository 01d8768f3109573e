/// @file
/// `manual_clock`: a clock whose time moves only when a test moves it, so
/// deadline, timeout and retry logic is tested exactly and instantly.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/system/error_code.hpp>

#include <muster/core/outcome.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/time_source.hpp>

namespace muster::testing {

/// A `time_source` for tests: `now()` stands still until `advance` or `run`
/// moves it, and a wait completes when the clock passes its expiry, in
/// expiry order, never before.
///
/// Give it to a `root_scope` (or take `executor(io)`), and everything inside
/// the scope runs on it: collections' deadlines and `task_timeout`s, retry
/// backoffs, `muster::sleep_for` / `sleep_until`, `muster::remaining()`,
/// and the timings of every outcome. A test then states exact durations:
/// a task that sleeps 10 s under a 30 ms timeout times out after exactly
/// 30 ms, and the test takes no real time.
///
/// Driving it:
/// - `run(io)` runs the io_context like `io.run()`, and whenever no handler
///   is ready it moves the clock to the earliest pending wait and completes
///   it ("auto-advance", like tokio's paused clock). It returns once `io`
///   has no work left or is stopped.
/// - `advance(io, d)` runs what is ready, then moves the clock forward by
///   `d`, completing every wait that falls due on the way in expiry order
///   and running what each one makes ready before the next; the clock ends
///   exactly `d` later.
///
/// What it does not see: work on other threads (an `offload`, a callback)
/// or real I/O is not waited for before `run` moves time on; a test that
/// mixes them with manual time drives the clock with `advance`.
///
/// Thread-safety: `now`, waits and cancellations may happen on any thread;
/// `run` and `advance` run `io` on the calling thread. The clock must
/// outlive every wait on it.
///
/// @code
/// boost::asio::io_context io;
/// muster::testing::manual_clock clock;
/// muster::root_scope scope(clock.now() + 100ms, {}, nullptr, &clock);
/// muster::results<int> r;
/// co_spawn(scope.executor(io.get_executor()),
///          [&]() -> boost::asio::awaitable<void> {
///              r = co_await muster::gather(tasks, {.task_timeout = 30ms});
///          }, boost::asio::detached);
/// clock.run(io);  // instant; a task still running at 30 ms is timed_out
/// @endcode
class manual_clock final : public time_source {
  public:
    /// A clock that reads `start` until moved (by default, the steady
    /// clock's time now, so traces and outcomes look like real ones).
    explicit manual_clock(clock::time_point start = clock::now()) noexcept
        : now_(start.time_since_epoch().count()) {}
    manual_clock(const manual_clock&) = delete;
    manual_clock& operator=(const manual_clock&) = delete;

    clock::time_point now() const noexcept override {
        return clock::time_point(clock::duration(now_.load(std::memory_order_acquire)));
    }

    /// An executor of `io` carrying a root scope on this clock, without a
    /// deadline: what a test spawns its coroutine on.
    basic_scope_executor<boost::asio::io_context::executor_type> executor(
        boost::asio::io_context& io) {
        return root_scope(clock::time_point::max(), {}, nullptr, this).executor(io.get_executor());
    }

    /// Runs `io` until it has no work left or is stopped, moving the clock
    /// to the next pending wait whenever no handler is ready. Returns the
    /// number of handlers run.
    std::size_t run(boost::asio::io_context& io) override {
        std::size_t n = 0;
        for (;;) {
            io.restart();
            n += io.poll();
            // Pending waits hold work, so a stopped io_context has nothing
            // left at all, or was stopped on purpose.
            if (io.stopped()) return n;
            if (fire_next(clock::time_point::max())) continue;
            n += io.run_one();  // real work only: other threads, sockets
            if (io.stopped()) return n;
        }
    }

    /// Runs what is ready, then moves the clock forward by `d` (not
    /// negative), completing the waits that fall due in expiry order and
    /// running what each makes ready. Returns the number of handlers run.
    std::size_t advance(boost::asio::io_context& io, clock::duration d) {
        const clock::time_point target = now() + d;
        std::size_t n = 0;
        do {
            io.restart();
            n += io.poll();
        } while (fire_next(target));
        set(target);
        io.restart();
        n += io.poll();
        return n;
    }

    /// Moves the clock to `at` (never back) without running anything; due
    /// waits complete at the next `run`, `advance` or io_context run.
    void set(clock::time_point at) noexcept {
        std::int64_t want = at.time_since_epoch().count();
        std::int64_t have = now_.load(std::memory_order_relaxed);
        while (have < want && !now_.compare_exchange_weak(have, want, std::memory_order_acq_rel)) {
        }
        std::lock_guard lock(mutex_);
        release_due(now());
    }

    /// How many waits are pending.
    std::size_t pending() const {
        std::lock_guard lock(mutex_);
        return waits_.size();
    }

    /// The expiry of the earliest pending wait, if any.
    std::optional<clock::time_point> next_expiry() const {
        std::lock_guard lock(mutex_);
        if (waits_.empty()) return std::nullopt;
        return waits_.begin()->first.first;
    }

    std::uint64_t wait_until(clock::time_point at, boost::asio::any_io_executor ex,
                             wait_handler handler) override {
        namespace execution = boost::asio::execution;
        std::lock_guard lock(mutex_);
        const std::uint64_t id = ++last_id_;
        auto slot = handler.get_cancellation_slot();
        if (slot.is_connected()) slot.template emplace<cancel_hook>(this, id);
        auto work = boost::asio::prefer(ex, execution::outstanding_work.tracked);
        waits_.emplace(key{at, id}, wait{std::move(work), std::move(handler)});
        index_.emplace(id, at);
        if (at <= now()) release_due(now());
        return id;
    }

    void cancel(std::uint64_t id) noexcept override {
        std::lock_guard lock(mutex_);
        auto it = index_.find(id);
        if (it == index_.end()) return;
        auto w = waits_.find(key{it->second, id});
        index_.erase(it);
        complete(std::move(w->second), boost::asio::error::operation_aborted);
        waits_.erase(w);
    }

  private:
    using key = std::pair<clock::time_point, std::uint64_t>;
    struct wait {
        boost::asio::any_io_executor ex;  ///< Tracks work while the wait is pending.
        wait_handler handler;
    };
    struct cancel_hook {
        cancel_hook(manual_clock* c, std::uint64_t i) noexcept : clock(c), id(i) {}
        void operator()(boost::asio::cancellation_type_t) { clock->cancel(id); }
        manual_clock* clock;
        std::uint64_t id;
    };

    /// Completes `w` through its executor. The handler's slot is cleared
    /// there, never here: this may run inside that slot's own hook.
    static void complete(wait&& w, boost::system::error_code ec) {
        auto ex = w.ex;
        boost::asio::post(ex, [h = std::move(w.handler), ec]() mutable {
            h.get_cancellation_slot().clear();
            std::move(h)(ec);
        });
    }

    /// Completes the earliest wait due by `limit`, moving the clock to its
    /// expiry. False when there is none.
    bool fire_next(clock::time_point limit) {
        std::lock_guard lock(mutex_);
        if (waits_.empty() || waits_.begin()->first.first > limit) return false;
        auto it = waits_.begin();
        const clock::time_point at = it->first.first;
        if (at > now()) now_.store(at.time_since_epoch().count(), std::memory_order_release);
        index_.erase(it->first.second);
        complete(std::move(it->second), {});
        waits_.erase(it);
        return true;
    }

    /// Completes every wait due at `t` (the caller holds the lock).
    void release_due(clock::time_point t) {
        while (!waits_.empty() && waits_.begin()->first.first <= t) {
            auto it = waits_.begin();
            index_.erase(it->first.second);
            complete(std::move(it->second), {});
            waits_.erase(it);
        }
    }

    std::atomic<std::int64_t> now_;
    mutable std::mutex mutex_;
    std::map<key, wait> waits_;
    std::unordered_map<std::uint64_t, clock::time_point> index_;
    std::uint64_t last_id_ = 0;
};

}  // namespace muster::testing
