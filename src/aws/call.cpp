#include "detail.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/retry.hpp>
#include <muster/core/scope.hpp>
#include <muster/http/error.hpp>
#include <muster/http/url.hpp>

namespace muster::aws::detail {
namespace {

namespace asio = boost::asio;

/// How much of a streamed body is held back until the status says it is
/// not an error (S3's error documents are far smaller).
constexpr std::size_t held_limit = std::size_t{64} << 10;

/// The state of one streamed body, shared with the sink the http client
/// holds (which may outlive an attempt that failed).
struct stream_state {
    http::body_sink user;
    std::string held;
    bool forwarded = false;  ///< Something reached the user's sink: no retry now.
};

}  // namespace

namespace {

bool retryable_kind(http::error_kind k) noexcept {
    return k == http::error_kind::connect || k == http::error_kind::resolve ||
           k == http::error_kind::closed;
}

}  // namespace

asio::awaitable<http::response> send(http::client client, muster::retry_policy retry, call c) {
    const auto ex = co_await asio::this_coro::executor;
    const clock::time_point deadline = muster::deadline_of(ex);
    std::shared_ptr<stream_state> stream;
    if (c.sink) {
        stream = std::make_shared<stream_state>();
        stream->user = c.sink;
    }

    for (unsigned attempt = 1;; ++attempt) {
        http::request r = c.request;
        signing_params p = c.params;
        p.time = std::chrono::system_clock::now();
        sign(r, p);

        std::optional<http::response> response;
        std::exception_ptr failure;
        bool transient = false;
        try {
            if (stream) {
                stream->held.clear();
                http::body_sink sink = [stream](std::string_view piece) {
                    if (stream->forwarded) {
                        stream->user(piece);
                        return;
                    }
                    stream->held.append(piece);
                    if (stream->held.size() > held_limit) {
                        stream->forwarded = true;
                        std::string held = std::move(stream->held);
                        stream->held.clear();
                        stream->user(held);
                    }
                };
                auto sending = client.request(std::move(r), std::move(sink));
                response.emplace(co_await std::move(sending));
            } else {
                auto sending = client.request(std::move(r));
                response.emplace(co_await std::move(sending));
            }
        } catch (const http::error& e) {
            failure = std::current_exception();
            transient = retryable_kind(e.kind());
        }

        if (response) {
            if (response->status >= 200 && response->status < 300) {
                if (stream && !stream->forwarded && !stream->held.empty()) {
                    std::string held = std::move(stream->held);
                    stream->held.clear();
                    stream->user(held);
                }
                co_return std::move(*response);
            }
            if (stream && response->body.empty()) response->body = std::move(stream->held);
            aws::error e = c.parse(*response);
            transient = e.retryable();
            failure = std::make_exception_ptr(std::move(e));
        }
        if (stream && stream->forwarded) transient = false;

        if (transient && attempt < retry.attempts) {
            // A predicate that throws makes `failure` a retry_if_error.
            transient = muster::retry_if_allows(retry, failure);
        }
        if (transient && attempt < retry.attempts) {
            const auto delay = muster::retry_delay(retry, attempt);
            // A retry that could not start before the deadline is not made.
            if (clock::now() + delay < deadline) {
                asio::steady_timer pause(ex, delay);
                try {
                    co_await pause.async_wait(asio::use_awaitable);
                } catch (const boost::system::system_error&) {
                    throw http::error(http::error_kind::cancelled, c.request.url,
                                      "muster::aws: " + c.request.method + " " + c.request.url +
                                          ": cancelled while waiting to retry");
                }
                continue;
            }
        }
        std::rethrow_exception(failure);
    }
}

std::string xml_text(std::string_view xml, std::string_view tag) {
    const std::string open = "<" + std::string(tag) + ">";
    const std::string close = "</" + std::string(tag) + ">";
    const auto a = xml.find(open);
    if (a == std::string_view::npos) return {};
    const auto start = a + open.size();
    const auto b = xml.find(close, start);
    if (b == std::string_view::npos) return {};
    std::string_view raw = xml.substr(start, b - start);
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '&') {
            static constexpr std::pair<std::string_view, char> entities[] = {
                {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
            bool done = false;
            for (const auto& [name, ch] : entities) {
                if (raw.substr(i).starts_with(name)) {
                    out += ch;
                    i += name.size() - 1;
                    done = true;
                    break;
                }
            }
            if (done) continue;
        }
        out += raw[i];
    }
    return out;
}

std::string base_url(std::string_view text, std::string_view variable) {
    std::string s(text);
    while (!s.empty() && s.back() == '/') s.pop_back();
    try {
        const http::url u = http::url::parse(s);
        if (u.target != "/")
            throw std::invalid_argument("muster::aws: " + std::string(variable) + " (\"" +
                                        std::string(text) + "\") must not have a path");
    } catch (const http::error&) {
        throw std::invalid_argument("muster::aws: " + std::string(variable) + " (\"" +
                                    std::string(text) + "\") is not an http:// or https:// URL");
    }
    return s;
}

}  // namespace muster::aws::detail
