#include "stand_in_fetch.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace seed_patterns {

namespace {

std::string_view reason(int status) {
    switch (status) {
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 408:
            return "Request Timeout";
        case 429:
            return "Too Many Requests";
        case 500:
            return "Internal Server Error";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        default:
            return "";
    }
}

std::string describe(int status, const std::string& url) {
    std::string what = "HTTP " + std::to_string(status);
    if (auto r = reason(status); !r.empty()) (what += ' ') += r;
    return what + " from " + url;
}

/// FNV-1a: stable across runs and platforms, unlike std::hash.
std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

/// The value of `key` in the URL's query, when present and a number.
std::optional<unsigned> query_number(std::string_view url, std::string_view key) {
    const auto q = url.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view query = url.substr(q + 1);
    query = query.substr(0, query.find('#'));
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || pair.substr(0, eq) != key) continue;
        const std::string_view text = pair.substr(eq + 1);
        unsigned n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec == std::errc{} && end == text.data() + text.size()) return n;
    }
    return std::nullopt;
}

}  // namespace

http_error::http_error(int status, const std::string& url)
    : std::runtime_error(describe(status, url)), status_(status) {}

bool http_error::transient() const noexcept {
    return status_ == 408 || status_ == 425 || status_ == 429 || (status_ >= 500 && status_ <= 599);
}

boost::asio::awaitable<fetched> stand_in_fetch(std::shared_ptr<stand_in_origin> origin,
                                               std::string url) {
    const std::uint64_t h = fnv1a(url);
    const unsigned latency_ms = query_number(url, "latency_ms").value_or(10 + h % 41);
    const unsigned request = origin->request(url);

    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                    std::chrono::milliseconds(latency_ms));
    co_await timer.async_wait(boost::asio::use_awaitable);

    const auto fail = query_number(url, "fail");
    const auto fail_times = query_number(url, "fail_times");
    const bool fails = fail && *fail >= 100 && *fail <= 599 && !(*fail >= 200 && *fail <= 299) &&
                       (!fail_times || request <= *fail_times);
    if (fails) throw http_error(static_cast<int>(*fail), url);
    co_return fetched{200, static_cast<std::size_t>(20'000 + h % 180'000)};
}

}  // namespace seed_patterns
