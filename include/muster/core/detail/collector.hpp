/// @file
/// The engine behind gather, as_completed and with_group: admits tasks up to
/// the limit, times them, stops them, retries them, and records one outcome
/// per task. Internal; the public headers wrap it.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <muster/core/detail/task_traits.hpp>
#include <muster/core/detail/timer.hpp>
#include <muster/core/detail/waiter.hpp>
#include <muster/core/errors.hpp>
#include <muster/core/ledger.hpp>
#include <muster/core/options.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/retry.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/trace.hpp>

namespace muster::detail {

namespace asio = boost::asio;

/// Why a whole collection stopped early.
enum class stop_reason : std::uint8_t { none, deadline, policy, cancelled, body_failed };

/// The status of a task that ended with `e`: `failed`, except that muster's
/// own `timeout_error` (a time limit enforced inside the task, such as a
/// process pool's task timeout) is `timed_out`.
inline status failure_status(const std::exception_ptr& e) noexcept {
    if (!e) return status::failed;
    try {
        std::rethrow_exception(e);
    } catch (const timeout_error&) {
        return status::timed_out;
    } catch (...) {
        return status::failed;
    }
}

/// Why one running task was asked to stop.
enum class lane_stop : std::uint8_t { none, own_timeout, deadline, cancelled };

/// The next task a source hands to the collector.
template <class T>
struct admission {
    std::size_t index = 0;
    std::optional<task<T>> first;  ///< The first attempt, when the source had one ready.
    task_factory<T> factory;       ///< Makes attempts; set when retries are possible.
    std::exception_ptr error;      ///< The source failed to make this task.
};

/// Co_spawn requires a default-constructible result; other types travel in
/// an optional.
template <class T>
using spawned_t = std::conditional_t<std::is_void_v<T> || std::is_default_constructible_v<T>, T,
                                     std::optional<T>>;

template <class T>
task<spawned_t<T>> as_spawnable(task<T> t) {
    co_return co_await std::move(t);
}

/// Sleeps, then runs the task (a retry's backoff). The sleep is an ordinary
/// timer wait on the scope's clock, so cancelling the attempt cuts it short.
template <class T>
task<T> after_delay(clock::duration delay, task<T> t) {
    timer backoff(co_await asio::this_coro::executor);
    backoff.expires_after(delay);
    co_await backoff.async_wait(asio::use_awaitable);
    co_return co_await std::move(t);
}

template <class T>
class collector {
  public:
    /// One running task's place: its cancellation signal and bookkeeping.
    /// Lanes have stable addresses and are reused, but never in the same
    /// turn of the event loop in which their task (or, for a lane with a
    /// runner, their runner) finished (see `pump`): until then the finished
    /// co_spawn's cancellation handler still sits in the lane's slot.
    struct lane {
        asio::cancellation_signal signal;
        std::size_t index = 0;
        clock::time_point expiry = clock::time_point::max();
        task_factory<T> factory;
        std::exception_ptr last_error;
        clock::duration backoff{};
        lane* next_free = nullptr;
        std::uint64_t generation = 0;
        unsigned attempts = 0;
        lane_stop stopping = lane_stop::none;
        bool running = false;
        bool in_runner = false;         ///< A runner coroutine owns the lane (see `run_lane`).
        held_handler<void()> wake;      ///< The lane's idle runner, parked (see `park`).
        std::optional<task<T>> handed;  ///< The task `launch` handed to the idle runner.
    };

    collector(asio::any_io_executor ex, options opts, bool streaming)
        : ex_(std::move(ex)), opts_(std::move(opts)), streaming_(streaming) {
        opts_.validate();
        deadline_ = std::min(opts_.deadline.value_or(clock::time_point::max()), deadline_of(ex_));
        child_ex_ = with_deadline(ex_, deadline_);
        if (const scope_state* scope = find_scope(child_ex_)) {
            time_ = scope->time();
            ledger_ = scope->ledger();
            recorder_ = scope->recorder();
            if (recorder_) {
                trace_collection_ = recorder_access::open_collection(*recorder_, opts_.name.str(),
                                                                     scope->span(), now());
            }
        }
    }
    collector(const collector&) = delete;
    collector& operator=(const collector&) = delete;
    virtual ~collector() = default;

    /// Begins admitting. `self` keeps the collector alive until every task,
    /// timer and posted step of it has finished, whoever else lets go.
    void start(std::shared_ptr<collector> self) {
        self_ = std::move(self);
        // Run the first step inline; pump() itself stops at a deadline that
        // has already passed. Marking it scheduled first means nothing it
        // triggers posts a second step that could outlive the collector.
        pump_scheduled_ = true;
        pump();
    }

    bool done() const noexcept { return done_; }
    stop_reason stopped() const noexcept { return stop_; }
    const asio::any_io_executor& executor() const noexcept { return ex_; }
    /// The executor tasks run on: the caller's, carrying the collection's
    /// deadline when it has one.
    const asio::any_io_executor& child_executor() const noexcept { return child_ex_; }
    bool retrying() const noexcept { return opts_.retry.attempts > 1; }
    /// The time on the collection's clock (its scope's).
    clock::time_point now() const noexcept { return detail::now(time_); }

    /// Completes once every task has finished (posted). Cancelling the wait
    /// stops the collection but the wait still lasts until everything ran.
    template <class Token>
    auto async_wait_done(Token&& token) {
        if (done_) {
            return asio::async_initiate<Token, waiter::signature>(
                [this](auto handler) {
                    asio::post(ex_, [h = std::move(handler)]() mutable {
                        std::move(h)(boost::system::error_code{});
                    });
                },
                token);
        }
        return done_waiter_.async_wait(ex_, std::forward<Token>(token), [this] {
            stop(cancel_reason());
            return false;
        });
    }

    /// The index of the oldest finished, unread task (streaming collectors).
    std::optional<std::size_t> pop_ready() {
        if (ready_.empty()) return std::nullopt;
        const std::size_t i = ready_.front();
        ready_.pop_front();
        if (ready_.size() + 1 == opts_.max_unread) schedule_pump();  // admission may resume
        return i;
    }

    /// True when nothing is running or about to run: a reader waiting now
    /// would wait for a task that has not been spawned yet.
    bool idle() const noexcept { return in_flight_ == 0 && retries_.empty() && !has_pending(); }

    /// Waits until a task finishes (streaming collectors). `abort_on_cancel`
    /// chooses what cancelling the reader does: end the wait with
    /// `operation_aborted` (a group's body), or stop the collection and keep
    /// waiting for the results (an `as_completed` consumer).
    template <class Token>
    auto async_wait_ready(Token&& token, bool abort_on_cancel) {
        return consumer_.async_wait(ex_, std::forward<Token>(token), [this, abort_on_cancel] {
            if (abort_on_cancel) return true;
            stop(cancel_reason());
            return false;
        });
    }

    /// The outcome slot of task `index`.
    outcome<T>& outcome_at(std::size_t index) { return slot(index); }

    /// Stops the collection: nothing more is admitted, running tasks are
    /// cancelled. Idempotent; call only on the executor's thread.
    void stop(stop_reason reason) {
        if (stop_ != stop_reason::none || done_) return;
        stop_ = reason;
        const lane_stop why =
            reason == stop_reason::deadline ? lane_stop::deadline : lane_stop::cancelled;
        for (lane& l : lanes_) {
            if (l.running && l.stopping == lane_stop::none) {
                l.stopping = why;
                l.signal.emit(asio::cancellation_type::terminal);
            }
        }
        on_stop();
        schedule_pump();
    }

  protected:
    // --- the source of tasks, provided by the derived collector ---

    /// Hands out the next task, or returns false when none is ready now.
    virtual bool take(admission<T>& a) = 0;
    /// True when the source will never hand out another task.
    virtual bool exhausted() const = 0;
    /// Records every task the source still holds as `not_started`.
    virtual void drain_not_started() = 0;
    /// The outcome slot of task `index`.
    virtual outcome<T>& slot(std::size_t index) = 0;
    /// Called once when the collection stops early.
    virtual void on_stop() {}
    /// Extra work that must finish before the collection is done (a body).
    virtual bool busy() const { return false; }
    /// Tasks handed in but not yet admitted (a group's parked spawns).
    virtual bool has_pending() const { return false; }

    stop_reason cancel_reason() const noexcept {
        return now() >= deadline_ ? stop_reason::deadline : stop_reason::cancelled;
    }

    /// Records a task that never ran.
    void record_not_started(std::size_t index) {
        outcome<T>& o = slot(index);
        outcome_access::set_error(
            o, status::not_started,
            std::make_exception_ptr(not_started_error(not_started_message())));
        outcome_access::times(o).finished = now();
        ++counts_[static_cast<std::size_t>(status::not_started)];
        if (ledger_) ledger_->record(status::not_started, clock::duration::zero(), 0);
        if (recorder_) {
            recorder_access::close_span(
                *recorder_, recorder_access::open_span(*recorder_, trace_collection_, index, o), o);
        }
    }

    std::size_t in_flight() const noexcept { return in_flight_; }
    bool can_admit() const noexcept {
        return stop_ == stop_reason::none && in_flight_ < opts_.limit &&
               (!streaming_ || ready_.size() < opts_.max_unread);
    }

    /// Starts task `a` now; the caller checked `can_admit`.
    void launch(admission<T>&& a) {
        const auto now = this->now();
        if (!admit_error(a, now)) return;
        if (!idle_.empty() && a.first) {
            // An idle runner takes the task at once, as a co_spawn would.
            lane& l = *idle_.back();
            idle_.pop_back();
            prepare_lane(l, a, now);
            ++l.attempts;
            l.handed = std::move(a.first);
            l.wake.take()();
            return;
        }
        lane& l = acquire_lane();
        prepare_lane(l, a, now);
        if (a.first) {
            spawn(l, std::move(*a.first), clock::duration::zero());
        } else {
            relaunch(l, clock::duration::zero());
        }
    }

    /// Opens task `a`'s timings (and span); records it at once and returns
    /// false when the source failed to make it.
    bool admit_error(admission<T>& a, clock::time_point now) {
        outcome<T>& o = slot(a.index);
        outcome_access::times(o).started = now;
        if (recorder_) open_span(a.index, o);
        if (!a.error) return true;
        outcome_access::set_attempts(o, 1);
        finish_without_lane(a.index, status::failed, std::move(a.error), now);
        return false;
    }

    /// Gives lane `l` to task `a`, admitted at `now`.
    void prepare_lane(lane& l, admission<T>& a, clock::time_point now) {
        l.index = a.index;
        l.attempts = 0;
        l.stopping = lane_stop::none;
        l.running = true;
        l.factory = std::move(a.factory);
        l.last_error = nullptr;
        ++l.generation;
        ++in_flight_;
        if (opts_.task_timeout) {
            l.expiry = now + *opts_.task_timeout;
            expiries_.push_back({&l, l.generation});
        } else {
            l.expiry = clock::time_point::max();
        }
    }

    /// Schedules one pass of `pump`, coalescing requests made in one turn.
    void schedule_pump() {
        if (pump_scheduled_) return;
        pump_scheduled_ = true;
        asio::post(ex_, [this] { pump(); });
    }

    const options& opts() const noexcept { return opts_; }

    std::deque<std::size_t> ready_;  ///< Finished, unread indices (streaming only).
    waiter consumer_;                ///< The reader of `ready_`.
    std::vector<std::size_t> order_;
    std::array<std::size_t, status_count> counts_{};
    std::size_t known_size_ = static_cast<std::size_t>(-1);  ///< Input size when known.

  private:
    struct on_attempt_done {
        collector* self;
        lane* l;
        void operator()(std::exception_ptr e, spawned_t<T> v) {
            self->attempt_done(*l, std::move(e), &v);
        }
    };
    struct on_void_attempt_done {
        collector* self;
        lane* l;
        void operator()(std::exception_ptr e) { self->attempt_done(*l, std::move(e), nullptr); }
    };
    struct on_runner_done {
        collector* self;
        lane* l;
        void operator()(const std::exception_ptr&) { self->runner_done(*l); }
    };

    /// Tasks a runner takes in a row before it lets the event loop run other
    /// work: a runner whose tasks never suspend would otherwise hold the
    /// thread for the whole collection.
    static constexpr unsigned runner_turn = 64;

    /// A lane's runner: awaits the lane's task, records it, and while the
    /// collection can admit and the source has a task ready, takes the next
    /// one into the same lane. One co_spawn (and one cancellation slot) per
    /// runner instead of per task; a task awaited in a coroutine costs its
    /// frame and nothing else. The lane's signal reaches the awaited task
    /// through the runner's cancellation state, which is reset between
    /// tasks, so every task starts as it would in a co_spawn of its own.
    /// Only for tasks that share the collection's executor and run once
    /// (no task_timeout, no recorder, no retry).
    static task<void> run_lane(collector* self, lane* l, task<T> t) {
        for (unsigned n = 1;; ++n) {
            std::exception_ptr e;
            std::optional<std::conditional_t<std::is_void_v<T>, char, spawned_t<T>>> v;
            try {
                if constexpr (std::is_void_v<T>) {
                    co_await std::move(t);
                } else {
                    v.emplace(co_await std::move(t));
                }
            } catch (...) {
                e = std::current_exception();
            }
            if constexpr (std::is_void_v<T>) {
                self->attempt_done(*l, std::move(e), nullptr);
            } else {
                self->attempt_done(*l, std::move(e), v ? &*v : nullptr);
            }
            if (!self->can_admit()) break;
            if (n % runner_turn == 0 || std::exchange(self->reader_woken_, false)) {
                // Lets a reader woken by this result act on it (cancel, say)
                // before the next task starts, as it could when every task
                // completed through a handler of its own. The lane is not
                // running here, so no stop() can cancel this wait.
                co_await asio::post(self->child_ex_, asio::use_awaitable);
            }
            std::optional<task<T>> next = self->next_for_lane(*l);
            if (!next) {
                // A group's body may spawn more: wait for launch to hand one
                // over rather than end and have it co_spawn a new runner.
                if (!self->may_hand_more()) break;
                co_await self->park(*l, asio::use_awaitable);
                if (!l->handed) break;
                next = std::move(l->handed);
                l->handed.reset();
            }
            t = std::move(*next);
            co_await asio::this_coro::reset_cancellation_state();
            co_await asio::this_coro::throw_if_cancelled(true);
        }
        // The co_spawn that ends the runner must not see a cancellation meant
        // for its last task.
        const asio::cancellation_state last = co_await asio::this_coro::cancellation_state;
        if (last.cancelled() != asio::cancellation_type::none) {
            co_await asio::this_coro::reset_cancellation_state();
        }
    }

    /// Whether tasks may be handed to a runner: every task would run on the
    /// collection's executor, once.
    bool runs_in_lanes() const noexcept { return !recorder_ && !opts_.task_timeout && !retrying(); }

    /// True when a runner with nothing to take should wait for a task to be
    /// handed to it: the source may still hand out more (a group's body runs).
    bool may_hand_more() const { return stop_ == stop_reason::none && !exhausted(); }

    /// Parks the runner of `l` until `launch` hands it a task (`l.handed`)
    /// or the collection ends (`release_idle`, nothing handed). The lane
    /// is not running meanwhile, so nothing cancels the wait.
    template <class Token>
    auto park(lane& l, Token&& token) {
        return asio::async_initiate<Token, void()>(
            [this, &l](auto handler) {
                l.wake.hold(std::move(handler));
                idle_.push_back(&l);
            },
            token);
    }

    /// Ends every parked runner (posted, never inline: the collection is
    /// finishing).
    void release_idle() {
        for (lane* l : std::exchange(idle_, {})) {
            asio::post(ex_, [h = l->wake.take()]() mutable { std::move(h)(); });
        }
    }

    /// The next task for a runner's lane `l`, admitted now, or nothing when
    /// the collection cannot admit or the source has none ready.
    std::optional<task<T>> next_for_lane(lane& l) {
        for (;;) {
            if (!can_admit()) return std::nullopt;
            const auto now = this->now();
            if (deadline_ != clock::time_point::max() && now >= deadline_) {
                stop(stop_reason::deadline);
                return std::nullopt;
            }
            admission<T> a;
            if (!take(a)) return std::nullopt;
            if (!admit_error(a, now)) continue;
            prepare_lane(l, a, now);
            ++l.attempts;
            if (a.first) return std::move(a.first);
            try {
                return l.factory();
            } catch (...) {
                finish(l, status::failed, std::current_exception(), nullptr);
            }
        }
    }

    /// The runner of `l` has ended (its thread is gone by the next turn).
    void runner_done(lane& l) {
        l.in_runner = false;
        --runners_;
        if (!l.running) quarantine_.push_back(&l);
        schedule_pump();
    }

    /// Opens the trace span of task `index`, which is being admitted.
    void open_span(std::size_t index, const outcome<T>& o) {
        if (spans_.size() <= index) spans_.resize(index + 1);
        spans_[index] = recorder_access::open_span(*recorder_, trace_collection_, index, o);
    }

    lane& acquire_lane() {
        if (free_) {
            lane* l = free_;
            free_ = l->next_free;
            return *l;
        }
        return lanes_.emplace_back();
    }

    void spawn(lane& l, task<T> t, clock::duration delay) {
        ++l.attempts;
        // A recorded task runs in a scope of its own that names its span, so
        // name_task and nested collections find it.
        auto ex = recorder_ ? with_span(child_ex_, l.expiry, spans_[l.index])
                  : l.expiry == clock::time_point::max() ? child_ex_
                                                         : with_deadline(child_ex_, l.expiry);
        if (delay > clock::duration::zero()) t = after_delay<T>(delay, std::move(t));
        // Every task of the lane would run on the same executor: one runner
        // coroutine takes them in turn (see run_lane). Without a limit, a
        // runner whose task suspended will take nothing more before the
        // source runs dry, so once one did in this pass, tasks get a
        // co_spawn of their own and save the runner's frame.
        if (runs_in_lanes() && l.expiry == clock::time_point::max() &&
            !(runner_suspended_ && opts_.limit == options::unlimited)) {
            l.in_runner = true;
            ++runners_;
            asio::co_spawn(child_ex_, run_lane(this, &l, std::move(t)),
                           asio::bind_cancellation_slot(l.signal.slot(), on_runner_done{this, &l}));
            runner_suspended_ = l.running;
            return;
        }
        if constexpr (std::is_void_v<T>) {
            asio::co_spawn(
                ex, std::move(t),
                asio::bind_cancellation_slot(l.signal.slot(), on_void_attempt_done{this, &l}));
        } else if constexpr (std::is_same_v<spawned_t<T>, T>) {
            asio::co_spawn(
                ex, std::move(t),
                asio::bind_cancellation_slot(l.signal.slot(), on_attempt_done{this, &l}));
        } else {
            asio::co_spawn(
                ex, as_spawnable<T>(std::move(t)),
                asio::bind_cancellation_slot(l.signal.slot(), on_attempt_done{this, &l}));
        }
    }

    /// Makes a fresh attempt from the lane's factory.
    void relaunch(lane& l, clock::duration delay) {
        std::optional<task<T>> t;
        try {
            t.emplace(l.factory());
        } catch (...) {
            ++l.attempts;
            finish(l, status::failed, std::current_exception(), nullptr);
            return;
        }
        spawn(l, std::move(*t), delay);
    }

    void attempt_done(lane& l, std::exception_ptr e, spawned_t<T>* v) {
        if (!e) {
            finish(l, status::ok, nullptr, v);
            return;
        }
        if (l.stopping == lane_stop::none) {
            // A task that fails once its time is up timed out, as when our
            // timer stops it: the task's scope carries the same deadline,
            // so a timer inside the task (an HTTP request's, say) may have
            // noticed it first. The order is `on_timer`'s.
            const auto now = this->now();
            if (now >= deadline_) {
                l.stopping = lane_stop::deadline;
            } else if (now >= l.expiry) {
                l.stopping = lane_stop::own_timeout;
            }
        }
        switch (l.stopping) {
            case lane_stop::own_timeout:
                finish(l, status::timed_out,
                       std::make_exception_ptr(timeout_error(timeout_message())), nullptr);
                return;
            case lane_stop::deadline:
                finish(l, status::timed_out,
                       std::make_exception_ptr(
                           timeout_error("muster: the deadline was reached while the task ran")),
                       nullptr);
                return;
            case lane_stop::cancelled:
                finish(l, status::cancelled,
                       std::make_exception_ptr(cancelled_error(cancel_message())), nullptr);
                return;
            case lane_stop::none:
                break;
        }
        if (should_retry(l, e)) {
            l.last_error = std::move(e);
            retries_.push_back(&l);
            schedule_pump();
            return;
        }
        const status s = failure_status(e);
        finish(l, s, std::move(e), nullptr);
    }

    /// Whether `l`'s failure `e` is tried again, with `l.backoff` set. A
    /// `retry_if` that throws turns `e` into a `retry_if_error` (see
    /// `retry_if_allows`), which the task then fails with.
    bool should_retry(lane& l, std::exception_ptr& e) {
        const retry_policy& r = opts_.retry;
        if (l.attempts >= r.attempts || !l.factory || stop_ != stop_reason::none) return false;
        if (!retry_if_allows(r, e)) return false;
        l.backoff = retry_delay(r, l.attempts, rng_);
        return now() + l.backoff < std::min(l.expiry, deadline_);
    }

    /// The task of lane `l` is over: record it and free the lane.
    void finish(lane& l, status s, std::exception_ptr e, spawned_t<T>* v) {
        const auto now = this->now();
        outcome<T>& o = slot(l.index);
        if (s == status::ok) {
            if constexpr (std::is_void_v<T>) {
                outcome_access::set_value(o);
            } else if constexpr (std::is_same_v<spawned_t<T>, T>) {
                outcome_access::set_value(o, std::move(*v));
            } else {
                outcome_access::set_value(o, std::move(**v));
            }
        } else {
            outcome_access::set_error(o, s, std::move(e));
        }
        outcome_access::times(o).finished = now;
        outcome_access::set_attempts(o, l.attempts);
        if (ledger_) ledger_->record(s, now - outcome_access::times(o).started, l.attempts);
        if (recorder_) recorder_access::close_span(*recorder_, spans_[l.index], o);
        l.running = false;
        l.factory = nullptr;
        l.last_error = nullptr;
        --in_flight_;
        if (!l.in_runner) quarantine_.push_back(&l);
        record_finished(l.index, s);
    }

    void finish_without_lane(std::size_t index, status s, std::exception_ptr e,
                             clock::time_point now) {
        outcome<T>& o = slot(index);
        outcome_access::set_error(o, s, std::move(e));
        outcome_access::times(o).finished = now;
        if (ledger_) ledger_->record(s, now - outcome_access::times(o).started, 1);
        if (recorder_) recorder_access::close_span(*recorder_, spans_[index], o);
        record_finished(index, s);
    }

    void record_finished(std::size_t index, status s) {
        order_.push_back(index);
        ++counts_[static_cast<std::size_t>(s)];
        if (streaming_) {
            ready_.push_back(index);
            if (consumer_.waiting()) reader_woken_ = true;
            consumer_.wake();
        }
        apply_policy(s);
        schedule_pump();
    }

    void apply_policy(status s) {
        if (stop_ != stop_reason::none) return;
        const std::size_t failures = counts_[static_cast<std::size_t>(status::failed)] +
                                     counts_[static_cast<std::size_t>(status::timed_out)];
        const policy p = opts_.policy;
        switch (p.which()) {
            case policy::kind::collect_all:
                return;
            case policy::kind::fail_fast:
                if (s == status::failed || s == status::timed_out) stop(stop_reason::policy);
                return;
            case policy::kind::quorum:
                if (counts_[static_cast<std::size_t>(status::ok)] >= p.count() ||
                    (known_size_ != static_cast<std::size_t>(-1) &&
                     known_size_ - failures < p.count())) {
                    stop(stop_reason::policy);
                }
                return;
            case policy::kind::tolerate:
                if (failures > p.count()) stop(stop_reason::policy);
                return;
        }
    }

    /// One step of the state machine, always run from a fresh turn of the
    /// event loop: frees lanes whose tasks finished in earlier turns, starts
    /// retries, admits new tasks, arms the timer, and notices the end.
    void pump() {
        pump_scheduled_ = false;
        runner_suspended_ = false;
        for (lane* l : quarantine_) {
            l->next_free = free_;
            free_ = l;
        }
        quarantine_.clear();

        auto retries = std::exchange(retries_, {});
        for (lane* l : retries) {
            if (l->stopping != lane_stop::none || stop_ != stop_reason::none) {
                const status s = failure_status(l->last_error);
                finish(*l, s, std::move(l->last_error), nullptr);
            } else {
                relaunch(*l, l->backoff);
            }
        }

        if (stop_ == stop_reason::none && deadline_ != clock::time_point::max() &&
            now() >= deadline_) {
            stop(stop_reason::deadline);
        }
        admission<T> a;
        while (can_admit() && take(a)) {
            launch(std::move(a));
            a = admission<T>{};
        }
        arm_timer();
        check_done();
    }

    void arm_timer() {
        // The timer only ever stops running work; with nothing running (or
        // about to), a pending deadline must not keep the collection alive.
        // Parked runners run nothing.
        if (done_ || (in_flight_ == 0 && runners_ == idle_.size() && retries_.empty() && !busy())) {
            return;
        }
        clock::time_point next = stop_ == stop_reason::none ? deadline_ : clock::time_point::max();
        while (!expiries_.empty()) {
            auto [l, gen] = expiries_.front();
            if (l->running && l->generation == gen && l->stopping == lane_stop::none) {
                next = std::min(next, l->expiry);
                break;
            }
            expiries_.pop_front();
        }
        if (next == clock::time_point::max()) return;
        if (timer_waits_ > 0 && timer_at_ <= next) return;
        if (!timer_) timer_.emplace(ex_, time_);
        timer_->expires_at(next);
        timer_at_ = next;
        ++timer_waits_;
        timer_->async_wait([this](boost::system::error_code) { on_timer(); });
    }

    void on_timer() {
        --timer_waits_;
        const auto now = this->now();
        if (stop_ == stop_reason::none && now >= deadline_) stop(stop_reason::deadline);
        while (!expiries_.empty() && expiries_.front().first->expiry <= now) {
            auto [l, gen] = expiries_.front();
            expiries_.pop_front();
            if (l->running && l->generation == gen && l->stopping == lane_stop::none) {
                l->stopping = lane_stop::own_timeout;
                l->signal.emit(asio::cancellation_type::terminal);
            }
        }
        if (timer_waits_ == 0) timer_at_ = clock::time_point::max();
        schedule_pump();
    }

    void check_done() {
        if (done_ || in_flight_ > 0 || runners_ > idle_.size() || !retries_.empty() ||
            pump_scheduled_ || busy()) {
            return;
        }
        if (stop_ == stop_reason::none && !exhausted()) return;
        if (timer_waits_ > 0) {
            timer_->cancel();  // its handler schedules the pump that ends us
            return;
        }
        if (!idle_.empty()) {
            release_idle();  // each runner's end schedules the pump that ends us
            return;
        }
        drain_not_started();
        done_ = true;
        done_waiter_.wake();
        consumer_.wake();
        auto last_reference = std::move(self_);
    }

    std::string timeout_message() const {
        using ms = std::chrono::duration<double, std::milli>;
        return "muster: task timed out after " +
               std::to_string(static_cast<long long>(ms(*opts_.task_timeout).count())) + " ms";
    }
    std::string cancel_message() const {
        switch (stop_) {
            case stop_reason::policy:
                switch (opts_.policy.which()) {
                    case policy::kind::fail_fast:
                        return "muster: cancelled by fail_fast after another task failed";
                    case policy::kind::quorum:
                        return "muster: cancelled once quorum(" +
                               std::to_string(opts_.policy.count()) + ") was decided";
                    case policy::kind::tolerate:
                        return "muster: cancelled after more than tolerate(" +
                               std::to_string(opts_.policy.count()) + ") failures";
                    case policy::kind::collect_all:
                        break;
                }
                break;
            case stop_reason::body_failed:
                return "muster: cancelled because the group's body threw";
            default:
                break;
        }
        return "muster: cancelled because the enclosing scope was cancelled";
    }
    std::string not_started_message() const {
        switch (stop_) {
            case stop_reason::deadline:
                return "muster: not started, the deadline was reached first";
            case stop_reason::policy:
                return "muster: not started, the collection stopped early (" +
                       cancel_message().substr(8) + ")";
            default:
                return "muster: not started, the collection was cancelled";
        }
    }

    asio::any_io_executor ex_;
    asio::any_io_executor child_ex_;
    time_source* time_ = nullptr;          ///< The scope's clock; null for the steady clock.
    task_ledger* ledger_ = nullptr;        ///< The root scope's account, when it keeps one.
    trace::recorder* recorder_ = nullptr;  ///< The root scope's trace, when it records one.
    std::size_t trace_collection_ = 0;
    std::vector<std::size_t> spans_;  ///< Span id of each admitted task, when recording.
    options opts_;
    clock::time_point deadline_;
    std::shared_ptr<collector> self_;
    std::deque<lane> lanes_;
    lane* free_ = nullptr;
    std::vector<lane*> quarantine_;
    std::vector<lane*> idle_;  ///< Lanes whose runner is parked.
    std::vector<lane*> retries_;
    std::deque<std::pair<lane*, std::uint64_t>> expiries_;
    std::optional<timer> timer_;
    clock::time_point timer_at_ = clock::time_point::max();
    std::minstd_rand rng_{
        static_cast<std::minstd_rand::result_type>(clock::now().time_since_epoch().count())};
    waiter done_waiter_;
    std::size_t in_flight_ = 0;
    std::size_t runners_ = 0;  ///< Runner coroutines not yet ended.
    int timer_waits_ = 0;
    stop_reason stop_ = stop_reason::none;
    bool streaming_;
    bool pump_scheduled_ = false;
    bool reader_woken_ = false;      ///< A result woke the reader; runners let it run first.
    bool runner_suspended_ = false;  ///< A runner's task suspended in this pass (see spawn).
    bool done_ = false;
};

}  // namespace muster::detail
