#include <muster/aws/dynamodb.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

#include <muster/aws/attribute.hpp>
#include <muster/aws/s3.hpp>
#include <muster/core/gather.hpp>
#include <muster/http.hpp>

#include "../core/test_support.hpp"
#include "aws_test_support.hpp"

namespace dynamodb_test {

namespace {

namespace asio = boost::asio;
namespace aws = muster::aws;
namespace attr = muster::aws::attr;
namespace json = boost::json;
using muster_test::run;
using namespace std::chrono_literals;

/// Runs body with a DynamoDB client for c, on table.
template <class Body>
auto run_with_db(aws::config c, std::string table, Body body)
    -> decltype(body(std::declval<aws::dynamodb>(), std::string())) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::dynamodb ddb{http, c};
    auto running = body(ddb, table);
    co_return co_await std::move(running);
}

class DynamoDbTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!muster_test::peers_installed("dynalite")) return;
        server_ = std::make_unique<muster_test::node_peer>(
            muster_test::peers_dir, muster_test::aws_scripts + "/dynalite.mjs");
    }
    static void TearDownTestSuite() { server_.reset(); }
    void SetUp() override {
        if (!server_) GTEST_SKIP() << "dynalite is not installed in " << muster_test::peers_dir;
        table_ =
            std::string("t-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
        run(run_with_db(cfg(), table_,
                        [](aws::dynamodb ddb, std::string table) -> asio::awaitable<void> {
                            auto creating = muster_test::create_table(ddb, table, "pk");
                            co_await std::move(creating);
                        }));
    }

    static aws::config cfg() { return muster_test::local_config(server_->url(), "AKIDTEST", "x"); }

    template <class Body>
    auto with_db(Body body) {
        return run_with_db(cfg(), table_, std::move(body));
    }

    std::string table_;
    static inline std::unique_ptr<muster_test::node_peer> server_;
};

TEST_F(DynamoDbTest, PutThenGetReturnsTheTypedItem) {
    auto item = run(with_db(
        [](aws::dynamodb ddb, std::string table) -> asio::awaitable<std::optional<json::object>> {
            json::object item{{"pk", attr::s("img-1")},
                              {"width", attr::n(std::int64_t{640})},
                              {"done", attr::boolean(true)},
                              {"thumb", attr::b(std::string("\x89PNG", 4))}};
            auto put = ddb.put_item(table, std::move(item));
            co_await std::move(put);
            auto get = ddb.get_item(table, json::object{{"pk", attr::s("img-1")}},
                                    aws::get_item_options{true, {}, {}});
            co_return co_await std::move(get);
        }));
    ASSERT_TRUE(item);
    EXPECT_EQ(attr::get_string(*item, "pk"), "img-1");
    EXPECT_EQ(attr::get_int(*item, "width"), 640);
    EXPECT_EQ(attr::get_bool(*item, "done"), true);
    EXPECT_EQ(attr::get_binary(*item, "thumb"), std::string("\x89PNG", 4));
}

TEST_F(DynamoDbTest, GetOfAMissingItemIsNothing) {
    auto item = run(with_db(
        [](aws::dynamodb ddb, std::string table) -> asio::awaitable<std::optional<json::object>> {
            auto get = ddb.get_item(table, json::object{{"pk", attr::s("nobody")}});
            co_return co_await std::move(get);
        }));
    EXPECT_FALSE(item);
}

TEST_F(DynamoDbTest, AFailingConditionIsConditionalCheckFailed) {
    auto failure = run(with_db(
        [](aws::dynamodb ddb, std::string table) -> asio::awaitable<std::optional<aws::error>> {
            json::object item{{"pk", attr::s("once")}, {"v", attr::n(std::int64_t{1})}};
            aws::put_item_options only_new;
            only_new.condition_expression = "attribute_not_exists(pk)";
            auto first = ddb.put_item(table, item, only_new);
            co_await std::move(first);
            try {
                auto second = ddb.put_item(table, item, only_new);
                co_await std::move(second);
            } catch (const aws::error& e) {
                co_return e;
            }
            co_return std::nullopt;
        }));
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->code(), "ConditionalCheckFailedException");
    EXPECT_EQ(failure->status(), 400);
    EXPECT_EQ(failure->service(), "dynamodb");
    EXPECT_FALSE(failure->request_id().empty());
    EXPECT_FALSE(failure->retryable());
}

TEST_F(DynamoDbTest, UpdateWithAFailingConditionLeavesTheItemAlone) {
    auto item = run(with_db(
        [](aws::dynamodb ddb, std::string table) -> asio::awaitable<std::optional<json::object>> {
            const json::object key{{"pk", attr::s("counter")}};
            aws::update_item_options bump;
            bump.update_expression = "SET #s = :s ADD version :one";
            bump.expression_attribute_names = {{"#s", "status"}};
            bump.expression_attribute_values = {{":s", attr::s("resized")},
                                                {":one", attr::n(std::int64_t{1})}};
            bump.return_values = "ALL_NEW";
            auto first = ddb.update_item(table, key, bump);
            json::object answer = co_await std::move(first);
            EXPECT_EQ(attr::get_int(answer.at("Attributes").as_object(), "version"), 1);

            aws::update_item_options guarded = bump;
            guarded.condition_expression = "version = :zero";
            guarded.expression_attribute_values[":zero"] = attr::n(std::int64_t{0});
            guarded.expression_attribute_values[":s"] = attr::s("overwritten");
            std::optional<aws::error> failure;
            try {
                auto second = ddb.update_item(table, key, guarded);
                co_await std::move(second);
            } catch (const aws::error& e) {
                failure = e;
            }
            EXPECT_TRUE(failure && failure->code() == "ConditionalCheckFailedException");
            auto get = ddb.get_item(table, key);
            co_return co_await std::move(get);
        }));
    ASSERT_TRUE(item);
    EXPECT_EQ(attr::get_string(*item, "status"), "resized");
    EXPECT_EQ(attr::get_int(*item, "version"), 1);
}

TEST_F(DynamoDbTest, BatchWriteOfAHundredItemsLandsEveryItem) {
    auto count = run(with_db([](aws::dynamodb ddb,
                                std::string table) -> asio::awaitable<std::int64_t> {
        json::array writes;
        for (int i = 0; i < 100; ++i) {
            json::object item{{"pk", attr::s("item-" + std::to_string(i))},
                              {"i", attr::n(std::int64_t{i})}};
            writes.push_back(json::object{{"PutRequest", json::object{{"Item", item}}}});
        }
        auto writing = ddb.batch_write_item(json::object{{table, std::move(writes)}});
        co_await std::move(writing);
        auto scanning = ddb.call("Scan", json::object{{"TableName", table}, {"Select", "COUNT"}});
        json::object answer = co_await std::move(scanning);
        co_return answer.at("Count").to_number<std::int64_t>();
    }));
    EXPECT_EQ(count, 100);
}

TEST_F(DynamoDbTest, AMissingTableIsResourceNotFound) {
    auto failure = run(
        with_db([](aws::dynamodb ddb, std::string) -> asio::awaitable<std::optional<aws::error>> {
            try {
                auto put = ddb.put_item("no-such-table", json::object{{"pk", attr::s("x")}});
                co_await std::move(put);
            } catch (const aws::error& e) {
                co_return e;
            }
            co_return std::nullopt;
        }));
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->code(), "ResourceNotFoundException");
}

TEST_F(DynamoDbTest, PutsGatheredWithALimitAllLand) {
    auto ok = run(with_db([](aws::dynamodb ddb, std::string table) -> asio::awaitable<std::size_t> {
        auto put = [ddb, table](int i) {
            return ddb.put_item(table, json::object{{"pk", attr::s("g-" + std::to_string(i))}});
        };
        muster::options o;
        o.limit = 16;
        auto tasks = std::views::iota(0, 64) | std::views::transform(put);
        auto gathering = muster::gather(tasks, o);
        auto results = co_await std::move(gathering);
        co_return results.count(muster::status::ok);
    }));
    EXPECT_EQ(ok, 64u);
}

// ---- retries, against a stand-in that throttles on demand -------------------

class ThrottleTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = std::make_unique<muster_test::node_peer>(
            muster_test::peers_dir, muster_test::aws_scripts + "/throttle.mjs");
    }
    static void TearDownTestSuite() { server_.reset(); }

    static aws::config cfg() {
        auto c = muster_test::local_config(server_->url(), "AKIDTEST", "x");
        c.retry.initial_backoff = 5ms;
        return c;
    }

    static asio::awaitable<std::string> control(std::string path) {
        auto ex = co_await asio::this_coro::executor;
        muster::http::client http{ex};
        muster::http::request r;
        r.method = path.starts_with("/__throttle") ? "POST" : "GET";
        r.url = server_->url() + path;
        auto sending = http.request(std::move(r));
        auto response = co_await std::move(sending);
        co_return response.body;
    }

    static inline std::unique_ptr<muster_test::node_peer> server_;
};

asio::awaitable<std::optional<aws::error>> put_one(aws::config c) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::dynamodb ddb{http, c};
    try {
        auto put = ddb.put_item("t", json::object{{"pk", attr::s("x")}});
        co_await std::move(put);
    } catch (const aws::error& e) {
        co_return e;
    }
    co_return std::nullopt;
}

TEST_F(ThrottleTest, ThrottlingIsRetriedUntilItPasses) {
    run(control("/__throttle?n=2"));
    auto failure = run(put_one(cfg()));
    EXPECT_FALSE(failure) << failure->what();
    EXPECT_EQ(run(control("/__count")), "3");
}

TEST_F(ThrottleTest, RetriesStopAtTheirAttempts) {
    run(control("/__throttle?n=10"));
    auto failure = run(put_one(cfg()));
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->code(), "ThrottlingException");
    EXPECT_TRUE(failure->retryable());
    EXPECT_NE(std::string(failure->what()).find("[request id throttled-3]"), std::string::npos)
        << failure->what();
    EXPECT_EQ(run(control("/__count")), "3");
}

asio::awaitable<std::string> get_through_slowdown(aws::config c) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::s3 s3{http, c};
    auto get = s3.get_object("b", "k");
    aws::object o = co_await std::move(get);
    co_return o.body;
}

TEST_F(ThrottleTest, S3SlowDownIsRetried) {
    run(control("/__throttle?n=2"));
    EXPECT_EQ(run(get_through_slowdown(cfg())), "ok");
    EXPECT_EQ(run(control("/__count")), "3");
}

asio::awaitable<muster::results<json::object>> throttled_within(aws::config c,
                                                                muster::clock::duration timeout) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::client http{ex};
    aws::dynamodb ddb{http, c};
    auto put = [ddb]() { return ddb.put_item("t", json::object{{"pk", attr::s("x")}}); };
    std::vector<decltype(put)> tasks{put};
    muster::options o;
    o.task_timeout = timeout;
    auto gathering = muster::gather(tasks, o);
    co_return co_await std::move(gathering);
}

TEST_F(ThrottleTest, RetriesNeverOutliveTheDeadline) {
    run(control("/__throttle?n=1000"));
    auto c = cfg();
    c.retry.attempts = 100;
    c.retry.initial_backoff = 100ms;
    c.retry.max_backoff = 100ms;
    const auto start = muster::clock::now();
    auto results = run(throttled_within(c, 300ms));
    EXPECT_LT(muster::clock::now() - start, 1s);
    EXPECT_EQ(results.count(muster::status::ok), 0u);
}

}  // namespace

}  // namespace dynamodb_test
