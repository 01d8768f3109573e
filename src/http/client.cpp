#include <muster/http/client.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/retry.hpp>
#include <muster/core/scope.hpp>
#include <muster/http/url.hpp>

#include "client_state.hpp"
#include "decode.hpp"
#include "exchange.hpp"
#include "failure.hpp"
#include "policy.hpp"
#include "proxy.hpp"
#include "read_response.hpp"

namespace muster::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using boost::system::error_code;

using detail::configure_proxies;
using detail::drop_credentials;
using detail::fail;
using detail::failure_context;
using detail::phase;
using detail::read_plan;
using detail::redirect_status;
using detail::retry_delay;
using detail::retryable_error;
using detail::retryable_status;
using detail::send;
using detail::state_ptr;

namespace {

bool valid_token(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') ||
                        std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

bool valid_value(std::string_view s) {
    return s.find_first_of("\r\n") == std::string_view::npos &&
           s.find('\0') == std::string_view::npos;
}

/// A request from start to end: checked, given the default headers, then
/// sent, retried and redirected as the options say.
asio::awaitable<response> run(state_ptr st, http::request r, body_sink sink) {
    const auto ex = co_await asio::this_coro::executor;
    const http::options& o = st->opts;
    failure_context f;
    f.method = r.method;
    f.url = r.url;
    f.start = clock::now();
    f.scope_deadline = muster::deadline_of(ex);
    f.limit = o.max_connections_per_origin;
    const auto timeout = r.timeout.value_or(o.request_timeout);
    f.deadline = timeout >= clock::time_point::max() - f.start ? clock::time_point::max()
                                                               : f.start + timeout;
    if (f.scope_deadline < f.deadline) {
        // The scope's deadline binds. Whoever owns it (a collection) cancels
        // the request exactly then and reports it timed_out; our own timer
        // is a millisecond later so that it only acts when nobody else does
        // (a root scope, which cancels nothing).
        f.scope_bound = true;
        f.deadline = f.scope_deadline + std::chrono::milliseconds(1);
    }

    url u = url::parse(r.url);
    f.url = u.str();
    if (!valid_token(r.method))
        throw error(error_kind::invalid_request, f.url,
                    "\"" + r.method + "\" is not an HTTP method");
    for (const auto& [name, value] : r.headers) {
        if (!valid_token(name) || !valid_value(value))
            throw error(error_kind::invalid_request, f.url,
                        "the header \"" + name + "\" has an invalid name or value");
    }
    if (!r.headers.contains("User-Agent") && !o.user_agent.empty())
        r.headers.set("User-Agent", o.user_agent);
    if (o.decompress && !r.headers.contains("Accept-Encoding"))
        r.headers.set("Accept-Encoding", "gzip, deflate");
    if (o.send_trace_id && !r.headers.contains("X-Amzn-Trace-Id")) {
        // The invocation's root scope carries it (also with several
        // invocations at once); a runtime that only sets the environment
        // variable is honoured too.
        std::string_view trace = muster::trace_id_of(ex);
        if (trace.empty()) {
            if (const char* env = std::getenv("_X_AMZN_TRACE_ID")) trace = env;
        }
        if (!trace.empty() && valid_value(trace))
            r.headers.set("X-Amzn-Trace-Id", std::string(trace));
    }
    const bool user_host = r.headers.contains("Host");

    unsigned attempt = 1;
    unsigned redirects = 0;
    for (;;) {
        const std::optional<url> proxy = st->proxy_for(u);
        bhttp::request<bhttp::string_body> req;
        req.method_string(r.method);
        // Through a proxy, plain http asks for the absolute URL.
        req.target(proxy && !u.https() ? u.str() : u.target);
        req.version(11);
        for (const auto& [name, value] : r.headers) req.insert(name, value);
        if (!user_host) req.set(bhttp::field::host, u.host_header());
        req.body() = r.body;
        req.prepare_payload();

        std::optional<response> out;
        std::exception_ptr failure;
        error_kind kind = error_kind::protocol;
        read_plan plan;
        plan.sink = &sink;
        plan.follow = o.follow_redirects;
        plan.may_retry = attempt < o.retry.attempts && is_idempotent(r.method);
        plan.decompress = o.decompress;
        plan.what = f.method + " " + f.url + ": ";
        plan.url = f.url;
        try {
            auto sending = send(st, &u, &proxy, &req, &f, &plan);
            out.emplace(co_await std::move(sending));
            // A streamed body was decoded on its way to the sink (and is empty here).
            if (o.decompress && r.method != "HEAD") {
                if (auto enc = out->headers.get("Content-Encoding"))
                    out->body = detail::decode_content(*enc, std::move(out->body), o.max_body_size,
                                                       f.method + " " + f.url + ": ", f.url);
            }
        } catch (const error& e) {
            failure = std::current_exception();
            kind = e.kind();
        } catch (const boost::system::system_error& e) {
            // Awaiting anything once cancelled throws operation_aborted.
            f.cancelled = true;
            throw fail(f, phase::exchange, e.code());
        }

        // Retries: idempotent requests, on connection errors, 429 and 5xx,
        // never past the deadline.
        const bool again = attempt < o.retry.attempts && is_idempotent(r.method) &&
                           (failure ? retryable_error(kind) : retryable_status(out->status));
        if (again && failure && !retry_if_allows(o.retry, failure)) {
            std::rethrow_exception(failure);  // a retry_if_error when the predicate threw
        }
        if (again) {
            const auto delay = retry_delay(o.retry, attempt, out ? &*out : nullptr);
            if (clock::now() + delay < f.deadline) {
                ++attempt;
                asio::steady_timer pause(ex, delay);
                error_code ec;
                try {
                    co_await pause.async_wait(asio::use_awaitable);
                } catch (const boost::system::system_error& e) {
                    ec = e.code();
                }
                if (ec) {
                    f.cancelled = true;
                    throw fail(f, phase::exchange, ec);
                }
                continue;
            }
        }
        if (failure) std::rethrow_exception(failure);

        if (o.follow_redirects && redirect_status(out->status)) {
            if (auto location = out->headers.get("Location")) {
                if (redirects >= o.max_redirects) {
                    throw error(error_kind::too_many_redirects, f.url,
                                f.method + " " + f.url + ": more than " +
                                    std::to_string(o.max_redirects) + " redirects");
                }
                ++redirects;
                url next = u.resolve(*location);
                if (out->status == 303 ||
                    ((out->status == 301 || out->status == 302) && r.method == "POST")) {
                    if (r.method != "HEAD") r.method = "GET";
                    r.body.clear();
                    r.headers.erase("Content-Type");
                    r.headers.erase("Content-Length");
                }
                if (next.origin() != u.origin()) drop_credentials(r.headers);
                u = std::move(next);
                f.url = u.str();
                f.method = r.method;
                attempt = 1;
                continue;
            }
        }
        if (sink && !plan.streams(out->status) && !out->body.empty()) {
            // Read into memory because it might have been retried or
            // followed; it is final after all, so the sink gets it now.
            std::string body = std::move(out->body);
            out->body.clear();
            sink(body);
        }
        co_return std::move(*out);
    }
}

}  // namespace

client::client(asio::any_io_executor ex, http::options o) {
    o.validate();
    state_ = std::make_shared<state>(muster::without_scope(ex), std::move(o));
    configure_proxies(*state_);
}

client::client(asio::any_io_executor ex) : client(std::move(ex), http::options{}) {}

// Not coroutines themselves: the awaitable they return holds the pool, so
// the client object may go away before it is awaited.
asio::awaitable<response> client::request(http::request r) const {
    return run(state_, std::move(r), nullptr);
}

asio::awaitable<response> client::request(http::request r, body_sink sink) const {
    return run(state_, std::move(r), std::move(sink));
}

asio::awaitable<response> client::get(std::string url, http::headers h) const {
    http::request r;
    r.url = std::move(url);
    r.headers = std::move(h);
    return run(state_, std::move(r), nullptr);
}

const http::options& client::options() const noexcept { return state_->opts; }

asio::any_io_executor client::get_executor() const { return state_->io; }

}  // namespace muster::http
