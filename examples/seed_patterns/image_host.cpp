#include "image_host.hpp"

#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <string_view>
#include <thread>
#include <tuple>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace seed_patterns {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// FNV-1a: stable across runs and platforms, unlike std::hash.
std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

/// The value of `key` in the target's query, when present and a number.
std::optional<unsigned> query_number(std::string_view target, std::string_view key) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view query = target.substr(q + 1);
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

struct image_host::impl {
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    /// Requests per (invocation, host, target), for `fail_times`.
    std::map<std::tuple<std::string, std::string, std::string>, unsigned> counts;
    std::uint16_t port = acceptor.local_endpoint().port();
    std::thread thread;

    asio::awaitable<void> accept() {
        for (;;) {
            tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
            asio::co_spawn(io, serve(std::move(s)), asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket s) {
        beast::flat_buffer buffer;
        try {
            for (;;) {
                bhttp::request<bhttp::string_body> req;
                co_await bhttp::async_read(s, buffer, req, asio::use_awaitable);
                auto res = co_await answer(req);
                co_await bhttp::async_write(s, res, asio::use_awaitable);
                if (!req.keep_alive()) break;
            }
        } catch (const std::exception&) {
            // The client closed the connection (or gave up on a slow answer).
        }
    }

    asio::awaitable<bhttp::response<bhttp::string_body>> answer(
        const bhttp::request<bhttp::string_body>& req) {
        const std::string host(req[bhttp::field::host]);
        const std::string target(req.target());
        const std::uint64_t h = fnv1a(host + target);
        const unsigned latency_ms = query_number(target, "latency_ms").value_or(10 + h % 41);
        const unsigned count = ++counts[{std::string(req["X-Seed-Invocation"]), host, target}];

        asio::steady_timer timer(io, std::chrono::milliseconds(latency_ms));
        co_await timer.async_wait(asio::use_awaitable);

        const auto fail = query_number(target, "fail");
        const auto fail_times = query_number(target, "fail_times");
        const bool fails =
            fail && *fail >= 400 && *fail <= 599 && (!fail_times || count <= *fail_times);
        bhttp::response<bhttp::string_body> res;
        res.version(11);
        res.keep_alive(req.keep_alive());
        res.set(bhttp::field::server, "seed-patterns-image-host");
        if (fails) {
            res.result(*fail);
            res.set(bhttp::field::content_type, "text/plain");
            res.body() = std::string(res.reason()) + "\n";
        } else {
            res.result(bhttp::status::ok);
            res.set(bhttp::field::content_type, "image/jpeg");
            res.body().assign(static_cast<std::size_t>(20'000 + h % 180'000), '\xff');
        }
        res.prepare_payload();
        co_return res;
    }
};

image_host::image_host() : impl_(std::make_unique<impl>()) {
    asio::co_spawn(impl_->io, impl_->accept(), asio::detached);
    impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

image_host::~image_host() {
    impl_->io.stop();
    impl_->thread.join();
}

std::uint16_t image_host::port() const noexcept { return impl_->port; }

std::string image_host::origin() const { return "http://127.0.0.1:" + std::to_string(port()); }

}  // namespace seed_patterns
