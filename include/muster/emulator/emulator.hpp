/// @file
/// `emulator`: a local Lambda for one function, for tests and for `muster
/// invoke`/`muster serve`. It runs the function's bootstrap as a child
/// process and serves it the Runtime API on 127.0.0.1.
#pragma once

#include <muster/emulator/function_config.hpp>
#include <muster/emulator/invocation.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>

namespace muster::emulator {

namespace detail {
class emulator_state;
}

/// A local Lambda for one function: it runs the function's bootstrap as a
/// child process and serves it the Runtime API on 127.0.0.1, the way Lambda's
/// platform does.
///
/// What a runtime sees: `/next` answers carry `Content-Type`, an epoch
/// `Lambda-Runtime-Deadline-Ms`, the request id, function ARN and a trace
/// id; posts for an unknown request id get 400, a second post for the same
/// invocation 403, a body over the limit 413 (the invocation then fails with
/// `Function.ResponseSizeTooLarge`); `/init/error` fails the waiting
/// invocations and ends the process; malformed HTTP gets 400 and the
/// connection is closed. The process group is frozen (SIGSTOP) between
/// invocations unless `freeze` is off, killed (SIGKILL) on a timeout, and
/// started again on the next invocation after any exit or kill.
///
/// Platform lines (`START`, `END`, `REPORT … Max Memory Used …`) go to the
/// configuration's `platform_log`. "Max Memory Used" is the peak resident
/// set of the bootstrap and its descendants since the process started: like
/// Lambda's, it never drops between warm invocations. Descendants that were
/// orphaned (re-parented away from the tree) are not counted.
///
/// Threading: every member function must be called on `executor`, and
/// everything runs there; the io_context should be run by one thread.
///
/// Lifetime: the destructor kills the process group (SIGKILL) at once and
/// closes every connection; call `shutdown()` first for a graceful end.
/// Invocations still pending then complete as `rejected`.
///
/// @code
/// boost::asio::io_context io;
/// muster::emulator::function_config config;
/// config.command = {"build/release/my_function"};
/// config.timeout = std::chrono::seconds(3);
/// muster::emulator::emulator lambda(io.get_executor(), config);
/// boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
///     // Requests named first: an aggregate owning strings written inline
///     // in a co_await is destroyed twice by GCC 12 (README).
///     muster::emulator::invoke_request cold;
///     cold.payload = R"({"x":1})";
///     auto first = co_await lambda.invoke(std::move(cold));
///     muster::emulator::invoke_request warm;
///     warm.payload = R"({"x":2})";
///     auto second = co_await lambda.invoke(std::move(warm));
///     if (second.status == muster::emulator::invoke_status::function_error) {
///         std::cerr << second.error_type << '\n';
///     }
///     co_await lambda.shutdown();
/// }, boost::asio::detached);
/// io.run();
/// @endcode
class emulator {
  public:
    /// Binds the Runtime API to an ephemeral port on 127.0.0.1. Starts no
    /// process: the bootstrap starts with the first invocation.
    /// Throws `boost::system::system_error` when it cannot bind.
    emulator(boost::asio::any_io_executor executor, function_config config);
    ~emulator();

    emulator(const emulator&) = delete;
    emulator& operator=(const emulator&) = delete;

    /// Runs one invocation and completes with its outcome once the function
    /// has answered (or failed). Invocations queue: with `concurrency` 1 they
    /// run one after the other in the same warm process.
    ///
    /// Never throws for a function's failure: that is an `invoke_result` with
    /// `status` `function_error`.
    ///
    /// Cancellation: cancelling the awaiting coroutine does not stop the
    /// invocation, which Lambda cannot recall either; `invoke` goes on
    /// waiting and completes with the invocation's outcome. The function's
    /// `timeout` bounds that wait; `shutdown()` and the destructor end it.
    boost::asio::awaitable<invoke_result> invoke(invoke_request request);

    /// Waits until every started invocation has ended (the runtime asked for
    /// the next event, or was killed), then stops the process: SIGCONT if
    /// frozen, SIGTERM to the group, SIGKILL after `shutdown_grace`. Later
    /// `invoke` calls are rejected.
    boost::asio::awaitable<void> shutdown();

    /// The port of the Runtime API (what `AWS_LAMBDA_RUNTIME_API` names).
    std::uint16_t runtime_api_port() const noexcept;

    /// The pid of the running bootstrap, or 0 when none runs.
    int bootstrap_pid() const noexcept;

  private:
    std::shared_ptr<detail::emulator_state> state_;
};

}  // namespace muster::emulator
