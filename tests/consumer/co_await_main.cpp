// A program built against an installed muster that writes, inside co_await
// expressions, the one-line forms a user copies from the README and docs:
// options, configurations and arguments written inline. GCC 12 destroys
// some temporaries of such an expression twice; built with the sanitizer of
// the build (AddressSanitizer in the dev preset), any public type that does
// not survive it makes this program fail. Nothing leaves 127.0.0.1: the
// HTTP and S3 calls go to a small server of its own.
#include <muster/aws.hpp>
#include <muster/http.hpp>
#include <muster/muster.hpp>
#include <muster/process_pool.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::string shout(std::string_view in) { return std::string(in) + "!"; }
const muster::work_registrar shout_work{"shout", shout};

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("consumer: ") + what);
}

/// Answers every request on a connection with 200 and the body "ok".
asio::awaitable<void> serve(asio::ip::tcp::socket s) {
    try {
        std::string in;
        for (;;) {
            auto n = co_await asio::async_read_until(s, asio::dynamic_buffer(in), "\r\n\r\n",
                                                     asio::use_awaitable);
            in.erase(0, n);
            std::string_view out =
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok";
            co_await asio::async_write(s, asio::buffer(out), asio::use_awaitable);
        }
    } catch (const std::exception&) {
        // The client closed the connection.
    }
}

asio::awaitable<void> accept_all(asio::ip::tcp::acceptor* a) {
    for (;;) {
        auto s = co_await a->async_accept(asio::use_awaitable);
        asio::co_spawn(a->get_executor(), serve(std::move(s)), asio::detached);
    }
}

asio::awaitable<int> fetch_size(std::string url) {
    // A client with its options written inline, inside a co_await expression.
    muster::http::client c{co_await asio::this_coro::executor, {}};
    auto r = co_await c.get(url);
    co_return static_cast<int>(r.body.size());
}

asio::awaitable<void> consumer(std::string base) {
    // 1. The first line a user writes: a client with default options.
    muster::http::client c{co_await asio::this_coro::executor, {}};
    // 2. ... and with designated initialisers, strings included.
    muster::http::client tuned{co_await asio::this_coro::executor,
                               {.connect_timeout = 5s,
                                .user_agent = "consumer/1.0 (a user agent longer than SSO)",
                                .http_proxy = "",
                                .no_proxy = "*"}};
    // 3. A GET with a URL built in the expression.
    auto r = co_await c.get(base + "/thing");
    check(r.status == 200 && r.body == "ok", "GET");
    check((co_await tuned.get(base + "/tuned")).body == "ok", "GET with tuned options");

    // 4. S3 with string literals, and with its configuration written inline.
    muster::aws::s3 s3{muster::http::client{co_await asio::this_coro::executor, {}},
                       {.credentials = {"AKIDCONSUMER", "consumer-secret-key-longer-than-sso", ""},
                        .region = "eu-west-1",
                        .s3_endpoint = base}};
    auto object = co_await s3.get_object("bucket", "key");
    check(object.body == "ok", "S3 get_object");
    co_await s3.put_object("bucket", "key", "body");
    co_await s3.put_object("bucket", "key.png", "png", {.content_type = "image/png"});

    // 5. A process pool with inline options.
    muster::process_pool pool{co_await asio::this_coro::executor, {.workers = 1}};
    check(co_await pool.run("shout", "hey") == "hey!", "process_pool");

    // 6. gather with inline options, over tasks that themselves build clients.
    std::vector<asio::awaitable<int>> tasks;
    for (int i = 0; i < 4; ++i) tasks.push_back(fetch_size(base + "/" + std::to_string(i)));
    auto results = co_await muster::gather(std::move(tasks), {.limit = 8, .name = "fetches"});
    for (auto& o : results) check(o.value() == 2, "gather");

    // 7. A retry predicate capturing a std::string, the documented way:
    // the predicate and the options named before the co_await.
    std::string needle = "transient failure, please retry (a long message)";
    auto retry_if = [needle](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            return std::string_view(x.what()) == needle;
        }
    };
    muster::options o;
    o.retry.attempts = 3;
    o.retry.initial_backoff = 1ms;
    o.retry.retry_if = retry_if;
    int attempts = 0;
    std::vector<std::function<asio::awaitable<int>()>> flaky;
    flaky.push_back([&attempts, needle]() -> asio::awaitable<int> {
        if (++attempts < 3) throw std::runtime_error(needle);
        co_return 7;
    });
    auto retried = co_await muster::gather(flaky, o);
    check(retried[0].value() == 7 && attempts == 3, "retry predicate");
}

}  // namespace

int main(int argc, char** argv) {
    if (auto code = muster::process_pool::worker_main_if_requested(argc, argv)) return *code;
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    const std::string base = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    asio::co_spawn(io, accept_all(&acceptor), asio::detached);
    int result = 1;
    asio::co_spawn(io, consumer(base), [&](std::exception_ptr e) {
        try {
            if (e) std::rethrow_exception(e);
            result = 0;
        } catch (const std::exception& x) {
            std::fprintf(stderr, "%s\n", x.what());
        }
        acceptor.close();
    });
    io.run();
    return result;
}
