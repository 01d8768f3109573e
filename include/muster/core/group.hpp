/// @file
/// `with_group`: a nursery for a number of tasks not known in advance.
#pragma once

#include <cstddef>
#include <exception>
#include <list>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/detail/collector.hpp>
#include <muster/core/detail/held_handler.hpp>
#include <muster/core/detail/range_collector.hpp>
#include <muster/core/options.hpp>
#include <muster/core/results.hpp>

namespace muster {

template <class T>
class group;

namespace detail {

template <class T>
class group_collector final : public collector<T> {
  public:
    group_collector(asio::any_io_executor ex, options o)
        : collector<T>(std::move(ex), std::move(o), true) {}

    /// Records a new task and starts it if a slot is free. Returns false when
    /// it must wait for a slot (it is then not recorded yet).
    bool try_admit(admission<T>& a, bool record_when_full) {
        if (this->stopped() != stop_reason::none) {
            a.index = new_slot();
            this->record_not_started(a.index);
            return true;
        }
        if (!parked_.empty() || !this->can_admit()) {
            if (record_when_full) a.index = new_slot();
            return false;
        }
        a.index = new_slot();
        this->launch(std::move(a));
        return true;
    }

    /// Waits for a slot for the already-recorded task `a`; completes once it
    /// was admitted (or recorded `not_started` because the group stopped).
    template <class Token>
    auto async_park(admission<T> a, Token&& token) {
        return asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler, admission<T> a) {
                auto it = parked_.emplace(parked_.end());
                it->a = std::move(a);
                it->handler.hold(std::move(handler));
                // In the wrapper's slot, not the handler's: see detail::waiter.
                auto slot = it->handler->get_cancellation_slot();
                if (slot.is_connected()) slot.template emplace<park_cancel>(this, it->a.index);
            },
            token, std::move(a));
    }

    /// Starts the body; the group is not done until it has returned.
    void start_body(task<void> body) {
        asio::co_spawn(
            this->child_executor(), std::move(body),
            asio::bind_cancellation_slot(body_signal_.slot(), [this](std::exception_ptr e) {
                body_done_ = true;
                if (e && !(this->stopped() != stop_reason::none && is_abort(e))) {
                    body_error_ = e;
                    this->stop(stop_reason::body_failed);
                }
                this->schedule_pump();
            }));
    }

    std::exception_ptr body_error() const noexcept { return body_error_; }

    /// `group::cancel()`: stops the tasks but leaves the body running.
    void cancel_from_body() {
        cancelling_from_body_ = true;
        this->stop(stop_reason::cancelled);
        cancelling_from_body_ = false;
    }

    std::size_t spawned() const noexcept { return outcomes_.size(); }

    results<T> take_results() {
        results<T> r;
        auto& out = results_access::outcomes(r);
        out.reserve(outcomes_.size());
        for (auto& o : outcomes_) out.push_back(std::move(o));
        results_access::order(r) = std::move(this->order_);
        results_access::recount(r);
        return r;
    }

  protected:
    bool take(admission<T>& a) override {
        if (parked_.empty()) return false;
        auto it = parked_.begin();
        a = std::move(it->a);
        complete(it, {});
        return true;
    }
    bool exhausted() const override { return body_done_ && parked_.empty(); }
    bool busy() const override { return !body_done_; }
    bool has_pending() const override { return !parked_.empty(); }
    void drain_not_started() override { release_parked(); }
    void on_stop() override {
        // A deadline or the caller's cancellation ends the body too; after a
        // policy stop or g.cancel() the body goes on (its spawns are recorded
        // not_started, next() drains what ran) and decides itself when to end.
        const auto why = this->stopped();
        if (!body_done_ && (why == stop_reason::deadline || why == stop_reason::cancelled) &&
            !cancelling_from_body_) {
            body_signal_.emit(asio::cancellation_type::terminal);
        }
        release_parked();
    }
    outcome<T>& slot(std::size_t index) override { return outcomes_[index]; }

  private:
    struct parked_spawn {
        admission<T> a;
        detail::held_handler<void(boost::system::error_code)> handler;
    };
    using parked_list = std::list<parked_spawn>;

    struct park_cancel {
        park_cancel(group_collector* s, std::size_t i) : self(s), index(i) {}
        group_collector* self;
        std::size_t index;
        void operator()(asio::cancellation_type_t) {
            // Not inline: this handler lives in the slot that completion clears.
            asio::post(self->executor(), [s = self, i = index] { s->abandon_parked(i); });
        }
    };

    std::size_t new_slot() {
        outcome_access::times(outcomes_.emplace_back()).queued = this->now();
        return outcomes_.size() - 1;
    }

    void abandon_parked(std::size_t index) {
        for (auto it = parked_.begin(); it != parked_.end(); ++it) {
            if (it->a.index == index) {
                this->record_not_started(index);
                complete(it, asio::error::operation_aborted);
                this->schedule_pump();
                return;
            }
        }
    }

    void release_parked() {
        while (!parked_.empty()) {
            this->record_not_started(parked_.front().a.index);
            complete(parked_.begin(), {});
        }
    }

    void complete(typename parked_list::iterator it, boost::system::error_code ec) {
        auto h = it->handler.take();
        parked_.erase(it);
        h.get_cancellation_slot().clear();
        asio::post(this->executor(), [h = std::move(h), ec]() mutable { std::move(h)(ec); });
    }

    static bool is_abort(const std::exception_ptr& e) {
        try {
            std::rethrow_exception(e);
        } catch (const boost::system::system_error& se) {
            return se.code() == asio::error::operation_aborted;
        } catch (const task_error&) {
            return true;
        } catch (...) {
            return false;
        }
    }

    std::deque<outcome<T>> outcomes_;
    parked_list parked_;
    asio::cancellation_signal body_signal_;
    std::exception_ptr body_error_;
    bool body_done_ = false;
    bool cancelling_from_body_ = false;
};

}  // namespace detail

/// A finished task of a group: its spawn index and its outcome. The outcome
/// is the one `with_group` returns: moving its value out leaves the returned
/// results holding a moved-from value.
template <class T>
struct group_completed {
    std::size_t index;
    outcome<T>& result;
};

/// The handle a `with_group` body uses to spawn tasks and read their results.
/// Valid only inside the body (and the tasks it spawns). Call from the
/// group's executor thread.
template <class T>
class group {
  public:
    /// Spawns a task, waiting for a free slot when `limit` tasks are in
    /// flight (back-pressure). `task` may be an `awaitable<T>` or a callable
    /// returning one. Only callables are retried under `o.retry`: a
    /// ready-made awaitable can run once.
    ///
    /// Completion: once the task is admitted, or, if the group stopped (a
    /// deadline, a policy, cancellation), at once with the task recorded
    /// `not_started`. Errors: `operation_aborted` when the body is cancelled
    /// while waiting for a slot (the task is then `not_started`).
    template <class Task>
    boost::asio::awaitable<void> spawn(Task task) {
        auto a = make_admission(std::move(task));
        if (c_->try_admit(a, true)) co_return;
        co_await c_->async_park(std::move(a), boost::asio::use_awaitable);
    }

    /// Spawns a task only if a slot is free right now. Returns false (and
    /// records nothing) when the group is at its limit or has stopped.
    template <class Task>
    bool try_spawn(Task task) {
        if (c_->stopped() != detail::stop_reason::none) return false;
        auto a = make_admission(std::move(task));
        return c_->try_admit(a, false);
    }

    /// The next finished task, in completion order; `std::nullopt` when no
    /// task is running or waiting to run (the count of spawned tasks decides,
    /// never a closed channel: spawning more afterwards is allowed).
    ///
    /// Cancellation: a cancelled wait throws `operation_aborted`.
    boost::asio::awaitable<std::optional<group_completed<T>>> next() {
        for (;;) {
            if (auto i = c_->pop_ready()) co_return group_completed<T>{*i, c_->outcome_at(*i)};
            if (c_->idle()) co_return std::nullopt;
            co_await c_->async_wait_ready(boost::asio::use_awaitable, true);
        }
    }

    /// Stops the group: no more admissions, running tasks cancelled; later
    /// spawns are recorded `not_started`. The body itself goes on. `with_group`
    /// still waits for everything.
    void cancel() { c_->cancel_from_body(); }

    /// Tasks spawned so far (including `not_started` ones).
    std::size_t size() const noexcept { return c_->spawned(); }

    explicit group(std::shared_ptr<detail::group_collector<T>> c) : c_(std::move(c)) {}

  private:
    template <class Task>
    detail::admission<T> make_admission(Task task) {
        detail::admission<T> a;
        if constexpr (detail::is_task<Task>::value) {
            a.first.emplace(std::move(task));
        } else {
            static_assert(detail::task_traits<Task>::valid,
                          "group::spawn takes an awaitable<T> or a callable returning one");
            if (c_->retrying()) {
                a.factory = detail::make_factory<T>(std::move(task));
            } else {
                try {
                    a.first.emplace(task());
                } catch (...) {
                    a.error = std::current_exception();
                }
            }
        }
        return a;
    }

    std::shared_ptr<detail::group_collector<T>> c_;
};

/// Runs `body(g)` and every task it spawns into `g`, and returns the outcome
/// of every spawned task, in spawn order, once all of them and the body have
/// finished. No task outlives the call.
///
/// `body` is a callable `(muster::group<T>&) -> awaitable<void>`; it runs as
/// a task of the group's scope (same deadline). It may read results as they
/// finish with `g.next()`, or never read them: the returned results are
/// complete either way.
///
/// Stopping: the options' deadline, `task_timeout`, policy and retries apply
/// to spawned tasks as in `gather`. When the group stops (deadline, policy,
/// `g.cancel()`, cancellation of the caller) running tasks are cancelled,
/// later spawns are recorded `not_started` without throwing, and `with_group`
/// waits for everything before it returns. The deadline and the caller's
/// cancellation also cancel the body; a policy stop or `g.cancel()` does not.
///
/// Errors: if the body throws (other than the `operation_aborted` of its own
/// cancellation), the group stops, waits for its tasks, and rethrows the
/// body's exception. Task failures are values, as everywhere in muster.
///
/// @code
/// auto r = co_await muster::with_group<int>(o, [&](muster::group<int>& g) -> awaitable<void> {
///     for (auto& job : jobs) co_await g.spawn(run(job));   // waits when `limit` are in flight
///     while (auto d = co_await g.next()) log(d->index, d->result.status());
/// });
/// @endcode
template <class T, class Body>
boost::asio::awaitable<results<T>> with_group(options o, Body body) {
    co_await detail::throw_if_already_cancelled();
    auto c = std::make_shared<detail::group_collector<T>>(co_await boost::asio::this_coro::executor,
                                                          std::move(o));
    group<T> g{c};
    c->start(c);
    c->start_body(std::invoke(body, g));
    co_await c->async_wait_done(boost::asio::use_awaitable);
    if (auto e = c->body_error()) std::rethrow_exception(e);
    co_return c->take_results();
}

/// `with_group` with default options.
template <class T, class Body>
boost::asio::awaitable<results<T>> with_group(Body body) {
    return with_group<T>(options{}, std::move(body));
}

}  // namespace muster
