// muster::http against a real web server: Debian's nginx over HTTP and HTTPS.
#include <muster/http/client.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

#include <muster/core/gather.hpp>
#include <muster/http.hpp>

#include "../core/test_support.hpp"
#include "nginx_server.hpp"
#include "test_server.hpp"

namespace nginx_test {

namespace {

namespace asio = boost::asio;
namespace http = muster::http;
using muster_test::nginx_server;
using muster_test::run;
using ::testing::HasSubstr;

class NginxTest : public ::testing::Test {
  protected:
    nginx_server nginx;

    http::options trusting() const {
        http::options o;
        o.extra_ca_file = nginx.ca_file();
        return o;
    }
};

asio::awaitable<http::response> get_once(std::string url, http::options o) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, o};
    co_return co_await c.get(std::move(url));
}

/// The `muster::http::error` that GET `url` throws.
asio::awaitable<http::error> get_error(std::string url, http::options o) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, o};
    std::optional<http::error> caught;
    try {
        co_await c.get(std::move(url));
    } catch (const http::error& e) {
        caught.emplace(e);
    }
    if (!caught) caught.emplace(http::error_kind::invalid_request, "", "the request succeeded");
    co_return *caught;
}

asio::awaitable<std::size_t> get_n_times(std::string url, http::options o, int n) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, o};
    std::size_t bytes = 0;
    for (int i = 0; i < n; ++i) {
        auto r = co_await c.get(url);
        if (r.status != 200) throw std::runtime_error("status " + std::to_string(r.status));
        bytes += r.body.size();
    }
    co_return bytes;
}

asio::awaitable<muster::results<http::response>> gather_gets(std::vector<std::string> urls,
                                                             http::options ho) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, ho};
    auto fetch = [c](const std::string& u) { return c.get(u); };
    auto tasks = urls | std::views::transform(fetch);
    co_return co_await muster::gather(tasks);
}

TEST_F(NginxTest, ServesAFileOverHttp) {
    auto r = run(get_once(nginx.http_url("/small.txt"), {}));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, nginx_server::small_body());
    EXPECT_EQ(r.headers.get("content-length"), "10240");
    EXPECT_THAT(std::string(r.headers.get("server").value_or("")), HasSubstr("nginx"));
}

TEST_F(NginxTest, MissingFileIsA404Response) {
    auto r = run(get_once(nginx.http_url("/nope.txt"), {}));
    EXPECT_EQ(r.status, 404);
}

TEST_F(NginxTest, ServesAFileOverHttpsTrustingTheTestCa) {
    auto r = run(get_once(nginx.https_url("/small.txt"), trusting()));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, nginx_server::small_body());
}

TEST_F(NginxTest, HostNameIsVerifiedAgainstTheCertificate) {
    // "localhost" is one of the certificate's names, sent as SNI.
    auto r = run(get_once(nginx.https_url("/small.txt", "localhost"), trusting()));
    EXPECT_EQ(r.status, 200);
}

TEST_F(NginxTest, ExtraCaCanBeGivenAsPemText) {
    http::options o;
    o.extra_ca_pem = nginx.ca_pem();
    auto r = run(get_once(nginx.https_url("/small.txt"), o));
    EXPECT_EQ(r.status, 200);
}

TEST_F(NginxTest, UnknownCaIsATlsError) {
    auto e = run(get_error(nginx.https_url("/small.txt"), {}));
    EXPECT_EQ(e.kind(), http::error_kind::tls) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("certificate verification failed"));
}

TEST_F(NginxTest, WrongHostIsATlsError) {
    auto e = run(get_error(nginx.wrong_host_url("/small.txt"), trusting()));
    EXPECT_EQ(e.kind(), http::error_kind::tls) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("certificate verification failed"));
    EXPECT_THAT(e.what(), HasSubstr("mismatch"));
}

TEST_F(NginxTest, ExpiredCertificateIsATlsError) {
    auto e = run(get_error(nginx.expired_url("/small.txt"), trusting()));
    EXPECT_EQ(e.kind(), http::error_kind::tls) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("expired"));
}

TEST_F(NginxTest, MissingExtraCaFileIsATlsError) {
    http::options o;
    o.extra_ca_file = "/nonexistent/ca.pem";
    auto e = run(get_error(nginx.https_url("/small.txt"), o));
    EXPECT_EQ(e.kind(), http::error_kind::tls) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/ca.pem"));
}

TEST_F(NginxTest, VerificationCanBeTurnedOff) {
    http::options o;
    o.verify_peer = false;
    auto r = run(get_once(nginx.wrong_host_url("/small.txt"), o));
    EXPECT_EQ(r.status, 200);
}

TEST_F(NginxTest, SequentialHttpsRequestsReuseOneConnection) {
    const auto bytes = run(get_n_times(nginx.https_url("/small.txt?t=seq"), trusting(), 20));
    EXPECT_EQ(bytes, 20u * 10240u);
    EXPECT_EQ(nginx.wait_for_requests("t=seq", 20), 20u);
    EXPECT_EQ(nginx.connections_for("t=seq"), 1u);
}

TEST_F(NginxTest, PerOriginLimitIsSeenByNginx) {
    http::options o;
    o.max_connections_per_origin = 3;
    std::vector<std::string> urls(60, nginx.http_url("/small.txt?t=limit"));
    auto r = run(gather_gets(urls, o));
    EXPECT_TRUE(r.all_ok());
    EXPECT_EQ(nginx.wait_for_requests("t=limit", 60), 60u);
    EXPECT_LE(nginx.connections_for("t=limit"), 3u);
}

TEST_F(NginxTest, ManyConcurrentHttpsRequestsSucceed) {
    std::vector<std::string> urls(100, nginx.https_url("/small.txt?t=many"));
    auto r = run(gather_gets(urls, trusting()));
    EXPECT_EQ(r.count(muster::status::ok), 100u);
    for (std::size_t i = 0; i < r.size(); ++i)
        if (r[i].ok()) {
            EXPECT_EQ(r[i].value().body.size(), 10240u);
        }
}

TEST_F(NginxTest, LargeBodyArrivesWhole) {
    auto r = run(get_once(nginx.https_url("/big.bin"), trusting()));
    EXPECT_EQ(r.body.size(), nginx_server::big_size);
}

TEST_F(NginxTest, GzipBodyIsDecodedWhenAsked) {
    auto o = trusting();
    o.decompress = true;
    auto r = run(get_once(nginx.https_url("/small.txt"), o));
    EXPECT_EQ(r.headers.get("content-encoding"), "gzip");
    EXPECT_EQ(r.body, nginx_server::small_body());
    auto plain = run(get_once(nginx.https_url("/small.txt"), trusting()));
    EXPECT_FALSE(plain.headers.contains("content-encoding"));
    EXPECT_EQ(plain.body, nginx_server::small_body());
}

TEST_F(NginxTest, DecodedSizeCountsAgainstTheLimit) {
    auto o = trusting();
    o.decompress = true;
    o.max_body_size = 1 << 20;  // big.bin compresses far below this, decodes far above
    auto e = run(get_error(nginx.http_url("/big.bin"), o));
    EXPECT_EQ(e.kind(), http::error_kind::body_too_large) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("decoded"));
}

asio::awaitable<std::pair<http::response, std::size_t>> stream_size(std::string url,
                                                                    http::options o) {
    auto ex = co_await asio::this_coro::executor;
    http::client c{ex, o};
    auto bytes = std::make_shared<std::size_t>(0);
    http::body_sink sink = [bytes](std::string_view piece) { *bytes += piece.size(); };
    http::request req;
    req.url = std::move(url);
    auto sending = c.request(std::move(req), std::move(sink));
    auto r = co_await std::move(sending);
    co_return std::pair{std::move(r), *bytes};
}

TEST_F(NginxTest, LargeBodyStreamsPastTheInMemoryLimit) {
    auto o = trusting();
    o.max_body_size = 1 << 20;  // streaming is not bound by it
    auto [r, bytes] = run(stream_size(nginx.https_url("/big.bin"), o));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), 0u);
    EXPECT_EQ(bytes, nginx_server::big_size);
}

TEST_F(NginxTest, GzipBodyStreamsDecodedToASink) {
    auto o = trusting();
    o.decompress = true;
    o.max_body_size = 1 << 20;  // neither the encoded nor the decoded body is held
    auto digest = std::make_shared<std::string>();
    auto r = run([&]() -> asio::awaitable<http::response> {
        auto ex = co_await asio::this_coro::executor;
        http::client c{ex, o};
        http::request req;
        req.url = nginx.https_url("/big.bin");
        http::body_sink sink = [digest](std::string_view piece) {
            // Keep a digest, not the body: count and check every byte.
            if (piece.find_first_not_of('b') != std::string_view::npos) digest->push_back('!');
            digest->append(std::to_string(piece.size())).push_back(',');
        };
        auto sending = c.request(std::move(req), std::move(sink));
        co_return co_await std::move(sending);
    }());
    EXPECT_EQ(r.headers.get("content-encoding"), "gzip");
    EXPECT_EQ(digest->find('!'), std::string::npos) << "the sink got undecoded bytes";
    std::size_t total = 0;
    for (std::size_t at = 0; at < digest->size();) {
        const auto comma = digest->find(',', at);
        total += std::stoul(digest->substr(at, comma - at));
        at = comma + 1;
    }
    EXPECT_EQ(total, nginx_server::big_size);
}

TEST_F(NginxTest, DecodedStreamHasTheStreamLimit) {
    auto o = trusting();
    o.decompress = true;
    o.max_streamed_body_size = 1 << 20;  // big.bin is sent far smaller than this
    auto e = run([&]() -> asio::awaitable<http::error> {
        try {
            co_await stream_size(nginx.http_url("/big.bin"), o);
        } catch (const http::error& err) {
            co_return err;
        }
        throw std::runtime_error("the request succeeded");
    }());
    EXPECT_EQ(e.kind(), http::error_kind::body_too_large) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("decoded"));
}

TEST_F(NginxTest, HttpsGoesThroughAConnectTunnel) {
    muster_test::test_proxy proxy;
    auto o = trusting();
    o.https_proxy = proxy.url();
    auto r = run(get_once(nginx.https_url("/small.txt"), o));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, nginx_server::small_body());
    EXPECT_EQ(proxy.tunnels(), 1u);
}

TEST_F(NginxTest, CertificateIsVerifiedThroughTheTunnel) {
    muster_test::test_proxy proxy;
    auto o = trusting();
    o.https_proxy = proxy.url();
    auto e = run(get_error(nginx.wrong_host_url("/small.txt"), o));
    EXPECT_EQ(e.kind(), http::error_kind::tls) << e.what();
    EXPECT_EQ(proxy.tunnels(), 1u);
}

TEST_F(NginxTest, RefusedConnectIsAConnectError) {
    muster_test::test_proxy proxy(true);
    auto o = trusting();
    o.https_proxy = proxy.url();
    auto e = run(get_error(nginx.https_url("/small.txt"), o));
    EXPECT_EQ(e.kind(), http::error_kind::connect) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("refused CONNECT"));
}

TEST_F(NginxTest, BodyOverTheLimitIsAnError) {
    auto o = trusting();
    o.max_body_size = 1 << 20;
    auto e = run(get_error(nginx.https_url("/big.bin"), o));
    EXPECT_EQ(e.kind(), http::error_kind::body_too_large) << e.what();
}

}  // namespace

}  // namespace nginx_test
