// The origin server of the HTTP client benchmark: every client (muster,
// aiohttp, Node's fetch, wrk) talks to the same instance of it.
//
// Answers every request after a delay (default 20 ms) with a body of a
// fixed size (default 10 KB), over keep-alive connections, as many at once as
// clients open. One thread, one io_context; each request waits on its own
// timer, so the delay costs no CPU and waiting requests never queue behind
// each other. The response bytes are built once and written from that one
// buffer, so answering a request costs a parse, a timer and one write.
//
// Prints the port it listens on (127.0.0.1, port chosen by the kernel) on
// stdout once it accepts connections. Stops on SIGINT or SIGTERM and prints
// what it served and the CPU time it used on stderr.
//
// Two extras for the benchmark's drivers:
//   `?delay_ms=N` in a request's target overrides the delay for that request
//   (the memory measurement keeps requests in flight for seconds);
//   `GET /stats` answers at once with
//   {"waiting":W,"max_waiting":M,"served":S,"cpu_ms":C}: requests waiting on
//   their delay now, the most that waited at once since the last /stats (then
//   reset), requests answered so far, and the server's CPU time.
//
// Usage: http_origin_server [--delay-ms D] [--body-bytes N]
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

struct settings {
    std::chrono::milliseconds delay{20};
    std::size_t body_bytes = 10 * 1024;
};

struct server_state {
    std::string keep_alive_response;  ///< Status line, header and body, built once.
    std::string close_response;       ///< The same with `Connection: close`.
    std::chrono::milliseconds delay{};
    std::size_t waiting = 0;
    std::size_t max_waiting = 0;
    std::size_t served = 0;
};

std::string make_response(std::size_t body_bytes, bool close) {
    std::string r = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n";
    if (close) r += "Connection: close\r\n";
    r += "Content-Length: " + std::to_string(body_bytes) + "\r\n\r\n";
    r.append(body_bytes, 'x');
    return r;
}

double cpu_ms() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
    return ms(u.ru_utime) + ms(u.ru_stime);
}

/// The delay `?delay_ms=N` asks for, or the server's own.
std::chrono::milliseconds delay_of(std::string_view target, std::chrono::milliseconds fallback) {
    constexpr std::string_view key = "delay_ms=";
    const auto at = target.find(key);
    if (at == std::string_view::npos) return fallback;
    const char* first = target.data() + at + key.size();
    long ms = 0;
    const auto [end, ec] = std::from_chars(first, target.data() + target.size(), ms);
    if (ec != std::errc{} || end == first || ms < 0) return fallback;
    return std::chrono::milliseconds(ms);
}

asio::awaitable<void> serve(tcp::socket socket, std::shared_ptr<server_state> st) {
    boost::beast::flat_buffer buffer;
    asio::steady_timer timer(socket.get_executor());
    error_code ec;
    for (;;) {
        bhttp::request_parser<bhttp::empty_body> parser;
        co_await bhttp::async_read(socket, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;  // the client closed the connection, or sent garbage
        const auto& req = parser.get();
        const std::string_view target(req.target().data(), req.target().size());
        const bool keep_alive = req.keep_alive();
        if (target == "/stats") {
            const std::string body = "{\"waiting\":" + std::to_string(st->waiting) +
                                     ",\"max_waiting\":" + std::to_string(st->max_waiting) +
                                     ",\"served\":" + std::to_string(st->served) + ",\"cpu_ms\":" +
                                     std::to_string(static_cast<long long>(cpu_ms())) + "}";
            st->max_waiting = st->waiting;
            const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
                                     std::string(keep_alive ? "" : "Connection: close\r\n") +
                                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
            const std::string answer = head + body;
            co_await asio::async_write(socket, asio::buffer(answer),
                                       asio::redirect_error(asio::use_awaitable, ec));
        } else {
            ++st->waiting;
            st->max_waiting = std::max(st->max_waiting, st->waiting);
            timer.expires_after(delay_of(target, st->delay));
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            --st->waiting;
            const std::string& answer = keep_alive ? st->keep_alive_response : st->close_response;
            co_await asio::async_write(socket, asio::buffer(answer),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) ++st->served;
        }
        if (ec || !keep_alive) break;
    }
    socket.shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<server_state> st) {
    for (;;) {
        error_code ec;
        tcp::socket socket =
            co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) continue;  // e.g. out of descriptors: keep serving the open ones
        socket.set_option(tcp::no_delay(true), ec);
        auto ex = socket.get_executor();
        asio::co_spawn(ex, serve(std::move(socket), st), asio::detached);
    }
}

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "http_origin_server: " << why
              << "\nusage: http_origin_server [--delay-ms D] [--body-bytes N]\n";
    std::exit(2);
}

settings parse_args(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) usage(arg + " needs a value");
        const long value = std::strtol(argv[++i], nullptr, 10);
        if (value < 0) usage(arg + " must not be negative");
        if (arg == "--delay-ms") {
            s.delay = std::chrono::milliseconds(value);
        } else if (arg == "--body-bytes") {
            s.body_bytes = static_cast<std::size_t>(value);
        } else {
            usage("unknown option " + arg);
        }
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const settings s = parse_args(argc, argv);
    auto st = std::make_shared<server_state>();
    st->keep_alive_response = make_response(s.body_bytes, false);
    st->close_response = make_response(s.body_bytes, true);
    st->delay = s.delay;

    asio::io_context io(1);  // one thread: no locking inside Asio
    tcp::acceptor acceptor(io);
    const tcp::endpoint where(asio::ip::address_v4::loopback(), 0);
    acceptor.open(where.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(where);
    // Unlimited clients open 1,000 connections at once.
    acceptor.listen(asio::socket_base::max_listen_connections);

    asio::signal_set stop(io, SIGINT, SIGTERM);
    stop.async_wait([&](error_code, int) {
        error_code ignored;
        acceptor.close(ignored);
        io.stop();
    });
    asio::co_spawn(io, accept_loop(acceptor, st), asio::detached);

    std::cout << acceptor.local_endpoint().port() << std::endl;
    io.run();
    std::cerr << "http_origin_server: served " << st->served << " responses, cpu " << cpu_ms()
              << " ms\n";
    return 0;
}
