// What an answer to `/next` announces: the invocation's headers, payload
// and deadline, read as real platforms and emulators send them.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include <muster/core/outcome.hpp>
#include <muster/core/time_source.hpp>
#include <muster/lambda/invocation.hpp>
#include <muster/lambda/log.hpp>

#include "runtime_api.hpp"

namespace muster::lambda::detail {

/// One per runtime, shared by its pollers (so an unusable deadline is
/// warned about once per process).
class invocation_reader {
  public:
    invocation_reader(std::chrono::milliseconds deadline_margin, logger log, time_source* time)
        : margin_(deadline_margin), log_(std::move(log)), time_(time) {}

    /// The invocation `next` announced, received at `received` on the
    /// runtime's clock (`time`); its payload is moved out of `next`.
    /// `Lambda-Runtime-Deadline-Ms` in epoch milliseconds becomes a
    /// deadline on the runtime's clock, less the safety margin (at most a
    /// tenth of the time left); anything else means no deadline.
    /// `std::nullopt` (logged) when there is no request id, so the
    /// invocation cannot be answered.
    std::optional<invocation_info> read(http_response& next, clock::time_point received);

  private:
    void read_deadline(const std::string& raw, clock::time_point received, invocation_info& info);

    std::chrono::milliseconds margin_;
    logger log_;
    time_source* time_;
    bool warned_deadline_ = false;
};

}  // namespace muster::lambda::detail
