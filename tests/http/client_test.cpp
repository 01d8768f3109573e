#include <muster/http/client.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/gather.hpp>
#include <muster/core/scope.hpp>
#include <muster/http.hpp>

#include "../core/run_returns.hpp"
#include "../core/test_support.hpp"
#include "test_server.hpp"

namespace client_test {

namespace {

namespace asio = boost::asio;
namespace http = muster::http;
using namespace std::chrono_literals;
using muster::clock;
using muster::status;
using muster_test::run;
using muster_test::test_server;
using ::testing::HasSubstr;
using ::testing::Not;

/// The kind of the `muster::http::error` in `e`; fails the test for any
/// other exception.
http::error_kind kind_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const http::error& err) {
        return err.kind();
    } catch (const std::exception& other) {
        ADD_FAILURE() << "not a muster::http::error: " << other.what();
    }
    return http::error_kind::invalid_request;
}

/// The error `task` throws (a test failure when it succeeds).
template <class T>
asio::awaitable<std::exception_ptr> error_of(asio::awaitable<T> task) {
    try {
        co_await std::move(task);
    } catch (...) {
        co_return std::current_exception();
    }
    ADD_FAILURE() << "the request succeeded";
    co_return nullptr;
}

/// Polls `pred` for up to two seconds.
template <class Pred>
bool eventually(Pred pred) {
    const auto give_up = clock::now() + 2s;
    while (!pred()) {
        if (clock::now() > give_up) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

class ClientTest : public ::testing::Test {
  protected:
    test_server server;
};

asio::awaitable<http::response> get_once(std::string url, http::options o) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, o};
    co_return co_await c.get(std::move(url));
}

asio::awaitable<http::response> send_once(http::request r) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex};
    auto sending = c.request(std::move(r));
    co_return co_await std::move(sending);
}

TEST_F(ClientTest, GetReturnsStatusHeadersAndBody) {
    auto r = run(get_once(server.url("/ok"), {}));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.reason, "OK");
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(r.headers.get("x-test"), "yes");
    EXPECT_EQ(r.headers.get("Content-Length"), "5");
}

TEST_F(ClientTest, ChunkedBodyIsDecoded) {
    auto r = run(get_once(server.url("/chunked"), {}));
    EXPECT_EQ(r.body, "hello world");
}

TEST_F(ClientTest, PostSendsMethodAndBody) {
    http::request req;
    req.method = "POST";
    req.url = server.url("/echo");
    req.headers.set("Content-Type", "text/plain");
    req.body = "payload";
    auto r = run(send_once(std::move(req)));
    EXPECT_EQ(r.body, "POST:payload");
}

TEST_F(ClientTest, HeadResponseHasNoBody) {
    http::request req;
    req.method = "HEAD";
    req.url = server.url("/ok");
    auto r = run(send_once(std::move(req)));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "");
}

TEST_F(ClientTest, ErrorStatusIsAResponseNotAnError) {
    auto r = run(get_once(server.url("/missing"), {}));
    EXPECT_EQ(r.status, 404);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.body, "not found");
}

asio::awaitable<http::pool_stats> get_n_times(std::string url, std::string origin, int n) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex};
    for (int i = 0; i < n; ++i) {
        auto r = co_await c.get(url);
        if (r.status != 200) throw std::runtime_error("unexpected status");
    }
    co_return c.stats(origin);
}

TEST_F(ClientTest, KeepAliveReusesOneConnection) {
    auto s = run(get_n_times(server.url("/ok"), server.origin(), 10));
    EXPECT_EQ(server.accepted(), 1u);
    EXPECT_EQ(server.requests(), 10u);
    EXPECT_EQ(s.opened, 1u);
    EXPECT_EQ(s.idle, 1u);
    EXPECT_EQ(s.in_use, 0u);
}

/// A client that outlives `io.run()`, as one made in `main` does: once the
/// last request is done, its idle keep-alive connection (and its idle
/// timeout) holds no work, so `io.run()` returns without a `close_idle()`;
/// the connection is still pooled and serves the next run.
TEST_F(ClientTest, IoRunReturnsWhileAKeepAliveConnectionIsIdle) {
    asio::io_context io;
    http::options o;
    o.idle_timeout = 1h;
    http::client c{io.get_executor(), o};
    int status = 0;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { status = (co_await c.get(server.url("/ok"))).status; },
        asio::detached);
    ASSERT_TRUE(muster_test::run_returns(io)) << "an idle connection kept io.run() from returning";
    EXPECT_EQ(status, 200);
    EXPECT_EQ(c.stats(server.origin()).idle, 1u);

    io.restart();
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { status = (co_await c.get(server.url("/ok"))).status; },
        asio::detached);
    ASSERT_TRUE(muster_test::run_returns(io));
    EXPECT_EQ(status, 200);
    EXPECT_EQ(server.accepted(), 1u);
}

TEST_F(ClientTest, ConnectionCloseIsNotReused) {
    auto s = run(get_n_times(server.url("/close"), server.origin(), 3));
    EXPECT_EQ(server.accepted(), 3u);
    EXPECT_EQ(s.idle, 0u);
}

asio::awaitable<muster::results<http::response>> gather_gets(std::vector<std::string> urls,
                                                             http::options ho, muster::options o) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, ho};
    auto fetch = [c](const std::string& u) { return c.get(u); };
    auto tasks = urls | std::views::transform(fetch);
    co_return co_await muster::gather(tasks, o);
}

TEST_F(ClientTest, PerOriginLimitIsObservedByTheServer) {
    http::options ho;
    ho.max_connections_per_origin = 4;
    std::vector<std::string> urls(40, server.url("/ok?delay=20"));
    auto r = run(gather_gets(urls, ho, {}));
    EXPECT_TRUE(r.all_ok());
    EXPECT_LE(server.max_open(), 4u);
    EXPECT_EQ(server.accepted(), 4u);
    EXPECT_EQ(server.requests(), 40u);
}

TEST_F(ClientTest, StalePooledConnectionIsRetriedOnceForGet) {
    auto s = run(get_n_times(server.url("/flaky"), server.origin(), 2));
    EXPECT_EQ(server.accepted(), 2u);  // the second request moved to a fresh connection
    EXPECT_EQ(s.opened, 2u);
}

asio::awaitable<std::exception_ptr> post_twice(std::string url) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex};
    http::request req;
    req.method = "POST";
    req.url = url;
    req.body = "x";
    auto first = c.request(req);
    co_await std::move(first);
    auto second = error_of(c.request(req));
    co_return co_await std::move(second);
}

TEST_F(ClientTest, StalePooledConnectionIsNotRetriedForPost) {
    auto e = run(post_twice(server.url("/flaky")));
    EXPECT_EQ(kind_of(e), http::error_kind::closed);
    EXPECT_EQ(server.accepted(), 1u);
}

TEST_F(ClientTest, HostileServersFailOnlyTheirOwnRequests) {
    const std::vector<std::pair<std::string, http::error_kind>> hostile{
        {"/never", http::error_kind::timeout},
        {"/slow", http::error_kind::timeout},
        {"/truncate", http::error_kind::closed},
        {"/badchunk", http::error_kind::protocol},
        {"/reset", http::error_kind::closed},
        {"/bigheaders", http::error_kind::header_too_large},
        {"/endless", http::error_kind::body_too_large},
    };
    std::vector<std::string> urls;
    for (const auto& [path, kind] : hostile) urls.push_back(server.url(path));
    for (int i = 0; i < 100; ++i) urls.push_back(server.url("/ok?delay=20"));
    http::options ho;
    ho.request_timeout = 1500ms;
    ho.max_body_size = 1 << 20;
    const auto start = clock::now();
    auto r = run(gather_gets(urls, ho, {}));
    EXPECT_LT(clock::now() - start, 5s);
    ASSERT_EQ(r.size(), urls.size());
    for (std::size_t i = 0; i < hostile.size(); ++i) {
        SCOPED_TRACE(hostile[i].first);
        ASSERT_EQ(r[i].status(), status::failed) << r[i].message();
        EXPECT_EQ(kind_of(r[i].error()), hostile[i].second) << r[i].message();
        EXPECT_THAT(r[i].message(), HasSubstr(hostile[i].first));
    }
    for (std::size_t i = hostile.size(); i < urls.size(); ++i) {
        ASSERT_TRUE(r[i].ok()) << i << ": " << r[i].message();
        EXPECT_EQ(r[i].value().body, "hello");
    }
}

TEST_F(ClientTest, ConnectionRefusedIsAConnectError) {
    const auto port = muster_test::unused_port();
    auto e = run(error_of(get_once("http://127.0.0.1:" + std::to_string(port) + "/", {})));
    EXPECT_EQ(kind_of(e), http::error_kind::connect);
}

TEST_F(ClientTest, InvalidUrlIsAnInvalidUrlError) {
    for (const char* bad :
         {"ftp://127.0.0.1/", "http://", "127.0.0.1:80/x", "http://user@127.0.0.1/",
          "http://127.0.0.1:99999/", "http://127.0.0.1/a b"}) {
        SCOPED_TRACE(bad);
        auto e = run(error_of(get_once(bad, {})));
        EXPECT_EQ(kind_of(e), http::error_kind::invalid_url);
    }
}

/// Gathers `urls`, then checks the pool is empty and (within a second) that
/// the server saw every connection closed, then makes one more request.
asio::awaitable<std::pair<muster::results<http::response>, http::pool_stats>> time_out_then_get(
    std::vector<std::string> urls, const test_server* server, http::options ho, muster::options o) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, ho};
    auto fetch = [c](const std::string& u) { return c.get(u); };
    auto tasks = urls | std::views::transform(fetch);
    auto r = co_await muster::gather(tasks, o);
    const auto after = c.stats(server->origin());
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (int i = 0; i < 200 && server->open() > 0; ++i) {
        t.expires_after(5ms);
        co_await t.async_wait(asio::use_awaitable);
    }
    if (server->open() > 0) throw std::runtime_error("the server still sees open connections");
    auto ok = co_await c.get(server->url("/ok"));  // a slot is free again
    if (ok.status != 200) throw std::runtime_error("unexpected status");
    co_return std::pair{std::move(r), after};
}

TEST_F(ClientTest, TaskTimeoutClosesTheConnectionAndFreesTheSlot) {
    http::options ho;
    ho.max_connections_per_origin = 2;
    muster::options o;
    o.task_timeout = 100ms;
    const std::vector<std::string> urls(2, server.url("/never"));
    const auto start = clock::now();
    auto [r, after] = run(time_out_then_get(urls, &server, ho, o));
    EXPECT_LT(clock::now() - start, 1s);
    for (std::size_t i = 0; i < r.size(); ++i)
        EXPECT_EQ(r[i].status(), status::timed_out) << i << ": " << r[i].message();
    EXPECT_EQ(after.in_use, 0u);
    EXPECT_EQ(after.idle, 0u);
    EXPECT_EQ(after.waiting, 0u);
    EXPECT_EQ(server.accepted(), 3u);
}

TEST_F(ClientTest, CancelledWaitersLeaveTheQueue) {
    http::options ho;
    ho.max_connections_per_origin = 1;
    muster::options o;
    o.task_timeout = 150ms;
    const std::vector<std::string> urls(4, server.url("/never"));
    auto [r, after] = run(time_out_then_get(urls, &server, ho, o));
    for (std::size_t i = 0; i < r.size(); ++i)
        EXPECT_EQ(r[i].status(), status::timed_out) << i << ": " << r[i].message();
    EXPECT_EQ(after.in_use, 0u);
    EXPECT_EQ(after.waiting, 0u);
    // One /never, possibly more (a slot freed by the first timeout can be
    // handed to a waiter whose own timeout is microseconds later), then the /ok.
    EXPECT_LE(server.accepted(), 5u);
}

TEST_F(ClientTest, DeadlineOfTheCollectionBoundsTheRequest) {
    http::options ho;
    ho.request_timeout = 10s;
    muster::options o;
    o.deadline = clock::now() + 150ms;
    const auto start = clock::now();
    auto r = run(gather_gets({server.url("/never")}, ho, o));
    EXPECT_LT(clock::now() - start, 1s);
    EXPECT_EQ(r[0].status(), status::timed_out);
}

TEST_F(ClientTest, ScopeDeadlineIsATimeoutError) {
    asio::io_context io;
    muster::root_scope scope(clock::now() + 150ms);
    std::exception_ptr e;
    auto task = error_of(get_once(server.url("/never"), {}));
    asio::co_spawn(
        scope.executor(io.get_executor()), std::move(task),
        [&](std::exception_ptr thrown, std::exception_ptr got) { e = thrown ? thrown : got; });
    const auto start = clock::now();
    io.run_for(5s);
    EXPECT_LT(clock::now() - start, 1s);
    ASSERT_TRUE(e);
    EXPECT_EQ(kind_of(e), http::error_kind::timeout);
    try {
        std::rethrow_exception(e);
    } catch (const http::error& err) {
        EXPECT_THAT(err.what(), HasSubstr("deadline of the enclosing scope"));
    }
}

TEST_F(ClientTest, RequestTimeoutEndsASlowResponse) {
    http::options ho;
    ho.request_timeout = 300ms;
    const auto start = clock::now();
    auto e = run(error_of(get_once(server.url("/slow"), ho)));
    EXPECT_LT(clock::now() - start, 1s);
    EXPECT_EQ(kind_of(e), http::error_kind::timeout);
    EXPECT_TRUE(eventually([&] { return server.open() == 0; }));
}

asio::awaitable<std::tuple<muster::outcome<http::response>, muster::outcome<http::response>>>
hold_then_wait(std::string hold_url, std::string wait_url) {
    http::options ho;
    ho.max_connections_per_origin = 1;
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, ho};
    http::request hold;
    hold.url = std::move(hold_url);
    http::request wait;
    wait.url = std::move(wait_url);
    wait.timeout = 200ms;
    muster::options o;
    o.deadline = clock::now() + 600ms;
    auto a = c.request(std::move(hold));
    auto b = c.request(std::move(wait));
    co_return co_await muster::gather(o, std::move(a), std::move(b));
}

TEST_F(ClientTest, WaitingForAFreeConnectionTimesOut) {
    const auto start = clock::now();
    auto [hold, waiting] = run(hold_then_wait(server.url("/never"), server.url("/ok")));
    EXPECT_LT(clock::now() - start, 2s);
    EXPECT_EQ(hold.status(), status::timed_out);
    ASSERT_EQ(waiting.status(), status::failed);
    EXPECT_EQ(kind_of(waiting.error()), http::error_kind::timeout);
    EXPECT_THAT(waiting.message(), HasSubstr("no connection became free"));
}

TEST_F(ClientTest, TraceIdOfTheInvocationIsSent) {
    ::setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", 1);
    auto r = run(get_once(server.url("/headers"), {}));
    http::options off;
    off.send_trace_id = false;
    auto without = run(get_once(server.url("/headers"), off));
    ::unsetenv("_X_AMZN_TRACE_ID");
    EXPECT_THAT(r.body, HasSubstr("X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793"));
    EXPECT_THAT(without.body, ::testing::Not(HasSubstr("X-Amzn-Trace-Id")));
    auto none = run(get_once(server.url("/headers"), {}));
    EXPECT_THAT(none.body, ::testing::Not(HasSubstr("X-Amzn-Trace-Id")));
}

/// GETs `url` from inside a root scope with `trace_id`, through a `gather`
/// (as a handler's fan-out would), with a different trace id in the
/// environment.
asio::awaitable<http::response> get_in_root_scope(std::string url, std::string trace_id) {
    auto ex = co_await asio::this_coro::executor;
    muster::root_scope scope(clock::time_point::max(), std::move(trace_id));
    auto fetch = [](std::string u) -> asio::awaitable<http::response> {
        // (Named first: GCC 12 destroys temporaries of a co_await twice.)
        auto task = get_once(std::move(u), {});
        auto [r] = co_await muster::gather(muster::options{}, std::move(task));
        co_return std::move(r).value();
    };
    auto spawned = asio::co_spawn(scope.executor(ex), fetch(std::move(url)), asio::use_awaitable);
    co_return co_await std::move(spawned);
}

TEST_F(ClientTest, TraceIdOfTheRootScopeIsSent) {
    // Two invocations at once each carry their own; the environment's (what
    // a runtime sets when it runs one at a time) gives way to the scope's.
    ::setenv("_X_AMZN_TRACE_ID", "Root=1-00000000-000000000000000000000000", 1);
    auto both = run([this]() -> asio::awaitable<std::pair<http::response, http::response>> {
        auto ex = co_await asio::this_coro::executor;
        auto a = asio::co_spawn(ex, get_in_root_scope(server.url("/headers"), "Root=1-a"),
                                asio::use_awaitable);
        auto b_task = get_in_root_scope(server.url("/headers"), "Root=1-b");
        auto b = co_await std::move(b_task);
        auto a_done = co_await std::move(a);
        co_return std::pair{std::move(a_done), std::move(b)};
    }());
    ::unsetenv("_X_AMZN_TRACE_ID");
    EXPECT_THAT(both.first.body, HasSubstr("X-Amzn-Trace-Id: Root=1-a\r\n"));
    EXPECT_THAT(both.second.body, HasSubstr("X-Amzn-Trace-Id: Root=1-b\r\n"));
}

TEST_F(ClientTest, RedirectsAreReturnedUnlessFollowed) {
    auto r = run(get_once(server.url("/redirect?to=/ok"), {}));
    EXPECT_EQ(r.status, 302);
    EXPECT_EQ(r.headers.get("Location"), "/ok");
}

TEST_F(ClientTest, RedirectsAreFollowedWhenAsked) {
    http::options o;
    o.follow_redirects = true;
    auto r = run(get_once(server.url("/redirect?to=/ok"), o));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello");
}

TEST_F(ClientTest, RelativeRedirectRemovesDotSegments) {
    http::options o;
    o.follow_redirects = true;
    // From /redirect, "../../ok" is /ok (RFC 3986 5.2.4), not /../../ok.
    auto r = run(get_once(server.url("/redirect?to=../../ok"), o));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello");
}

TEST_F(ClientTest, RedirectLoopIsTooManyRedirects) {
    http::options o;
    o.follow_redirects = true;
    o.max_redirects = 3;
    auto e = run(error_of(get_once(server.url("/loop"), o)));
    EXPECT_EQ(kind_of(e), http::error_kind::too_many_redirects);
    EXPECT_EQ(server.requests(), 4u);
}

/// A GET of `url` following redirects, with a SigV4-signed request's fields
/// (and the other credentials a client sends) plus one harmless field.
asio::awaitable<http::response> signed_get(std::string url) {
    http::options o;
    o.follow_redirects = true;
    http::client c{co_await asio::this_coro::executor, o};
    http::request req;
    req.url = std::move(url);
    req.headers = {{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x, Signature=s1"},
                   {"X-Amz-Date", "20261206T120000Z"},
                   {"x-amz-security-token", "SESSIONTOKEN"},
                   {"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"},
                   {"X-Amz-Server-Side-Encryption-Customer-Key", "KEYBYTES"},
                   {"Proxy-Authorization", "Basic cHJveHk6cHc="},
                   {"Cookie", "session=COOKIE"},
                   {"X-Trace-Me", "kept"}};
    auto sending = c.request(std::move(req));
    co_return co_await std::move(sending);
}

TEST_F(ClientTest, CrossOriginRedirectDropsEveryCredentialHeader) {
    test_server other;  // another port of 127.0.0.1: another origin
    auto r = run(signed_get(server.url("/redirect?to=" + other.url("/headers"))));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(other.requests(), 1u);
    for (const char* secret : {"AKIDEXAMPLE", "20261206T120000Z", "SESSIONTOKEN",
                               "UNSIGNED-PAYLOAD", "KEYBYTES", "cHJveHk6cHc=", "COOKIE"}) {
        EXPECT_THAT(r.body, Not(HasSubstr(secret))) << r.body;
    }
    EXPECT_THAT(r.body, HasSubstr("X-Trace-Me: kept\r\n"));
}

TEST_F(ClientTest, SameOriginRedirectKeepsTheSignedRequest) {
    auto r = run(signed_get(server.url("/redirect?to=/headers")));
    ASSERT_EQ(r.status, 200);
    for (const char* field :
         {"Authorization: AWS4-HMAC-SHA256", "X-Amz-Date: 20261206T120000Z",
          "x-amz-security-token: SESSIONTOKEN", "Cookie: session=COOKIE", "X-Trace-Me: kept"}) {
        EXPECT_THAT(r.body, HasSubstr(field));
    }
}

asio::awaitable<http::response> post_with(std::string url, http::options o) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, o};
    http::request req;
    req.method = "POST";
    req.url = std::move(url);
    req.body = "data";
    auto sending = c.request(std::move(req));
    co_return co_await std::move(sending);
}

TEST_F(ClientTest, SeeOtherTurnsAPostIntoAGet) {
    http::options o;
    o.follow_redirects = true;
    auto r = run(post_with(server.url("/redirect?to=/echo&status=303"), o));
    EXPECT_EQ(r.body, "GET:");
    auto kept = run(post_with(server.url("/redirect?to=/echo&status=307"), o));
    EXPECT_EQ(kept.body, "POST:data");
}

http::options retrying(unsigned attempts) {
    http::options o;
    o.retry.attempts = attempts;
    o.retry.initial_backoff = 1ms;
    o.retry.max_backoff = 5ms;
    return o;
}

TEST_F(ClientTest, BusyResponsesAreRetriedForIdempotentRequests) {
    auto r = run(get_once(server.url("/busy?n=2"), retrying(3)));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ready");
    EXPECT_EQ(server.requests(), 3u);
}

TEST_F(ClientTest, LastBusyResponseIsReturnedWhenAttemptsRunOut) {
    auto r = run(get_once(server.url("/busy?n=5"), retrying(2)));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(server.requests(), 2u);
}

TEST_F(ClientTest, PostIsNotRetried) {
    auto r = run(post_with(server.url("/busy?n=1"), retrying(3)));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(server.requests(), 1u);
}

TEST_F(ClientTest, RetryAfterPastTheDeadlineIsNotWaitedFor) {
    auto o = retrying(3);
    o.request_timeout = 2s;
    const auto start = clock::now();
    auto r = run(get_once(server.url("/busy?n=1&after=30"), o));
    EXPECT_LT(clock::now() - start, 1s);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(server.requests(), 1u);
}

TEST_F(ClientTest, RetryAfterAsAnHttpDateIsHonoured) {
    // A date already past: retried at once.
    auto o = retrying(3);
    o.request_timeout = 2s;
    auto past = run(get_once(server.url("/busy?n=1&after_date=-5"), o));
    EXPECT_EQ(past.status, 200);
    EXPECT_EQ(server.requests(), 2u);
    // A date 30 s ahead is past the request's deadline: not waited for.
    const auto start = clock::now();
    auto later = run(get_once(server.url("/busy?n=3&after_date=30"), o));
    EXPECT_LT(clock::now() - start, 1s);
    EXPECT_EQ(later.status, 503);
    EXPECT_EQ(server.requests(), 3u);
}

TEST_F(ClientTest, ConnectionErrorsAreRetried) {
    const auto port = muster_test::unused_port();
    auto e = run(error_of(get_once("http://127.0.0.1:" + std::to_string(port) + "/", retrying(3))));
    EXPECT_EQ(kind_of(e), http::error_kind::connect);
}

TEST_F(ClientTest, CorruptGzipIsAProtocolError) {
    http::options o;
    o.decompress = true;
    auto e = run(error_of(get_once(server.url("/badgzip"), o)));
    EXPECT_EQ(kind_of(e), http::error_kind::protocol);
    auto raw = run(get_once(server.url("/badgzip"), {}));
    EXPECT_EQ(raw.body, "not gzip!");
}

/// What a sink received, and the response.
struct streamed {
    http::response response;
    std::string received;
    std::size_t pieces = 0;
};

asio::awaitable<streamed> stream_once(std::string url, http::options o) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, o};
    auto out = std::make_shared<streamed>();
    http::body_sink sink = [out](std::string_view piece) {
        out->received.append(piece);
        ++out->pieces;
    };
    http::request req;
    req.url = std::move(url);
    auto sending = c.request(std::move(req), std::move(sink));
    out->response = co_await std::move(sending);
    co_return std::move(*out);
}

TEST_F(ClientTest, BodyStreamsToASink) {
    auto s = run(stream_once(server.url("/ok?size=300000"), {}));
    EXPECT_EQ(s.response.status, 200);
    EXPECT_EQ(s.response.body, "");
    EXPECT_EQ(s.received, std::string(300000, 'x'));
    EXPECT_GE(s.pieces, 2u);  // never one piece of 300 KB
}

TEST_F(ClientTest, StreamedChunkedBodyIsDecoded) {
    auto s = run(stream_once(server.url("/chunked"), {}));
    EXPECT_EQ(s.received, "hello world");
}

TEST_F(ClientTest, StreamedBodyHasItsOwnLimit) {
    http::options o;
    o.max_streamed_body_size = 1 << 20;
    auto e = run(error_of(stream_once(server.url("/endless"), o)));
    EXPECT_EQ(kind_of(e), http::error_kind::body_too_large);
}

TEST_F(ClientTest, OnlyTheFinalBodyReachesTheSink) {
    http::options o = retrying(3);
    o.follow_redirects = true;
    auto redirected = run(stream_once(server.url("/redirect?to=/busy"), o));
    // /redirect -> /busy (503, retried) -> /busy (503, retried) -> /busy (200)
    EXPECT_EQ(redirected.response.status, 200);
    EXPECT_EQ(redirected.received, "ready");
}

TEST_F(ClientTest, SinkGetsAnUnretriedBusyBody) {
    auto s = run(stream_once(server.url("/busy?n=5"), retrying(2)));
    EXPECT_EQ(s.response.status, 503);
    EXPECT_EQ(s.received, "busy");
}

TEST_F(ClientTest, CorruptGzipOnItsWayToASinkIsAProtocolError) {
    http::options o;
    o.decompress = true;
    auto e = run(error_of(stream_once(server.url("/badgzip"), o)));
    EXPECT_EQ(kind_of(e), http::error_kind::protocol);
}

TEST_F(ClientTest, PlainHttpGoesThroughTheProxy) {
    muster_test::test_proxy proxy;
    http::options o;
    o.http_proxy = proxy.url();
    run(get_n_times(server.url("/ok"), server.origin(), 3));
    EXPECT_EQ(proxy.forwarded(), 0u);  // no proxy without the option
    auto via = [](std::string url, http::options ho) -> asio::awaitable<int> {
        auto ex = co_await asio::this_coro::executor;
        http::client c{ex, ho};
        int ok = 0;
        for (int i = 0; i < 3; ++i) {
            auto r = co_await c.get(url);
            ok += r.status == 200 ? 1 : 0;
        }
        co_return ok;
    };
    EXPECT_EQ(run(via(server.url("/ok"), o)), 3);
    EXPECT_EQ(proxy.forwarded(), 1u);  // one connection to the proxy, reused
    EXPECT_EQ(server.requests(), 6u);
}

TEST_F(ClientTest, NoProxyBypassesTheProxy) {
    muster_test::test_proxy proxy;
    http::options o;
    o.http_proxy = proxy.url();
    o.no_proxy = "example.com, 127.0.0.1";
    auto r = run(get_once(server.url("/ok"), o));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(proxy.forwarded(), 0u);
}

TEST_F(ClientTest, ProxyFromTheEnvironmentSkipsLoopback) {
    muster_test::test_proxy proxy;
    ::setenv("HTTP_PROXY", proxy.url().c_str(), 1);
    auto r = run(get_once(server.url("/ok"), {}));
    ::unsetenv("HTTP_PROXY");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(proxy.forwarded(), 0u);
}

TEST_F(ClientTest, UnreachableProxyIsAConnectError) {
    http::options o;
    o.http_proxy = "127.0.0.1:" + std::to_string(muster_test::unused_port());
    auto e = run(error_of(get_once(server.url("/ok"), o)));
    EXPECT_EQ(kind_of(e), http::error_kind::connect);
    try {
        std::rethrow_exception(e);
    } catch (const http::error& err) {
        EXPECT_THAT(err.what(), HasSubstr("proxy"));
    }
}

TEST_F(ClientTest, InvalidProxyIsRejected) {
    asio::io_context io;
    http::options o;
    o.http_proxy = "ftp://127.0.0.1:1";
    EXPECT_THROW(http::client(io.get_executor(), o), std::invalid_argument);
}

TEST_F(ClientTest, InvalidOptionsAreRejected) {
    asio::io_context io;
    http::options ho;
    ho.max_connections_per_origin = 0;
    EXPECT_THROW(http::client(io.get_executor(), ho), std::invalid_argument);
}

}  // namespace

}  // namespace client_test
