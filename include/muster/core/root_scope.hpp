/// @file
/// `root_scope`: the root of a tree of work with its own deadline, ledger,
/// trace id, trace recorder and clock.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <muster/core/detail/scope_access.hpp>
#include <muster/core/detail/scope_state.hpp>
#include <muster/core/ledger.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/scope_executor.hpp>
#include <muster/core/time_source.hpp>

namespace muster {

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

}  // namespace muster
