/// @file
/// The account a root scope keeps of the work done in it: how its tasks
/// ended, how long they ran, how often they were retried, and how much work
/// is still pending.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <vector>

#include <muster/core/outcome.hpp>
#include <muster/core/status.hpp>

namespace muster {

/// A snapshot of a `task_ledger`.
struct task_stats {
    /// Tasks by how they ended, indexed by `status`.
    std::array<std::size_t, status_count> by_status{};
    /// Attempts beyond the first, summed over every task.
    std::size_t retries = 0;
    /// Run time (admission to end) of every task that started, in
    /// completion order.
    std::vector<clock::duration> latencies;

    std::size_t count(status s) const noexcept { return by_status[static_cast<std::size_t>(s)]; }
    std::size_t total() const noexcept {
        std::size_t n = 0;
        for (std::size_t c : by_status) n += c;
        return n;
    }

    /// Adds `other`'s tasks to these: counts and retries summed, its
    /// latencies after these ones (two scopes of one invocation, say, the
    /// handler's and its after-response work's).
    ///
    /// @code
    /// muster::task_stats all = handler_scope.ledger().stats();
    /// all += after_scope.ledger().stats();
    /// @endcode
    task_stats& operator+=(const task_stats& other) {
        if (&other == this) return *this += task_stats(other);  // insert may not read itself
        for (std::size_t i = 0; i < status_count; ++i) by_status[i] += other.by_status[i];
        retries += other.retries;
        latencies.insert(latencies.end(), other.latencies.begin(), other.latencies.end());
        return *this;
    }
};

/// What a root scope (an invocation, say) knows about the work done in it.
///
/// Every collection (`gather`, `as_completed`, `with_group`) running in the
/// scope, however deeply nested, records each of its tasks here when the task
/// ends. Executors of the scope that track outstanding work (those Asio holds
/// while an operation is pending: a timer wait, a socket read, a spawned
/// coroutine) are counted, so `pending_work()` says whether anything started
/// in the scope is still waiting to run. After `close()`, work that arrives
/// for the scope is destroyed without running.
///
/// Thread-safety: every member may be called from any thread.
class task_ledger {
  public:
    task_ledger() = default;
    task_ledger(const task_ledger&) = delete;
    task_ledger& operator=(const task_ledger&) = delete;

    /// Records a task that ended with `s` after running for `run_time`
    /// (zero when it never started) and `attempts` attempts.
    void record(status s, clock::duration run_time, unsigned attempts) {
        std::lock_guard lock(mutex_);
        ++stats_.by_status[static_cast<std::size_t>(s)];
        if (attempts > 1) stats_.retries += attempts - 1;
        if (s != status::not_started) stats_.latencies.push_back(run_time);
    }

    /// A copy of what was recorded so far.
    task_stats stats() const {
        std::lock_guard lock(mutex_);
        return stats_;
    }

    /// Work-tracking executors of the scope alive right now: operations
    /// pending, coroutines spawned and not yet finished, handlers queued.
    std::size_t pending_work() const noexcept { return pending_.load(std::memory_order_acquire); }

    /// From now on, every function submitted to an executor of the scope is
    /// destroyed without being run. Irreversible.
    void close() noexcept { closed_.store(true, std::memory_order_release); }
    bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

    /// Called by the scope's executors; not for users.
    void add_work() noexcept { pending_.fetch_add(1, std::memory_order_relaxed); }
    void remove_work() noexcept { pending_.fetch_sub(1, std::memory_order_acq_rel); }

  private:
    mutable std::mutex mutex_;
    task_stats stats_;
    std::atomic<std::size_t> pending_{0};
    std::atomic<bool> closed_{false};
};

}  // namespace muster
