// The retry and redirect policy of muster::http::client: which responses
// and errors are retried and after how long, which statuses are followed,
// and what a request loses when it is redirected to another origin. Internal.
#pragma once

#include <muster/core/retry.hpp>
#include <muster/http/error.hpp>
#include <muster/http/headers.hpp>
#include <muster/http/options.hpp>
#include <muster/http/response.hpp>

namespace muster::http::detail {

inline bool retryable_status(int status) noexcept {
    return status == 429 || (status >= 500 && status < 600);
}

inline bool redirect_status(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool retryable_error(error_kind k) noexcept;

/// The delay before retry `attempt + 1` (full jitter, as the core's
/// collections do it), or the server's `Retry-After` when that is longer.
clock::duration retry_delay(const retry_policy& p, unsigned attempt, const response* r);

/// Removes every credential-bearing field before a request goes to another origin.
void drop_credentials(http::headers& h);

}  // namespace muster::http::detail
