/// @file
/// Scopes: the deadline every task inherits from the collection (or
/// invocation) that runs it, carried by the task's executor.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <muster/core/ledger.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/time_source.hpp>

namespace muster {

namespace trace {
class recorder;
}

namespace detail {

/// What a scope knows. Reference-counted because executors that carry it are
/// copied freely, also onto other threads (a callback posting back).
class scope_state {
  public:
    /// A nested scope; `span` is the trace span of the collected task that
    /// runs in it (0 for a scope that is not a task's own).
    scope_state(scope_state* parent, clock::time_point deadline, std::size_t span = 0) noexcept
        : parent_(parent),
          ledger_(parent ? parent->ledger_ : nullptr),
          recorder_(parent ? parent->recorder_ : nullptr),
          deadline_(deadline),
          span_(span) {
        if (parent_) parent_->add_ref();
    }
    /// A root scope that keeps a ledger of its work and, when `recorder` is
    /// set, a trace of it (see `root_scope`).
    scope_state(clock::time_point deadline, std::unique_ptr<task_ledger> ledger,
                std::string trace_id, std::shared_ptr<trace::recorder> recorder = nullptr,
                time_source* time = nullptr)
        : parent_(nullptr),
          ledger_(ledger.get()),
          recorder_(recorder.get()),
          root_(std::make_unique<root_data>(
              root_data{std::move(ledger), std::move(recorder), std::move(trace_id), time})),
          deadline_(deadline) {}
    scope_state(const scope_state&) = delete;
    scope_state& operator=(const scope_state&) = delete;
    ~scope_state() {
        if (parent_) parent_->release();
    }

    /// The effective deadline: already the minimum with every enclosing scope.
    clock::time_point deadline() const noexcept { return deadline_; }
    const scope_state* parent() const noexcept { return parent_; }
    /// The ledger of the root scope, if it keeps one. Lives as long as this
    /// state: every child holds a reference to its parent.
    task_ledger* ledger() const noexcept { return ledger_; }
    /// The trace recorder of the root scope, if it records one. Lives as
    /// long as this state, like the ledger.
    trace::recorder* recorder() const noexcept { return recorder_; }
    /// The time source of the root scope, or null for the steady clock.
    /// Looked up once per collection, so it lives in the root and keeps the
    /// per-task scopes a pointer smaller.
    time_source* time() const noexcept {
        const scope_state* s = this;
        while (s->parent_) s = s->parent_;
        return s->root_ ? s->root_->time : nullptr;
    }
    /// The trace span of the innermost collected task this scope belongs
    /// to, or 0 outside any (or when nothing records).
    std::size_t span() const noexcept {
        for (const scope_state* s = this; s; s = s->parent_)
            if (s->span_ != 0) return s->span_;
        return 0;
    }
    /// The trace id of the root scope (empty when it has none). Set once,
    /// before any executor of the scope exists, so reading it needs no lock.
    std::string_view trace_id() const noexcept {
        const scope_state* s = this;
        while (s->parent_) s = s->parent_;
        return s->root_ ? std::string_view(s->root_->trace_id) : std::string_view{};
    }

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

  private:
    /// What only a root owns; nested scopes (one per collection, and one
    /// per task with a timeout) stay small without it.
    struct root_data {
        std::unique_ptr<task_ledger> ledger;
        std::shared_ptr<trace::recorder> recorder;
        std::string trace_id;
        time_source* time = nullptr;
    };

    std::atomic<std::size_t> refs_{1};
    scope_state* parent_;
    task_ledger* ledger_;
    trace::recorder* recorder_ = nullptr;
    std::unique_ptr<root_data> root_;
    clock::time_point deadline_;
    std::size_t span_ = 0;
};

/// An owning handle to a `scope_state` (intrusive, one pointer wide so the
/// executor that carries it fits in `any_io_executor`'s small buffer).
class scope_ptr {
  public:
    scope_ptr() noexcept = default;
    /// Adopts a freshly created state (its count starts at one).
    static scope_ptr adopt(scope_state* s) noexcept {
        scope_ptr p;
        p.p_ = s;
        return p;
    }
    scope_ptr(const scope_ptr& o) noexcept : p_(o.p_) {
        if (p_) p_->add_ref();
    }
    scope_ptr(scope_ptr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    scope_ptr& operator=(scope_ptr o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~scope_ptr() {
        if (p_) p_->release();
    }
    scope_state* get() const noexcept { return p_; }
    scope_state* operator->() const noexcept { return p_; }
    friend bool operator==(const scope_ptr& a, const scope_ptr& b) noexcept { return a.p_ == b.p_; }

  private:
    scope_state* p_ = nullptr;
};

}  // namespace detail

/// An executor that runs work on `Inner` and carries a scope: the deadline
/// of the collection or invocation the work belongs to.
///
/// Every task muster starts inside a scope with a deadline runs on one of
/// these (wrapped in `any_io_executor`), so `co_await this_coro::executor`
/// inside the task reaches it and `muster::remaining()` can read the deadline
/// without being told. Nested scopes link to their parent and keep the
/// earlier deadline. Properties (blocking, outstanding work, relationship,
/// context) are forwarded to `Inner`; equality compares both the inner
/// executor and the scope.
///
/// When the scope's root keeps a `task_ledger`, copies of the executor that
/// track outstanding work (the ones Asio holds while an operation is
/// pending) are counted in it, and once the ledger is closed every function
/// submitted to the executor is destroyed without running: work left behind
/// by an invocation that has ended never runs inside a later one.
///
/// Thread-safety: like `Inner`'s; copies may be made and destroyed on any
/// thread.
template <class Inner>
class basic_scope_executor {
  public:
    using inner_executor_type = Inner;

    basic_scope_executor(Inner inner, detail::scope_ptr scope) noexcept
        : inner_(std::move(inner)), scope_(std::move(scope)) {
        if (auto* l = counting_ledger()) l->add_work();
    }
    basic_scope_executor(const basic_scope_executor& o) noexcept
        : inner_(o.inner_), scope_(o.scope_) {
        if (auto* l = counting_ledger()) l->add_work();
    }
    basic_scope_executor(basic_scope_executor&& o) noexcept
        : inner_(std::move(o.inner_)), scope_(std::move(o.scope_)) {}
    basic_scope_executor& operator=(basic_scope_executor o) noexcept {
        std::swap(inner_, o.inner_);
        std::swap(scope_, o.scope_);
        return *this;
    }
    ~basic_scope_executor() {
        if (auto* l = counting_ledger()) l->remove_work();
    }

    const Inner& get_inner_executor() const noexcept { return inner_; }
    const detail::scope_state* scope() const noexcept { return scope_.get(); }
    const detail::scope_ptr& scope_handle() const noexcept { return scope_; }

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
        basic_scope_executor<
            std::decay_t<typename boost::asio::require_result<const Inner&, Property>::type>>> {
        return {boost::asio::require(inner_, p), scope_};
    }

    template <class Property>
    auto prefer(const Property& p) const -> std::enable_if_t<
        boost::asio::can_prefer<const Inner&, Property>::value,
        basic_scope_executor<
            std::decay_t<typename boost::asio::prefer_result<const Inner&, Property>::type>>> {
        return {boost::asio::prefer(inner_, p), scope_};
    }

    template <class Function>
    void execute(Function&& f) const {
        task_ledger* l = scope_.get() ? scope_->ledger() : nullptr;
        if (!l) {
            boost::asio::execution::execute(inner_, std::forward<Function>(f));
            return;
        }
        // The check happens where the function would run, on the executor's
        // own thread: a handler dropped there is destroyed where it lives.
        boost::asio::execution::execute(
            inner_,
            [f = std::decay_t<Function>(std::forward<Function>(f)), scope = scope_]() mutable {
                if (!scope->ledger()->closed()) std::move(f)();
            });
    }

    friend bool operator==(const basic_scope_executor& a, const basic_scope_executor& b) noexcept {
        return a.inner_ == b.inner_ && a.scope_ == b.scope_;
    }
    friend bool operator!=(const basic_scope_executor& a, const basic_scope_executor& b) noexcept {
        return !(a == b);
    }

  private:
    /// The ledger to count this copy in: only copies that track outstanding
    /// work count, and only when the root keeps a ledger.
    task_ledger* counting_ledger() const noexcept {
        namespace execution = boost::asio::execution;
        if constexpr (boost::asio::can_query<const Inner&, execution::outstanding_work_t>::value) {
            if (scope_.get() && boost::asio::query(inner_, execution::outstanding_work) ==
                                    execution::outstanding_work.tracked) {
                return scope_->ledger();
            }
        }
        return nullptr;
    }

    Inner inner_;
    detail::scope_ptr scope_;
};

namespace detail {

using io_scope_executor = basic_scope_executor<boost::asio::io_context::executor_type>;
using any_scope_executor = basic_scope_executor<boost::asio::any_io_executor>;

/// The scope an executor carries, or null.
inline const scope_state* find_scope(const boost::asio::any_io_executor& ex) noexcept {
    if (auto* s = ex.target<io_scope_executor>()) return s->scope();
    if (auto* s = ex.target<any_scope_executor>()) return s->scope();
    return nullptr;
}

/// The trace id of the root of the scope `ex` carries, or empty.
inline std::string_view trace_id_of(const boost::asio::any_io_executor& ex) noexcept {
    const scope_state* s = find_scope(ex);
    return s ? s->trace_id() : std::string_view{};
}

/// The time source of the scope `ex` carries, or null (the steady clock).
inline time_source* time_source_of(const boost::asio::any_io_executor& ex) noexcept {
    const scope_state* s = find_scope(ex);
    return s ? s->time() : nullptr;
}

/// The time on `source`, or on the steady clock when it is null.
inline clock::time_point now(const time_source* source) noexcept {
    return source ? source->now() : clock::now();
}

/// The effective deadline of the scope `ex` carries, or `time_point::max()`.
inline clock::time_point deadline_of(const boost::asio::any_io_executor& ex) noexcept {
    const scope_state* s = find_scope(ex);
    return s ? s->deadline() : clock::time_point::max();
}

/// An executor for work that must finish by `deadline`: `ex` itself when its
/// scope's deadline is already as early, otherwise `ex`'s underlying executor
/// carrying a new child scope. Never nests adapters: the result is at most
/// one adapter deep, so it stays in `any_io_executor`'s small buffer.
inline boost::asio::any_io_executor with_deadline(const boost::asio::any_io_executor& ex,
                                                  clock::time_point deadline) {
    if (deadline >= deadline_of(ex)) return ex;
    if (auto* s = ex.target<io_scope_executor>()) {
        return io_scope_executor{s->get_inner_executor(), scope_ptr::adopt(new scope_state(
                                                              s->scope_handle().get(), deadline))};
    }
    if (auto* s = ex.target<any_scope_executor>()) {
        return any_scope_executor{s->get_inner_executor(), scope_ptr::adopt(new scope_state(
                                                               s->scope_handle().get(), deadline))};
    }
    if (auto* io = ex.target<boost::asio::io_context::executor_type>()) {
        return io_scope_executor{*io, scope_ptr::adopt(new scope_state(nullptr, deadline))};
    }
    return any_scope_executor{ex, scope_ptr::adopt(new scope_state(nullptr, deadline))};
}

/// An executor for the collected task whose trace span is `span`: `ex`'s
/// underlying executor carrying a new child scope with that span and the
/// earlier of `deadline` and `ex`'s deadline. Only used while a trace is
/// recorded, so `ex` carries a scope (a recorder hangs off a root scope).
inline boost::asio::any_io_executor with_span(const boost::asio::any_io_executor& ex,
                                              clock::time_point deadline, std::size_t span) {
    deadline = std::min(deadline, deadline_of(ex));
    if (auto* s = ex.target<io_scope_executor>()) {
        return io_scope_executor{
            s->get_inner_executor(),
            scope_ptr::adopt(new scope_state(s->scope_handle().get(), deadline, span))};
    }
    if (auto* s = ex.target<any_scope_executor>()) {
        return any_scope_executor{
            s->get_inner_executor(),
            scope_ptr::adopt(new scope_state(s->scope_handle().get(), deadline, span))};
    }
    return with_deadline(ex, deadline);
}

}  // namespace detail

/// The root of a tree of work with its own deadline, `task_ledger` and trace
/// id: the Lambda runtime opens one per invocation, and everything started
/// on its executor (and, through it, every nested collection) inherits the
/// deadline and the trace id (`muster::current_trace_id()`), and is
/// accounted in the ledger.
///
/// With a `trace::recorder`, every task collected in the scope (by `gather`,
/// `as_completed` or `with_group`, however deeply nested) also leaves a span
/// in it: when it was queued, started and finished, how it ended, its
/// attempts, its error and its label. Without one, recording costs a null
/// pointer check per task.
///
/// Lifetime: the ledger lives as long as the root or any executor of the
/// scope does, so late work that still holds one can safely count itself
/// out after the root is gone.
///
/// @code
/// muster::root_scope scope(clock::now() + 3s);
/// co_spawn(scope.executor(io.get_executor()), handler(), on_done);
/// // ... once the handler is done:
/// if (scope.ledger().pending_work() > 0) report_leak();
/// scope.ledger().close();
/// @endcode
class root_scope {
  public:
    /// A root scope with `deadline` (`time_point::max()` for none) and
    /// `trace_id` (an X-Ray trace header such as the Lambda invocation's
    /// `Lambda-Runtime-Trace-Id`; empty for none), which outgoing calls made
    /// inside the scope propagate.
    ///
    /// `recorder`, when set, receives a span for every collected task of the
    /// scope. It is shared: the scope keeps it alive as long as any of its
    /// executors, and the caller reads it once the work is done (on the
    /// io_context thread, like every task that writes to it).
    ///
    /// `time`, when set, is the clock of everything in the scope: `deadline`
    /// is a point on it, and every collection, timeout, retry backoff,
    /// `muster::sleep_for` and `muster::remaining()` inside reads and waits
    /// on it (see `muster::testing::manual_clock`). It must outlive the
    /// scope's work. Null (the default): the steady clock.
    explicit root_scope(clock::time_point deadline = clock::time_point::max(),
                        std::string trace_id = {},
                        std::shared_ptr<trace::recorder> recorder = nullptr,
                        time_source* time = nullptr)
        : state_(detail::scope_ptr::adopt(
              new detail::scope_state(deadline, std::make_unique<task_ledger>(),
                                      std::move(trace_id), std::move(recorder), time))) {}

    /// `ex`, carrying this scope.
    template <class Inner>
    basic_scope_executor<Inner> executor(Inner ex) const {
        return basic_scope_executor<Inner>(std::move(ex), state_);
    }

    clock::time_point deadline() const noexcept { return state_->deadline(); }
    task_ledger& ledger() const noexcept { return *state_->ledger(); }
    std::string_view trace_id() const noexcept { return state_->trace_id(); }
    /// The recorder given at construction, or null.
    trace::recorder* recorder() const noexcept { return state_->recorder(); }
    /// The time source given at construction, or null (the steady clock).
    time_source* time() const noexcept { return state_->time(); }
    /// The time now on the scope's clock.
    clock::time_point now() const noexcept { return detail::now(state_->time()); }

  private:
    detail::scope_ptr state_;
};

/// The effective deadline of the calling task: the earliest deadline of the
/// scopes it runs in (its own `task_timeout`, its collection's deadline, the
/// invocation's), or `std::nullopt` when none applies.
///
/// Completion: immediately; never suspends, never throws.
inline boost::asio::awaitable<std::optional<clock::time_point>> current_deadline() {
    auto d = detail::deadline_of(co_await boost::asio::this_coro::executor);
    if (d == clock::time_point::max()) co_return std::nullopt;
    co_return d;
}

/// The trace id of the root scope the calling task runs in (see
/// `root_scope`), or an empty string outside one or when it has none.
///
/// Completion: immediately; never suspends, never throws.
inline boost::asio::awaitable<std::string> current_trace_id() {
    co_return std::string(detail::trace_id_of(co_await boost::asio::this_coro::executor));
}

/// Time left until the calling task's effective deadline (zero once it has
/// passed), or `clock::duration::max()` when no deadline applies. Counted
/// on the scope's clock (see `root_scope`'s `time`).
///
/// Completion: immediately; never suspends, never throws.
///
/// @code
/// if (co_await muster::remaining() < 200ms) co_return cached_answer();
/// @endcode
inline boost::asio::awaitable<clock::duration> remaining() {
    const auto ex = co_await boost::asio::this_coro::executor;
    const auto d = detail::deadline_of(ex);
    if (d == clock::time_point::max()) co_return clock::duration::max();
    co_return std::max(clock::duration::zero(), d - detail::now(detail::time_source_of(ex)));
}

}  // namespace muster
