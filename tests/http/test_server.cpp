#include "test_server.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string_view>

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace muster_test {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

/// Counts one open connection for as long as it lives.
struct open_guard {
    explicit open_guard(test_server::counters c) : c_(c) {
        const auto now = c_.open->fetch_add(1) + 1;
        auto seen = c_.max_open->load();
        while (seen < now && !c_.max_open->compare_exchange_weak(seen, now)) {
        }
    }
    ~open_guard() { c_.open->fetch_sub(1); }
    open_guard(const open_guard&) = delete;
    open_guard& operator=(const open_guard&) = delete;
    test_server::counters c_;
};

/// `when` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
std::string http_date(std::chrono::system_clock::time_point when) {
    const std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[64];
    const std::size_t n = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(text, n);
}

std::string query_value(std::string_view target, std::string_view key) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return {};
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == key && eq != std::string_view::npos)
            return std::string(pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return {};
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

/// `data` lives in the caller's frame, which awaits this at once.
asio::awaitable<void> write_all(tcp::socket& s, std::string_view data) {
    co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
}

std::string ok_response(const std::string& body, bool close = false) {
    std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Test: yes\r\n";
    if (close) r += "Connection: close\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return r;
}

/// Serves one connection until it closes. Returns when the connection is
/// done; any error just ends it.
asio::awaitable<void> serve(tcp::socket s, test_server::counters counters,
                            std::atomic<std::size_t>* requests) {
    open_guard guard(counters);
    asio::streambuf in;
    std::size_t served = 0;
    try {
        for (;;) {
            const std::size_t n =
                co_await asio::async_read_until(s, in, "\r\n\r\n", asio::use_awaitable);
            std::string head(asio::buffers_begin(in.data()),
                             asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(n));
            in.consume(n);
            requests->fetch_add(1);
            const auto sp1 = head.find(' ');
            const auto sp2 = head.find(' ', sp1 + 1);
            const std::string method = head.substr(0, sp1);
            std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
            if (target.starts_with("http://")) {  // absolute form, through a proxy
                const auto slash = target.find('/', 7);
                target = slash == std::string::npos ? "/" : target.substr(slash);
            }
            const std::string path = target.substr(0, target.find('?'));
            std::size_t content_length = 0;
            const std::string lhead = lower(head);
            if (auto p = lhead.find("\r\ncontent-length:"); p != std::string::npos)
                content_length = std::strtoul(lhead.c_str() + p + 17, nullptr, 10);
            std::string body;
            if (content_length > 0) {
                if (in.size() < content_length)
                    co_await asio::async_read(s, in,
                                              asio::transfer_exactly(content_length - in.size()),
                                              asio::use_awaitable);
                body.assign(
                    asio::buffers_begin(in.data()),
                    asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(content_length));
                in.consume(content_length);
            }
            ++served;

            if (path == "/ok") {
                if (auto d = query_value(target, "delay"); !d.empty())
                    co_await sleep_for(std::chrono::milliseconds(std::stoi(d)));
                std::string payload = "hello";
                if (auto sz = query_value(target, "size"); !sz.empty())
                    payload.assign(std::stoul(sz), 'x');
                const std::string out = ok_response(method == "HEAD" ? std::string() : payload);
                co_await write_all(s, out);
            } else if (path == "/headers") {
                const std::string out = ok_response(head);
                co_await write_all(s, out);
            } else if (path == "/redirect" || path == "/loop") {
                std::string to = path == "/loop" ? "/loop" : query_value(target, "to");
                std::string code = query_value(target, "status");
                if (code.empty()) code = "302";
                const std::string out = "HTTP/1.1 " + code + " Redirect\r\nLocation: " + to +
                                        "\r\nContent-Length: 0\r\n\r\n";
                co_await write_all(s, out);
            } else if (path == "/busy") {
                std::string n = query_value(target, "n");
                std::string after = query_value(target, "after");
                if (after.empty()) after = "0";
                if (auto in = query_value(target, "after_date"); !in.empty())
                    after = http_date(std::chrono::system_clock::now() +
                                      std::chrono::seconds(std::stoi(in)));
                const std::size_t failures = n.empty() ? 2 : std::stoul(n);
                if (counters.busy->fetch_add(1) < failures) {
                    const std::string out =
                        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + after +
                        "\r\nContent-Length: 4\r\n\r\nbusy";
                    co_await write_all(s, out);
                } else {
                    const std::string out = ok_response("ready");
                    co_await write_all(s, out);
                }
            } else if (path == "/badgzip") {
                co_await write_all(s,
                                   "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                                   "Content-Length: 9\r\n\r\nnot gzip!");
            } else if (path == "/chunked") {
                co_await write_all(s,
                                   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n");
            } else if (path == "/echo") {
                const std::string out = ok_response(method + ":" + body);
                co_await write_all(s, out);
            } else if (path == "/close") {
                const std::string out = ok_response("bye", true);
                co_await write_all(s, out);
                co_return;
            } else if (path == "/flaky") {
                if (served > 1) co_return;  // the keep-alive race: closed unanswered
                const std::string out = ok_response("flaky");
                co_await write_all(s, out);
            } else if (path == "/never") {
                // Read until the client gives up, so its close is seen here.
                char buf[256];
                for (;;) co_await s.async_read_some(asio::buffer(buf), asio::use_awaitable);
            } else if (path == "/slow") {
                const std::string r = ok_response("slow");
                for (std::size_t i = 0; i < r.size(); ++i) {
                    co_await write_all(s, std::string_view(r).substr(i, 1));
                    co_await sleep_for(1s);
                }
            } else if (path == "/truncate") {
                co_await write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789");
                co_return;
            } else if (path == "/badchunk") {
                co_await write_all(s,
                                   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "5\r\nhello\r\nzz\r\nbroken\r\n0\r\n\r\n");
                co_await sleep_for(5s);
                co_return;
            } else if (path == "/reset") {
                const std::string out =
                    "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(100, 'r');
                co_await write_all(s, out);
                co_await sleep_for(20ms);
                s.set_option(asio::socket_base::linger(true, 0));
                s.close();
                co_return;
            } else if (path == "/bigheaders") {
                std::string h = "HTTP/1.1 200 OK\r\n";
                for (int i = 0; h.size() < (1u << 20); ++i)
                    h += "X-Filler-" + std::to_string(i) + ": " + std::string(200, 'f') + "\r\n";
                h += "Content-Length: 2\r\n\r\nok";
                co_await write_all(s, h);
            } else if (path == "/endless") {
                co_await write_all(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                const std::string chunk = "10000\r\n" + std::string(0x10000, 'e') + "\r\n";
                for (;;) co_await write_all(s, chunk);
            } else {
                co_await write_all(s,
                                   "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
            }
        }
    } catch (...) {
        // The client went away or reset: the connection is over.
    }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::atomic<std::size_t>* accepted,
                                  test_server::counters counters,
                                  std::atomic<std::size_t>* requests) {
    for (;;) {
        tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
        accepted->fetch_add(1);
        auto conn = serve(std::move(s), counters, requests);
        asio::co_spawn(acceptor.get_executor(), std::move(conn), asio::detached);
    }
}

/// Copies `from` to `to` until either side ends, then closes both.
asio::awaitable<void> copy_until_closed(std::shared_ptr<tcp::socket> from,
                                        std::shared_ptr<tcp::socket> to) {
    char buf[16384];
    try {
        for (;;) {
            const std::size_t n =
                co_await from->async_read_some(asio::buffer(buf), asio::use_awaitable);
            co_await asio::async_write(*to, asio::buffer(buf, n), asio::use_awaitable);
        }
    } catch (...) {
    }
    boost::system::error_code ignored;
    from->close(ignored);
    to->close(ignored);
}

asio::awaitable<void> proxy_connection(tcp::socket client_socket, bool refuse,
                                       std::atomic<std::size_t>* tunnels,
                                       std::atomic<std::size_t>* forwarded) {
    auto client = std::make_shared<tcp::socket>(std::move(client_socket));
    try {
        asio::streambuf in;
        const std::size_t n =
            co_await asio::async_read_until(*client, in, "\r\n\r\n", asio::use_awaitable);
        const std::string head(asio::buffers_begin(in.data()),
                               asio::buffers_begin(in.data()) + static_cast<std::ptrdiff_t>(n));
        in.consume(n);
        const auto sp1 = head.find(' ');
        const auto sp2 = head.find(' ', sp1 + 1);
        const std::string method = head.substr(0, sp1);
        std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
        std::string authority;
        if (method == "CONNECT") {
            authority = target;
        } else if (target.starts_with("http://")) {
            authority = target.substr(7, target.find('/', 7) - 7);
        } else {
            const std::string out = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
            co_await write_all(*client, out);
            co_return;
        }
        if (method == "CONNECT" && refuse) {
            const std::string out = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
            co_await write_all(*client, out);
            co_return;
        }
        const auto colon = authority.rfind(':');
        const auto port = static_cast<unsigned short>(std::stoi(authority.substr(colon + 1)));
        auto upstream = std::make_shared<tcp::socket>(client->get_executor());
        const tcp::endpoint destination(asio::ip::make_address(authority.substr(0, colon)), port);
        co_await upstream->async_connect(destination, asio::use_awaitable);
        if (method == "CONNECT") {
            tunnels->fetch_add(1);
            const std::string out = "HTTP/1.1 200 Connection established\r\n\r\n";
            co_await write_all(*client, out);
        } else {
            forwarded->fetch_add(1);
            co_await write_all(*upstream, head);
        }
        if (in.size() > 0) {
            const std::string rest(asio::buffers_begin(in.data()), asio::buffers_end(in.data()));
            co_await write_all(*upstream, rest);
        }
        auto down = copy_until_closed(upstream, client);
        asio::co_spawn(client->get_executor(), std::move(down), asio::detached);
        auto up = copy_until_closed(client, upstream);
        co_await std::move(up);
    } catch (...) {
    }
}

asio::awaitable<void> proxy_accept_loop(tcp::acceptor& acceptor, bool refuse,
                                        std::atomic<std::size_t>* tunnels,
                                        std::atomic<std::size_t>* forwarded) {
    for (;;) {
        tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
        auto conn = proxy_connection(std::move(s), refuse, tunnels, forwarded);
        asio::co_spawn(acceptor.get_executor(), std::move(conn), asio::detached);
    }
}

}  // namespace

test_proxy::test_proxy(bool refuse_connect)
    : refuse_(refuse_connect),
      acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    auto loop = proxy_accept_loop(acceptor_, refuse_, &tunnels_, &forwarded_);
    asio::co_spawn(io_, std::move(loop), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
}

test_proxy::~test_proxy() {
    io_.stop();
    thread_.join();
}

std::string test_proxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

test_server::test_server() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    auto loop =
        accept_loop(acceptor_, &accepted_, counters{&open_, &max_open_, &busy_}, &requests_);
    asio::co_spawn(io_, std::move(loop), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
}

test_server::~test_server() {
    io_.stop();
    thread_.join();
}

std::string test_server::url(const std::string& path) const { return origin() + path; }

std::string test_server::origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::uint16_t unused_port() {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

}  // namespace muster_test
