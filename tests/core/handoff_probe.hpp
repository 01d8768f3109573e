/// @file
/// An executor for the awaiting side of `offload` and `from_callback` that
/// shows what the completing thread still does with it once the awaiting
/// coroutine has resumed: from then on the io_context may be destroyed, so
/// that thread must be done with it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>

#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>

namespace muster_test {

/// What a `handoff_executor` saw. Shared by every copy of it.
class handoff_probe {
  public:
    /// Call on the io_context's thread, before anything is submitted.
    handoff_probe() : io_thread_(std::this_thread::get_id()) {}

    /// Call from the awaiting coroutine right after the await resumed.
    void resumed() noexcept {
        if (in_foreign_execute_.load(std::memory_order_acquire) > 0) {
            resumed_inside_execute_.store(true, std::memory_order_relaxed);
        }
        resumed_.store(true, std::memory_order_release);
    }

    /// The await resumed while another thread was still inside the
    /// executor's `execute`, queueing the completion.
    bool resumed_inside_execute() const noexcept {
        return resumed_inside_execute_.load(std::memory_order_relaxed);
    }

    /// Copies of the executor that track outstanding work (each one reads
    /// the io_context) made or destroyed off the io_context's thread after
    /// the await resumed.
    int late_tracked_copies() const noexcept {
        return late_tracked_copies_.load(std::memory_order_relaxed);
    }

  private:
    template <class Inner>
    friend class handoff_executor;

    bool foreign() const noexcept { return std::this_thread::get_id() != io_thread_; }

    void tracked_copy_touched() noexcept {
        if (foreign() && resumed_.load(std::memory_order_acquire)) {
            late_tracked_copies_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    // A completion queued from another thread: hold that thread here until
    // the await has resumed (or long enough that it surely cannot before
    // this returns), so that whatever it does after queueing happens after
    // the resumption, where a real scheduler would only sometimes put it.
    template <class Queue>
    void foreign_execute(Queue&& queue) {
        in_foreign_execute_.fetch_add(1, std::memory_order_acq_rel);
        std::forward<Queue>(queue)();
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
        while (!resumed_.load(std::memory_order_acquire) &&
               std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        in_foreign_execute_.fetch_sub(1, std::memory_order_acq_rel);
    }

    std::thread::id io_thread_;
    std::atomic<bool> resumed_{false};
    std::atomic<int> in_foreign_execute_{0};
    std::atomic<bool> resumed_inside_execute_{false};
    std::atomic<int> late_tracked_copies_{0};
};

/// Runs work on `Inner` (an io_context's executor) and reports to a
/// `handoff_probe`: copies that track outstanding work, and functions
/// queued from threads other than the io_context's. Properties are
/// forwarded to `Inner`, so it fits in `any_io_executor`.
template <class Inner>
class handoff_executor {
  public:
    handoff_executor(Inner inner, std::shared_ptr<handoff_probe> probe) noexcept
        : inner_(std::move(inner)), probe_(std::move(probe)) {
        touched();
    }
    handoff_executor(const handoff_executor& o) noexcept : inner_(o.inner_), probe_(o.probe_) {
        touched();
    }
    handoff_executor(handoff_executor&& o) noexcept
        : inner_(std::move(o.inner_)), probe_(std::move(o.probe_)) {}
    handoff_executor& operator=(handoff_executor o) noexcept {
        std::swap(inner_, o.inner_);
        std::swap(probe_, o.probe_);
        return *this;
    }
    ~handoff_executor() { touched(); }

    template <class Property>
    auto query(const Property& p) const
        noexcept(boost::asio::is_nothrow_query<const Inner&, Property>::value)
            -> std::enable_if_t<boost::asio::can_query<const Inner&, Property>::value,
                                typename boost::asio::query_result<const Inner&, Property>::type> {
        return boost::asio::query(inner_, p);
    }

    template <class Property>
    auto require(const Property& p) const -> std::enable_if_t<
        boost::asio::can_require<const Inner&, Property>::value,
        handoff_executor<
            std::decay_t<typename boost::asio::require_result<const Inner&, Property>::type>>> {
        return {boost::asio::require(inner_, p), probe_};
    }

    template <class Property>
    auto prefer(const Property& p) const -> std::enable_if_t<
        boost::asio::can_prefer<const Inner&, Property>::value,
        handoff_executor<
            std::decay_t<typename boost::asio::prefer_result<const Inner&, Property>::type>>> {
        return {boost::asio::prefer(inner_, p), probe_};
    }

    template <class Function>
    void execute(Function&& f) const {
        if (!probe_->foreign()) {
            boost::asio::execution::execute(inner_, std::forward<Function>(f));
            return;
        }
        probe_->foreign_execute(
            [&] { boost::asio::execution::execute(inner_, std::forward<Function>(f)); });
    }

    friend bool operator==(const handoff_executor& a, const handoff_executor& b) noexcept {
        return a.inner_ == b.inner_ && a.probe_ == b.probe_;
    }
    friend bool operator!=(const handoff_executor& a, const handoff_executor& b) noexcept {
        return !(a == b);
    }

  private:
    template <class>
    friend class handoff_executor;

    void touched() noexcept {
        namespace execution = boost::asio::execution;
        if (!probe_) return;
        if constexpr (boost::asio::can_query<const Inner&, execution::outstanding_work_t>::value) {
            if (boost::asio::query(inner_, execution::outstanding_work) ==
                execution::outstanding_work.tracked) {
                probe_->tracked_copy_touched();
            }
        }
    }

    Inner inner_;
    std::shared_ptr<handoff_probe> probe_;
};

}  // namespace muster_test
