/// @file
/// `time_source`: where muster reads the time and waits for it, when it is
/// not the steady clock (a manual clock in tests).
#pragma once

#include <cstdint>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <muster/core/outcome.hpp>

namespace muster {

/// A clock and its timers, in place of `clock` (the steady clock) and
/// `steady_timer`.
///
/// muster reads the time, and waits for it, through the scope a task runs
/// in: a `root_scope` made with a time source hands it to every task,
/// collection, retry backoff and `muster::sleep_for` inside it, and
/// `muster::remaining()` counts from its `now()`. Outside such a scope (the
/// production case) muster reads `clock::now()` and waits on `steady_timer`
/// directly: the seam costs one pointer test per time read, no virtual call.
///
/// Time points are `clock::time_point`s, so deadlines, timings and traces
/// keep their types whichever source made them.
///
/// The one implementation muster ships is `muster::testing::manual_clock`,
/// whose time moves only when a test says so. Implementations are called on
/// the threads of the executors given to them, possibly several at once.
class time_source {
  public:
    /// What a wait completes: no error when its time came, `operation_aborted`
    /// when it was cancelled.
    using wait_handler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

    /// The current time.
    virtual clock::time_point now() const noexcept = 0;

    /// Completes `handler` once `now() >= at`: never inline, always through
    /// `ex` (the waiting I/O object's executor). The wait holds outstanding
    /// work on `ex` while it is pending, as a `steady_timer` wait does.
    /// Per-operation cancellation (the handler's cancellation slot, any
    /// type) and `cancel(id)` complete it with `operation_aborted`.
    /// Returns an id for `cancel`.
    virtual std::uint64_t wait_until(clock::time_point at, boost::asio::any_io_executor ex,
                                     wait_handler handler) = 0;

    /// Cancels wait `id`, if it is still pending.
    virtual void cancel(std::uint64_t id) noexcept = 0;

    /// Runs `io` until it has no work left or is stopped, as `io.run()`
    /// does, with time moving as this source moves it. Returns the number of
    /// handlers run. The default is `io.run()`.
    virtual std::size_t run(boost::asio::io_context& io) { return io.run(); }

  protected:
    time_source() = default;
    time_source(const time_source&) = default;
    time_source& operator=(const time_source&) = default;
    ~time_source() = default;
};

}  // namespace muster
