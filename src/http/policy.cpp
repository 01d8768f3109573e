#include "policy.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "retry_after.hpp"

namespace muster::http::detail {

namespace {

/// True for the header fields that carry or are bound to a credential of
/// the origin they were meant for (see `options::follow_redirects`).
bool credential_header(std::string_view name) noexcept {
    const auto starts = [name](std::string_view prefix) {
        return name.size() >= prefix.size() && iequals(name.substr(0, prefix.size()), prefix);
    };
    return iequals(name, "Authorization") || iequals(name, "Proxy-Authorization") ||
           iequals(name, "Cookie") || starts("X-Amz-") || starts("X-Goog-");
}

}  // namespace

clock::duration retry_delay(const retry_policy& p, unsigned attempt, const response* r) {
    clock::duration d = muster::retry_delay(p, attempt);
    if (r) {
        if (auto after = r->headers.get("Retry-After")) {
            if (auto wait = detail::retry_after(*after, std::chrono::system_clock::now()))
                d = std::max<clock::duration>(d, *wait);
        }
    }
    return d;
}

void drop_credentials(http::headers& h) {
    std::vector<std::string> names;
    for (const auto& [name, value] : h)
        if (credential_header(name)) names.push_back(name);
    for (const auto& name : names) h.erase(name);
}

bool retryable_error(error_kind k) noexcept {
    return k == error_kind::connect || k == error_kind::resolve || k == error_kind::closed;
}

}  // namespace muster::http::detail
