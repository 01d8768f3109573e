#include "backoff.hpp"

#include <utility>

#include <boost/asio/use_awaitable.hpp>

#include <muster/core/detail/timer.hpp>
#include <muster/core/options.hpp>
#include <muster/core/retry.hpp>

namespace muster::lambda::detail {

namespace {

/// The core's retry arithmetic without jitter: the schedule is exact, as
/// the Runtime API is local and a retry storm is not a concern.
std::chrono::milliseconds delay_after(int attempts) {
    retry_policy p;
    p.initial_backoff = std::chrono::milliseconds(20);
    p.max_backoff = std::chrono::milliseconds(1000);
    p.multiplier = 4.0;
    p.jitter = false;
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        retry_delay_bound(p, static_cast<unsigned>(attempts)));
}

}  // namespace

backoff::backoff(boost::asio::any_io_executor ex, time_source* time)
    : executor_(std::move(ex)), time_(time), start_(muster::detail::now(time)) {}

boost::asio::awaitable<bool> backoff::next() {
    if (made_ > max_retries) co_return false;
    if (made_ > 0) {
        muster::detail::timer t(executor_, time_);
        t.expires_after(delay_after(made_));
        co_await t.async_wait(boost::asio::use_awaitable);
    }
    ++made_;
    co_return true;
}

void backoff::failed(const logger& log, std::string_view what, std::string error) {
    last_error_ = std::move(error);
    if (made_ <= max_retries) {
        log.warn(std::string(what) + " failed (" + last_error_ + "); retrying in " +
                 std::to_string(delay_after(made_).count()) + " ms");
    }
}

std::chrono::milliseconds backoff::elapsed() const noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(muster::detail::now(time_) -
                                                                 start_);
}

}  // namespace muster::lambda::detail
