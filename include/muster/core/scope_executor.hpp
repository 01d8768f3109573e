/// @file
/// `basic_scope_executor`: the executor adapter that carries a scope (its
/// deadline, ledger and trace id) to every task started on it.
#pragma once

#include <type_traits>
#include <utility>

#include <boost/asio/execution.hpp>

#include <muster/core/detail/scope_state.hpp>
#include <muster/core/ledger.hpp>

namespace muster {

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

}  // namespace muster
