// Load on `muster serve`: C keep-alive connections send N invocations in
// all, each with a unique id that the function (emulator_noop_bootstrap
// echo) sends back, so every answer is matched to its request. Samples the
// resident memory of the serve process (VmRSS of /proc/PID/status) after
// the warm-up, at half way, at the end, and its peak every 50 ms, to show
// whether memory stays steady.
//
//   emulator_serve_load_driver PORT SERVE_PID [CONNECTIONS] [N]
//
// Prints one line; exits 1 when any answer is missing, wrong or mismatched.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

long rss_kib(const std::string& pid) {
    std::ifstream status("/proc/" + pid + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::strtol(line.c_str() + 6, nullptr, 10);
        }
    }
    return -1;
}

struct load {
    std::string port;
    std::string pid;
    int total = 0;
    int next = 0;  // the next invocation to send
    int done = 0;
    int matched = 0;
    int mismatched = 0;
    int failed = 0;
    long rss_start = 0;
    long rss_half = -1;
    long rss_peak = 0;
    int active = 0;  // connections still sending
};

// One keep-alive connection sending one invocation after another until all
// have been taken. The first `warm` ones are the warm-up and not counted.
net::awaitable<void> connection(load* state, int id, int warm) {
    tcp::socket socket(co_await net::this_coro::executor);
    tcp::resolver resolver(socket.get_executor());
    auto [rec, endpoints] = co_await resolver.async_resolve("127.0.0.1", state->port, use_tuple);
    auto [cec, ep] = co_await net::async_connect(socket, endpoints, use_tuple);
    if (rec || cec) {
        std::fprintf(stderr, "serve_load_driver: cannot connect\n");
        std::exit(1);
    }
    socket.set_option(tcp::no_delay(true));
    boost::beast::flat_buffer buffer;
    for (int round = 0;; ++round) {
        int n;
        if (round < warm) {
            n = -1 - id;
        } else {
            if (state->next >= state->total) {
                break;
            }
            n = state->next++;
        }
        http::request<http::string_body> request{http::verb::post,
                                                 "/2015-03-31/functions/function/invocations", 11};
        request.set(http::field::host, "127.0.0.1");
        request.set(http::field::content_type, "application/json");
        request.keep_alive(true);
        request.body() =
            R"({"id":")" + std::to_string(n) + R"(","connection":)" + std::to_string(id) + "}";
        request.prepare_payload();
        auto [wec, wn] = co_await http::async_write(socket, request, use_tuple);
        http::response<http::string_body> response;
        auto [ec, rn] = co_await http::async_read(socket, buffer, response, use_tuple);
        if (n < 0) {
            continue;
        }
        ++state->done;
        if (wec || ec || response.result() != http::status::ok) {
            ++state->failed;
            if (wec || ec) {
                break;  // the connection is gone; the rest is missing
            }
        } else if (response.body() == request.body()) {
            ++state->matched;
        } else {
            ++state->mismatched;
        }
        if (state->done == state->total / 2) {
            state->rss_half = rss_kib(state->pid);
        }
    }
    --state->active;
}

net::awaitable<void> sample_memory(load* state) {
    net::steady_timer timer(co_await net::this_coro::executor);
    while (state->active > 0) {
        state->rss_peak = std::max(state->rss_peak, rss_kib(state->pid));
        timer.expires_after(std::chrono::milliseconds(50));
        co_await timer.async_wait(use_tuple);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s PORT SERVE_PID [CONNECTIONS] [N]\n", argv[0]);
        return 2;
    }
    load state;
    state.port = argv[1];
    state.pid = argv[2];
    int connections = argc > 3 ? std::atoi(argv[3]) : 64;
    state.total = argc > 4 ? std::atoi(argv[4]) : 20000;

    // Warm-up: every connection opens and sends one invocation.
    {
        net::io_context io;
        state.active = connections;
        for (int c = 0; c < connections; ++c) {
            net::co_spawn(io, connection(&state, c, 1), net::detached);
        }
        // Only the warm-up rounds run: nothing is left to take.
        int total = state.total;
        state.total = 0;
        io.run();
        state.total = total;
    }
    state.rss_start = rss_kib(state.pid);
    state.rss_peak = state.rss_start;

    net::io_context io;
    state.active = connections;
    for (int c = 0; c < connections; ++c) {
        net::co_spawn(io, connection(&state, c, 0), net::detached);
    }
    net::co_spawn(io, sample_memory(&state), net::detached);
    auto start = std::chrono::steady_clock::now();
    io.run();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    long rss_end = rss_kib(state.pid);
    std::printf(
        "connections: %d  invocations: %d  seconds: %.3f  per_second: %.0f  matched: %d  "
        "mismatched: %d  failed: %d  missing: %d  rss_kib_start: %ld  rss_kib_half: %ld  "
        "rss_kib_end: %ld  rss_kib_peak: %ld\n",
        connections, state.total, seconds, state.total / seconds, state.matched, state.mismatched,
        state.failed, state.total - state.done, state.rss_start, state.rss_half, rss_end,
        state.rss_peak);
    bool all = state.matched == state.total && state.mismatched == 0 && state.failed == 0;
    return all ? 0 : 1;
}
