/// @file
/// The timer of collections, retries and sleeps: a `steady_timer`, or a
/// wait on the scope's `time_source` when the scope has one. Internal.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <muster/core/outcome.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/time_source.hpp>

namespace muster::detail {

/// `steady_timer`'s interface, as much of it as muster uses, on either
/// clock. The choice is made once, at construction: with no time source it
/// is a `steady_timer` and nothing more. Like `steady_timer`, changing the
/// expiry or destroying the timer cancels the waits in progress. Not
/// thread-safe; used on its executor's thread.
class timer {
  public:
    /// A timer on the clock of the scope `ex` carries.
    explicit timer(boost::asio::any_io_executor ex) : timer(ex, time_source_of(ex)) {}
    /// A timer on `source` (the steady clock when null), completing on `ex`.
    timer(boost::asio::any_io_executor ex, time_source* source) : real_(ex), source_(source) {
        if (source_) ex_ = std::move(ex);
    }
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;
    ~timer() {
        if (source_) cancel();  // a steady_timer cancels its own waits
    }

    clock::time_point now() const noexcept { return detail::now(source_); }

    /// Sets the expiry, cancelling the waits in progress.
    void expires_at(clock::time_point at) {
        if (!source_) {
            real_.expires_at(at);
            return;
        }
        cancel();
        at_ = at;
    }
    void expires_after(clock::duration d) {
        if (!source_) {
            real_.expires_after(d);
            return;
        }
        expires_at(source_->now() + d);
    }

    /// Waits for the expiry: completes with no error then, or with
    /// `operation_aborted` when cancelled (per operation, by `cancel`, by a
    /// new expiry, or by the timer's destruction).
    template <class Token>
    auto async_wait(Token&& token) {
        if (!source_) return real_.async_wait(std::forward<Token>(token));
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler) {
                waits_.push_back(source_->wait_until(at_, ex_, std::move(handler)));
            },
            token);
    }

    /// Cancels every wait in progress.
    void cancel() {
        if (!source_) {
            real_.cancel();
            return;
        }
        for (std::uint64_t id : std::exchange(waits_, {})) source_->cancel(id);
    }

  private:
    boost::asio::steady_timer real_;
    boost::asio::any_io_executor ex_;
    time_source* source_;
    clock::time_point at_{};
    std::vector<std::uint64_t> waits_;  ///< On `source_`; finished ones are ignored by `cancel`.
};

}  // namespace muster::detail
