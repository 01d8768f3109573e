/// @file
/// One invocation of the function: its identity, payload, deadline, logger,
/// and the scope every task started for it belongs to.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <muster/core/outcome.hpp>
#include <muster/core/time_source.hpp>
#include <muster/lambda/log.hpp>

namespace muster::lambda {

/// What the Runtime API said about an invocation (the headers of `/next`)
/// and its payload. The runtime fills it in; tests of a handler build one
/// by hand.
struct invocation_info {
    std::string request_id;
    std::string function_arn;
    std::string trace_id;          ///< `Lambda-Runtime-Trace-Id`, may be empty.
    std::string client_context;    ///< JSON text, may be empty.
    std::string cognito_identity;  ///< JSON text, may be empty.
    std::string tenant_id;         ///< May be empty.
    std::string payload;
    /// The platform's deadline, when it sent a valid epoch time.
    std::optional<std::chrono::system_clock::time_point> platform_deadline;
    /// When the handler should be done: the platform's deadline on the
    /// steady clock, less the runtime's safety margin. `time_point::max()`
    /// when there is no deadline.
    clock::time_point deadline = clock::time_point::max();
    /// The clock `deadline` is on and `remaining()` reads: the runtime's
    /// (`run_options::time`); null for the steady clock.
    time_source* time = nullptr;
};

class invocation;
namespace detail {
struct invocation_access;
}

/// One invocation, handed to the handler by reference.
///
/// Lifetime: the runtime keeps it alive until the handler's coroutine has
/// completed and every `after_response` function has run, so a handler may
/// keep the reference across `co_await`s.
///
/// Scope: the handler runs on an executor carrying the invocation's deadline,
/// so every `gather`, `as_completed`, `with_group` and `offload` inside it
/// stops at `deadline()` without being told, and `muster::remaining()` is the
/// same as `remaining()` here. Work the handler leaves behind (a detached
/// timer or coroutine on that executor) is reported when the invocation
/// ends and is then dropped, never run inside a later invocation.
///
/// Thread-safety: use it from the handler's coroutines (the io_context
/// thread); `log()` may be used from any thread.
class invocation {
  public:
    explicit invocation(invocation_info info, logger log = {})
        : info_(std::move(info)), log_(log.with_request_id(info_.request_id)) {}

    invocation(const invocation&) = delete;
    invocation& operator=(const invocation&) = delete;

    const std::string& request_id() const noexcept { return info_.request_id; }
    const std::string& function_arn() const noexcept { return info_.function_arn; }
    const std::string& trace_id() const noexcept { return info_.trace_id; }
    const std::string& client_context() const noexcept { return info_.client_context; }
    const std::string& cognito_identity() const noexcept { return info_.cognito_identity; }
    const std::string& tenant_id() const noexcept { return info_.tenant_id; }
    /// The event, as the platform sent it (usually JSON).
    const std::string& payload() const noexcept { return info_.payload; }

    /// When the handler should be done: the platform's deadline less the
    /// runtime's safety margin (`run_options::deadline_margin`), on the
    /// steady clock. `time_point::max()` when the platform sent none.
    clock::time_point deadline() const noexcept { return info_.deadline; }
    bool has_deadline() const noexcept { return info_.deadline != clock::time_point::max(); }
    /// The platform's own deadline, when it sent a valid epoch time.
    const std::optional<std::chrono::system_clock::time_point>& platform_deadline() const noexcept {
        return info_.platform_deadline;
    }
    /// Time left until `deadline()` (zero once passed), or
    /// `clock::duration::max()` when there is none.
    clock::duration remaining() const noexcept {
        if (!has_deadline()) return clock::duration::max();
        const auto now = info_.time ? info_.time->now() : clock::now();
        const auto left = info_.deadline - now;
        return left > clock::duration::zero() ? left : clock::duration::zero();
    }

    /// A logger that stamps every line with this invocation's request id.
    const logger& log() const noexcept { return log_; }

    /// Runs `fn` after the response has been posted and before the runtime
    /// asks for the next invocation: the place for flushing and clean-up,
    /// which still runs before Lambda freezes the process. Functions run in
    /// the order they were added, in the invocation's scope (its deadline
    /// still applies). An exception is logged and does not stop the others. `fn` is either `awaitable<void>()` or a
    /// plain `void()` callable.
    template <class Fn>
    void after_response(Fn fn) {
        if constexpr (std::is_invocable_r_v<boost::asio::awaitable<void>, Fn&>) {
            after_response_.emplace_back(std::move(fn));
        } else {
            static_assert(std::is_invocable_v<Fn&>,
                          "after_response takes awaitable<void>() or void()");
            after_response_.emplace_back([fn = std::move(fn)] { return call_plain(fn); });
        }
    }

    const invocation_info& info() const noexcept { return info_; }

  private:
    friend struct detail::invocation_access;

    // A coroutine taking its function by value: the lambda that calls it
    // is not itself the coroutine, so nothing dangles when it is destroyed.
    template <class Fn>
    static boost::asio::awaitable<void> call_plain(Fn fn) {
        fn();
        co_return;
    }

    invocation_info info_;
    logger log_;
    std::vector<std::function<boost::asio::awaitable<void>()>> after_response_;
};

namespace detail {
/// The runtime's access to what the handler registered.
struct invocation_access {
    static std::vector<std::function<boost::asio::awaitable<void>()>> take_after_response(
        invocation& inv) {
        return std::exchange(inv.after_response_, {});
    }
};
}  // namespace detail

}  // namespace muster::lambda
