#include <muster/aws/s3.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

#include <muster/core/gather.hpp>
#include <muster/http.hpp>

#include "../core/test_support.hpp"
#include "aws_test_support.hpp"

namespace s3_test {

namespace {

namespace asio = boost::asio;
namespace aws = muster::aws;
using muster_test::run;
using namespace std::chrono_literals;

const std::string bucket = "muster-test";

TEST(S3AddressingTest, AwsGetsVirtualHostsAndOverridesGetPaths) {
    asio::io_context io;
    muster::http::client http{io.get_executor()};
    aws::config c;
    c.region = "eu-west-1";
    aws::s3 real{http, c};
    EXPECT_EQ(real.object_url("photos", "a b/c+d.jpg"),
              "https://photos.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd.jpg");
    // A name that is not a host label goes in the path.
    EXPECT_EQ(real.object_url("my.photos", "k"), "https://s3.eu-west-1.amazonaws.com/my.photos/k");
    c.s3_force_path_style = true;
    EXPECT_EQ(aws::s3(http, c).object_url("photos", "k"),
              "https://s3.eu-west-1.amazonaws.com/photos/k");
    c.s3_force_path_style = false;
    c.s3_endpoint = "http://localhost:4569";
    EXPECT_EQ(aws::s3(http, c).object_url("photos", "k"), "http://localhost:4569/photos/k");
}

TEST(S3AddressingTest, PresignedUrlsCarryTheQuerySignature) {
    asio::io_context io;
    muster::http::client http{io.get_executor()};
    aws::config c;
    c.credentials = {"AKIDTEST", "secret", "token/+="};
    aws::s3 s3{http, c};
    const std::string url = s3.presigned_get_url("photos", "a.jpg", 15min);
    EXPECT_TRUE(
        url.starts_with("https://photos.s3.us-east-1.amazonaws.com/a.jpg?"
                        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDTEST%2F"))
        << url;
    EXPECT_NE(url.find("&X-Amz-Expires=900&X-Amz-Security-Token=token%2F%2B%3D&"
                       "X-Amz-SignedHeaders=host&X-Amz-Signature="),
              std::string::npos)
        << url;
}

class S3Test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!muster_test::peers_installed("s3rver")) return;
        dir_ = std::make_unique<muster_test::temp_dir>();
        server_ = std::make_unique<muster_test::node_peer>(
            muster_test::peers_dir, muster_test::aws_scripts + "/s3rver.mjs",
            std::vector<std::string>{dir_->path().string()});
    }
    static void TearDownTestSuite() {
        server_.reset();
        dir_.reset();
    }
    void SetUp() override {
        if (!server_) GTEST_SKIP() << "s3rver is not installed in " << muster_test::peers_dir;
    }
    static aws::config cfg() { return muster_test::local_config(server_->url()); }

    static inline std::unique_ptr<muster_test::temp_dir> dir_;
    static inline std::unique_ptr<muster_test::node_peer> server_;
};

asio::awaitable<aws::object> put_then_get(aws::config c, std::string key, std::string body,
                                          aws::put_options o) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::s3 s3{http, c};
    auto put = s3.put_object(bucket, key, std::move(body), std::move(o));
    aws::put_result done = co_await std::move(put);
    EXPECT_FALSE(done.etag.empty());
    auto get = s3.get_object(bucket, key);
    co_return co_await std::move(get);
}

TEST_F(S3Test, PutThenGetReturnsTheBodyAndMetadata) {
    aws::put_options o;
    o.content_type = "image/jpeg";
    o.metadata = {{"width", "640"}};
    const std::string key = "photos/2024/a b+c é.jpg";
    auto obj = run(put_then_get(cfg(), key, std::string(20 * 1024, 'x'), o));
    EXPECT_EQ(obj.body, std::string(20 * 1024, 'x'));
    EXPECT_EQ(obj.content_type, "image/jpeg");
    EXPECT_EQ(obj.content_length, 20u * 1024);
    EXPECT_FALSE(obj.etag.empty());
    ASSERT_EQ(obj.metadata.size(), 1u);
    EXPECT_EQ(obj.metadata[0].first, "width");
    EXPECT_EQ(obj.metadata[0].second, "640");
}

asio::awaitable<std::optional<aws::error>> failure_of(
    std::function<asio::awaitable<void>(aws::s3)> body, aws::config c) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::s3 s3{http, c};
    try {
        auto running = body(s3);
        co_await std::move(running);
    } catch (const aws::error& e) {
        co_return e;
    }
    co_return std::nullopt;
}

asio::awaitable<void> get_missing(aws::s3 s3) {
    auto get = s3.get_object(bucket, "no/such/key");
    co_await std::move(get);
}

TEST_F(S3Test, GetOfAMissingKeyIsNoSuchKey) {
    auto e = run(failure_of(get_missing, cfg()));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), "NoSuchKey");
    EXPECT_EQ(e->status(), 404);
    EXPECT_EQ(e->service(), "s3");
    EXPECT_FALSE(e->message().empty());
    EXPECT_FALSE(e->retryable());
}

asio::awaitable<void> head_missing(aws::s3 s3) {
    auto head = s3.head_object(bucket, "no/such/key");
    co_await std::move(head);
}

TEST_F(S3Test, HeadOfAMissingKeyIsNotFound) {
    auto e = run(failure_of(head_missing, cfg()));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), "NotFound");
    EXPECT_EQ(e->status(), 404);
}

asio::awaitable<std::pair<aws::object, std::optional<aws::error>>> put_head_delete(aws::config c) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::s3 s3{http, c};
    aws::put_options o;
    o.content_type = "text/plain";
    auto put = s3.put_object(bucket, "head-me", "twelve bytes", o);
    co_await std::move(put);
    auto head = s3.head_object(bucket, "head-me");
    aws::object meta = co_await std::move(head);
    auto del = s3.delete_object(bucket, "head-me");
    co_await std::move(del);
    std::optional<aws::error> after;
    try {
        auto get = s3.get_object(bucket, "head-me");
        co_await std::move(get);
    } catch (const aws::error& e) {
        after = e;
    }
    co_return std::make_pair(std::move(meta), after);
}

TEST_F(S3Test, HeadShowsMetadataAndDeleteRemovesTheObject) {
    auto [meta, after] = run(put_head_delete(cfg()));
    EXPECT_TRUE(meta.body.empty());
    EXPECT_EQ(meta.content_length, 12u);
    EXPECT_EQ(meta.content_type, "text/plain");
    ASSERT_TRUE(after);
    EXPECT_EQ(after->code(), "NoSuchKey");
}

asio::awaitable<std::string> streamed(aws::config c, std::string body, std::size_t* pieces) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::s3 s3{http, c};
    auto put = s3.put_object(bucket, "streamed", std::move(body));
    co_await std::move(put);
    auto received = std::make_shared<std::string>();
    auto sink = [received, pieces](std::string_view piece) {
        received->append(piece);
        ++*pieces;
    };
    auto get = s3.get_object(bucket, "streamed", sink);
    aws::object o = co_await std::move(get);
    EXPECT_TRUE(o.body.empty());
    co_return *received;
}

TEST_F(S3Test, GetStreamsTheBodyToASink) {
    std::string body;
    for (int i = 0; i < 40000; ++i) body += std::to_string(i % 10) + "abcdefg";
    std::size_t pieces = 0;
    EXPECT_EQ(run(streamed(cfg(), body, &pieces)), body);
    EXPECT_GE(pieces, 2u);
}

asio::awaitable<void> stream_missing(aws::s3 s3) {
    auto received = std::make_shared<std::string>();
    auto sink = [received](std::string_view piece) { received->append(piece); };
    try {
        auto get = s3.get_object(bucket, "no/such/streamed/key", sink);
        co_await std::move(get);
    } catch (const aws::error&) {
        EXPECT_EQ(*received, "") << "an error document reached the sink";
        throw;
    }
}

TEST_F(S3Test, AnErrorResponseNeverReachesTheSink) {
    auto e = run(failure_of(stream_missing, cfg()));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), "NoSuchKey");
    EXPECT_FALSE(e->message().empty());
}

asio::awaitable<std::string> presigned_round_trip(aws::config c) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::s3 s3{http, c};
    // Whoever holds the URLs needs no credentials: plain HTTP requests.
    muster::http::request put;
    put.method = "PUT";
    put.url = s3.presigned_put_url(bucket, "presigned/a b.txt", 5min);
    put.body = "uploaded through a presigned URL";
    auto putting = http.request(std::move(put));
    muster::http::response r1 = co_await std::move(putting);
    EXPECT_EQ(r1.status, 200) << r1.body;
    auto getting = http.get(s3.presigned_get_url(bucket, "presigned/a b.txt", 5min));
    muster::http::response r2 = co_await std::move(getting);
    EXPECT_EQ(r2.status, 200) << r2.body;
    // A tampered signature is refused.
    std::string bad = s3.presigned_get_url(bucket, "presigned/a b.txt", 5min);
    bad.back() = bad.back() == '0' ? '1' : '0';
    auto refusing = http.get(bad);
    muster::http::response r3 = co_await std::move(refusing);
    EXPECT_EQ(r3.status, 403) << r3.body;
    co_return r2.body;
}

TEST_F(S3Test, PresignedUrlsWorkWithoutCredentials) {
    EXPECT_EQ(run(presigned_round_trip(cfg())), "uploaded through a presigned URL");
}

asio::awaitable<void> put_something(aws::s3 s3) {
    auto put = s3.put_object(bucket, "bad-signature", "x");
    co_await std::move(put);
}

TEST_F(S3Test, ABadSignatureIsRejected) {
    auto e = run(failure_of(put_something,
                            muster_test::local_config(server_->url(), "S3RVER", "not-the-secret")));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), "SignatureDoesNotMatch");
    EXPECT_EQ(e->status(), 403);
}

TEST_F(S3Test, AnUnknownAccessKeyIsRejected) {
    auto e = run(failure_of(put_something,
                            muster_test::local_config(server_->url(), "AKIDNOBODY", "S3RVER")));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), "InvalidAccessKeyId");
    EXPECT_EQ(e->status(), 403);
    EXPECT_EQ(e->request_id(), "verifier");
}

asio::awaitable<muster::results<aws::put_result>> put_many(aws::config c, std::size_t n) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::s3 s3{http, c};
    auto put = [s3](std::size_t i) {
        return s3.put_object(bucket, "many/" + std::to_string(i), std::string(1000, 'm'));
    };
    muster::options o;
    o.limit = 8;
    auto tasks = std::views::iota(std::size_t{0}, n) | std::views::transform(put);
    auto gathering = muster::gather(tasks, o);
    co_return co_await std::move(gathering);
}

TEST_F(S3Test, PutsGatheredWithALimitAllLand) {
    auto results = run(put_many(cfg(), 40));
    EXPECT_EQ(results.count(muster::status::ok), 40u);
}

}  // namespace

}  // namespace s3_test
