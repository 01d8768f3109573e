/// @file
/// `as_completed`: a stream of outcomes in the order the tasks finish.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/detail/range_collector.hpp>
#include <muster/core/options.hpp>
#include <muster/core/outcome.hpp>

namespace muster {

/// One finished task: its position in the input and how it ended.
template <class T>
struct completed {
    std::size_t index;
    outcome<T> result;
};

/// The stream returned by `as_completed`. Move-only; one reader at a time.
///
/// Completion of `next()`: with the next finished task, in completion order;
/// with `std::nullopt` once every task has finished and been read. Tasks that
/// never ran (`not_started`, after a deadline or policy stop) are not
/// yielded; they are counted by the collection but have no completion.
///
/// Progress: tasks run and finish while the reader is busy elsewhere; their
/// outcomes wait in the stream. With `o.max_unread`, admission of new tasks
/// pauses while that many results are unread.
///
/// Cancellation: cancelling the coroutine waiting in `next()` stops the
/// collection (running tasks are cancelled) and that `next()` still returns
/// the next outcome. As everywhere in Asio, the cancelled coroutine's next
/// `co_await` throws `operation_aborted` unless it first calls
/// `co_await this_coro::throw_if_cancelled(false)`; a reader that does so
/// gets every remaining outcome until the
/// stream ends. Destroying the stream before it ended also
/// stops the collection; the cancelled tasks finish in the background on the
/// same executor and their outcomes are discarded.
///
/// Lifetime: the stream must outlive each `co_await s.next()`.
template <class T>
class completion_stream {
  public:
    using starter =
        std::function<std::shared_ptr<detail::collector<T>>(boost::asio::any_io_executor)>;

    explicit completion_stream(starter start) : start_(std::move(start)) {}
    completion_stream(completion_stream&&) noexcept = default;
    completion_stream& operator=(completion_stream&& o) noexcept {
        if (this != &o) {
            abandon();
            start_ = std::move(o.start_);
            c_ = std::move(o.c_);
        }
        return *this;
    }
    ~completion_stream() { abandon(); }

    /// The next finished task, or `std::nullopt` at the end of the stream.
    /// Starts the tasks on the first call, on the caller's executor.
    boost::asio::awaitable<std::optional<completed<T>>> next() {
        if (!c_) {
            co_await detail::throw_if_already_cancelled();
            c_ = std::exchange(start_, nullptr)(co_await boost::asio::this_coro::executor);
        }
        for (;;) {
            if (auto i = c_->pop_ready()) {
                co_return completed<T>{*i, std::move(c_->outcome_at(*i))};
            }
            if (c_->done()) co_return std::nullopt;
            co_await c_->async_wait_ready(boost::asio::use_awaitable, false);
        }
    }

    /// The next finished task if one is ready now, without waiting:
    /// `std::nullopt` when none is, before the first `next()`, and at the
    /// end of the stream. For a reader that handles what finished while it
    /// was busy in one go (`stream_as_completed` writes those lines as one
    /// chunk).
    std::optional<completed<T>> try_next() {
        if (!c_) return std::nullopt;
        if (auto i = c_->pop_ready()) return completed<T>{*i, std::move(c_->outcome_at(*i))};
        return std::nullopt;
    }

    /// Stops the collection without waiting: nothing more is admitted and
    /// running tasks are cancelled. Keep calling `next()` to read their
    /// outcomes. Call on the executor's thread.
    void cancel() {
        if (c_) c_->stop(detail::stop_reason::cancelled);
    }

  private:
    void abandon() {
        if (c_ && !c_->done()) c_->stop(detail::stop_reason::cancelled);
        c_.reset();
    }

    starter start_;
    std::shared_ptr<detail::collector<T>> c_;
};

/// Runs the tasks of `range` with the options' limit, timeouts, policy,
/// retries and deadline exactly as `gather` does, and yields each outcome as
/// soon as its task finishes, with its input index. Nothing starts until the
/// first `co_await s.next()`.
///
/// Errors: as for `gather`, task failures are values; `std::invalid_argument`
/// for invalid options is thrown by the first `next()`.
///
/// @code
/// auto s = muster::as_completed(images | std::views::transform(resize), o);
/// while (auto d = co_await s.next())
///     report(d->index, d->result);
/// @endcode
template <detail::task_range R>
completion_stream<detail::range_task_value_t<R>> as_completed(R&& range, options o = {}) {
    using T = detail::range_task_value_t<R>;
    using V = std::views::all_t<R>;
    auto view = std::make_shared<V>(std::views::all(std::forward<R>(range)));
    return completion_stream<T>([view, o = std::move(o)](boost::asio::any_io_executor ex) {
        auto c = std::make_shared<detail::range_collector<T, V>>(std::move(ex), o, true,
                                                                 std::move(*view));
        c->start(c);
        return std::shared_ptr<detail::collector<T>>(std::move(c));
    });
}

}  // namespace muster
