#include <muster/lambda/batch.hpp>

#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <muster/core/errors.hpp>
#include <muster/core/scope.hpp>
#include <muster/lambda/events/base64.hpp>

#include "samples.hpp"

namespace batch_test {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using muster::clock;
using muster::status;
using muster::lambda::batch_response;
using muster::lambda::process_batch;
using muster::lambda::sqs_event;
using muster::lambda::sqs_message;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// ---- runner -----------------------------------------------------------------------------------

/// Runs the coroutine `make()` returns on a fresh io_context (in a scope with `deadline`, when
/// given) and returns its result, rethrowing its exception. Fails the test on a hang or when
/// work is left on the io_context afterwards. `make` outlives the run, so test lambdas may
/// capture by reference.
template <class F>
auto run(F make, std::optional<clock::time_point> deadline = std::nullopt) ->
    typename std::invoke_result_t<F&>::value_type {
    using T = typename std::invoke_result_t<F&>::value_type;
    asio::io_context io;
    asio::any_io_executor ex = io.get_executor();
    if (deadline) ex = muster::detail::with_deadline(ex, *deadline);
    std::exception_ptr error;
    std::optional<T> value;
    bool done = false;
    asio::co_spawn(ex, make(), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) value.emplace(std::move(v));
        done = true;
    });
    io.run_for(20s);
    if (!done) throw std::runtime_error("the test coroutine did not finish in time");
    EXPECT_TRUE(io.stopped()) << "work was still pending after the test coroutine finished";
    if (error) std::rethrow_exception(error);
    return std::move(*value);
}

asio::awaitable<void> sleep_for(clock::duration d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

struct test_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// ---- probed record functions -------------------------------------------------------------------

/// What the record functions of one test did.
struct probe {
    std::vector<std::string> started;
    std::vector<std::string> finished;  ///< ran to the end (ok or failed)
    int in_flight = 0;
    int peak = 0;
    std::map<std::string, int> group_in_flight;
    int group_peak = 0;  ///< most records of one group running at once
    std::map<std::string, int> attempts;
};

/// Acts out `script`: "ok <ms>" sleeps then succeeds, "fail <ms>" sleeps then throws,
/// "hang" sleeps far longer than any test, "flaky <n>" fails its first n attempts.
asio::awaitable<void> act(probe* p, std::string id, std::string script, std::string group) {
    p->started.push_back(id);
    const int attempt = ++p->attempts[id];
    p->peak = std::max(p->peak, ++p->in_flight);
    if (!group.empty()) p->group_peak = std::max(p->group_peak, ++p->group_in_flight[group]);
    struct leave {
        probe* p;
        std::string group;
        ~leave() {
            --p->in_flight;
            if (!group.empty()) --p->group_in_flight[group];
        }
    } guard{p, group};
    std::istringstream in(script);
    std::string verb;
    int n = 0;
    in >> verb >> n;
    if (verb == "hang") co_await sleep_for(10s);
    if (verb == "ok" || verb == "fail") co_await sleep_for(std::chrono::milliseconds(n));
    p->finished.push_back(id);
    if (verb == "fail") throw test_failure("record " + id + " failed");
    if (verb == "flaky" && attempt <= n) throw test_failure("attempt " + std::to_string(attempt));
}

/// The record function for SQS: the body is the script.
auto sqs_actor(probe* p) {
    return [p](const sqs_message& m) {
        return act(p, m.message_id, m.body, std::string(m.message_group_id().value_or("")));
    };
}

sqs_message message(std::string id, std::string script, std::string group = "") {
    sqs_message m;
    m.message_id = std::move(id);
    m.body = std::move(script);
    if (!group.empty()) m.attributes["MessageGroupId"] = group;
    return m;
}

std::vector<std::string> failures_of(const batch_response& r) {
    std::vector<std::string> out;
    for (auto id : r.failed_item_identifiers()) out.emplace_back(id);
    return out;
}

const muster::lambda::batch_item& item(const batch_response& r, const std::string& id) {
    for (const auto& i : r.items())
        if (i.item_identifier == id) return i;
    throw std::logic_error("no item " + id);
}

// ---- all ok, failures, empty -----------------------------------------------------------------

TEST(SqsBatchTest, AllRecordsSucceedingGivesAnEmptyFailureList) {
    probe p;
    auto event = json::value_to<sqs_event>(muster_test_events::sample("sqs.json"));
    for (auto& m : event.records) m.body = "ok 0";
    auto r = run([&] { return process_batch(event, sqs_actor(&p)); });
    EXPECT_TRUE(r.all_ok());
    EXPECT_EQ(r.items().size(), 2u);
    EXPECT_EQ(r.items()[0].item_identifier, "059f36b4-87a3-44ab-83d2-661975830a7d");
    EXPECT_THAT(p.started, UnorderedElementsAre("059f36b4-87a3-44ab-83d2-661975830a7d",
                                                "2e1424d4-f796-459a-8184-9c92662be6da"));
    EXPECT_EQ(json::value_from(r), json::parse(R"({"batchItemFailures":[]})"));
}

TEST(SqsBatchTest, FailedRecordsAreReportedByMessageIdInRecordOrder) {
    probe p;
    sqs_event e{{message("a", "ok 5"), message("b", "fail 10"), message("c", "ok 0"),
                 message("d", "fail 0")}};
    auto r = run([&] { return process_batch(e, sqs_actor(&p)); });
    EXPECT_THAT(failures_of(r), ElementsAre("b", "d"));
    EXPECT_EQ(
        json::value_from(r),
        json::parse(R"({"batchItemFailures":[{"itemIdentifier":"b"},{"itemIdentifier":"d"}]})"));
    EXPECT_EQ(item(r, "b").result.status(), status::failed);
    EXPECT_EQ(item(r, "b").result.message(), "record b failed");
    EXPECT_THROW(item(r, "d").result.value(), test_failure);
    EXPECT_TRUE(item(r, "a").result.ok());
    EXPECT_EQ(r.failure_count(), 2u);
    EXPECT_EQ(r.count(status::ok), 2u);
}

TEST(SqsBatchTest, EmptyBatchCompletesAtOnceWithNoFailures) {
    probe p;
    auto r = run([&] { return process_batch(sqs_event{}, sqs_actor(&p)); });
    EXPECT_TRUE(r.items().empty());
    EXPECT_TRUE(r.all_ok());
    EXPECT_EQ(json::value_from(r), json::parse(R"({"batchItemFailures":[]})"));
}

TEST(SqsBatchTest, EmptyMessageIdFailsTheWholeBatchBeforeAnythingRuns) {
    probe p;
    sqs_event e{{message("a", "ok 0"), message("", "ok 0"), message("c", "ok 0")}};
    try {
        run([&] { return process_batch(e, sqs_actor(&p)); });
        FAIL() << "no error";
    } catch (const muster::lambda::event_error& err) {
        EXPECT_EQ(err.path(), "Records[1].messageId");
        EXPECT_THAT(err.what(), HasSubstr("whole batch"));
    }
    EXPECT_THAT(p.started, IsEmpty());
}

TEST(SqsBatchTest, RecordFunctionMayTakeTheMessageByValue) {
    std::vector<std::string> bodies;
    sqs_event e{{message("a", "x"), message("b", "y")}};
    auto r = run([&] {
        return process_batch(e, [&bodies](sqs_message m) -> asio::awaitable<void> {
            bodies.push_back(m.body);
            co_return;
        });
    });
    EXPECT_TRUE(r.all_ok());
    EXPECT_THAT(bodies, UnorderedElementsAre("x", "y"));
}

// ---- FIFO ------------------------------------------------------------------------------------

TEST(SqsBatchTest, FifoGroupStopsAtFirstFailure) {
    probe p;
    sqs_event e{{message("a1", "ok 5", "A"), message("a2", "fail 5", "A"),
                 message("b1", "ok 20", "B"), message("a3", "ok 0", "A"),
                 message("b2", "ok 0", "B"), message("u", "ok 0"), message("a4", "ok 0", "A")}};
    auto r = run([&] { return process_batch(e, sqs_actor(&p)); });
    // a3 and a4 were never called: reporting them failed makes SQS redeliver them in order.
    EXPECT_THAT(p.started, UnorderedElementsAre("a1", "a2", "b1", "b2", "u"));
    EXPECT_THAT(failures_of(r), ElementsAre("a2", "a3", "a4"));
    EXPECT_EQ(item(r, "a3").result.status(), status::not_started);
    EXPECT_THAT(item(r, "a3").result.message(), HasSubstr("a2"));
    EXPECT_THAT(item(r, "a4").result.message(), HasSubstr("message group (A)"));
    EXPECT_TRUE(item(r, "b2").result.ok());
}

TEST(SqsBatchTest, FifoGroupRunsInOrderOneAtATimeWhileGroupsRunConcurrently) {
    probe p;
    sqs_event e{{message("a1", "ok 20", "A"), message("b1", "ok 20", "B"),
                 message("a2", "ok 0", "A"), message("a3", "ok 5", "A"),
                 message("b2", "ok 0", "B")}};
    auto r = run([&] { return process_batch(e, sqs_actor(&p)); });
    EXPECT_TRUE(r.all_ok());
    EXPECT_EQ(p.group_peak, 1);
    EXPECT_EQ(p.peak, 2);  // A and B side by side
    std::vector<std::string> a_order;
    for (const auto& id : p.finished)
        if (id[0] == 'a') a_order.push_back(id);
    EXPECT_THAT(a_order, ElementsAre("a1", "a2", "a3"));
}

TEST(SqsBatchTest, FifoParsedFromTheSampleUsesMessageGroupId) {
    probe p;
    auto e = json::value_to<sqs_event>(muster_test_events::sample("sqs_fifo.json"));
    auto second = e.records[0];
    second.message_id = "second";
    e.records[0].body = "fail 0";
    second.body = "ok 0";
    e.records.push_back(second);
    auto r = run([&] { return process_batch(e, sqs_actor(&p)); });
    EXPECT_THAT(p.started, ElementsAre("11d6ee51-4cc7-4302-9e22-7cd8afdaadf5"));
    EXPECT_THAT(failures_of(r), ElementsAre("11d6ee51-4cc7-4302-9e22-7cd8afdaadf5", "second"));
}

// ---- options: limit, timeout, retry, policy ------------------------------------------------

TEST(SqsBatchTest, LimitBoundsTheRecordsInFlight) {
    probe p;
    sqs_event e;
    for (int i = 0; i < 8; ++i) e.records.push_back(message("m" + std::to_string(i), "ok 10"));
    muster::options o;
    o.limit = 3;
    auto r = run([&] { return process_batch(e, sqs_actor(&p), o); });
    EXPECT_TRUE(r.all_ok());
    EXPECT_EQ(p.peak, 3);
    EXPECT_EQ(p.started.size(), 8u);
}

TEST(SqsBatchTest, LimitWithFifoGroupsStillRunsEveryRecord) {
    probe p;
    sqs_event e;
    for (int i = 0; i < 4; ++i) {
        e.records.push_back(message("a" + std::to_string(i), "ok 2", "A"));
        e.records.push_back(message("b" + std::to_string(i), "ok 1", "B"));
        e.records.push_back(message("u" + std::to_string(i), "ok 1"));
    }
    muster::options o;
    o.limit = 1;
    auto r = run([&] { return process_batch(e, sqs_actor(&p), o); });
    EXPECT_TRUE(r.all_ok());
    EXPECT_EQ(p.peak, 1);
    EXPECT_EQ(p.started.size(), 12u);
}

TEST(SqsBatchTest, TaskTimeoutReportsTheSlowRecordFailed) {
    probe p;
    sqs_event e{{message("fast", "ok 0"), message("slow", "hang")}};
    muster::options o;
    o.task_timeout = 30ms;
    auto r = run([&] { return process_batch(e, sqs_actor(&p), o); });
    EXPECT_THAT(failures_of(r), ElementsAre("slow"));
    EXPECT_EQ(item(r, "slow").result.status(), status::timed_out);
}

TEST(SqsBatchTest, RetryRunsAFailedRecordAgain) {
    probe p;
    sqs_event e{{message("flaky", "flaky 2"), message("steady", "ok 0")}};
    muster::options o;
    o.retry.attempts = 3;
    o.retry.initial_backoff = 1ms;
    auto r = run([&] { return process_batch(e, sqs_actor(&p), o); });
    EXPECT_TRUE(r.all_ok());
    EXPECT_EQ(item(r, "flaky").result.attempts(), 3u);
    EXPECT_EQ(p.attempts["flaky"], 3);
}

TEST(SqsBatchTest, FailFastPolicyReportsCancelledAndUnstartedRecordsFailed) {
    probe p;
    sqs_event e{{message("bad", "fail 0"), message("long", "hang"), message("later", "ok 0")}};
    muster::options o;
    o.limit = 2;
    o.policy = muster::policy::fail_fast;
    auto r = run([&] { return process_batch(e, sqs_actor(&p), o); });
    EXPECT_THAT(failures_of(r), ElementsAre("bad", "long", "later"));
    EXPECT_EQ(item(r, "long").result.status(), status::cancelled);
    EXPECT_EQ(item(r, "later").result.status(), status::not_started);
}

// ---- the invocation's deadline ---------------------------------------------------------------

TEST(SqsBatchTest, RecordsStillRunningAtTheDeadlineAreReportedFailed) {
    probe p;
    sqs_event e{{message("quick", "ok 0"), message("stuck1", "hang"), message("stuck2", "hang"),
                 message("queued", "ok 0")}};
    muster::options o;
    o.limit = 2;
    const auto start = clock::now();
    // The helper is given no deadline: it inherits the scope's, as inside an invocation.
    auto r = run([&] { return process_batch(e, sqs_actor(&p), o); }, start + 100ms);
    const auto took = clock::now() - start;
    EXPECT_GE(took, 90ms);
    EXPECT_LT(took, 5s);
    EXPECT_THAT(failures_of(r), ElementsAre("stuck1", "stuck2", "queued"));
    EXPECT_TRUE(item(r, "quick").result.ok());
    EXPECT_EQ(item(r, "stuck1").result.status(), status::timed_out);
    EXPECT_EQ(item(r, "stuck2").result.status(), status::timed_out);
    EXPECT_EQ(item(r, "queued").result.status(), status::not_started);
    EXPECT_THAT(p.started, UnorderedElementsAre("quick", "stuck1", "stuck2"));
}

TEST(SqsBatchTest, FifoRecordsWaitingBehindARunningOneAtTheDeadlineAreReportedFailed) {
    probe p;
    sqs_event e{
        {message("a1", "hang", "A"), message("a2", "ok 0", "A"), message("b1", "ok 0", "B")}};
    auto r = run([&] { return process_batch(e, sqs_actor(&p)); }, clock::now() + 50ms);
    EXPECT_THAT(failures_of(r), ElementsAre("a1", "a2"));
    EXPECT_EQ(item(r, "a1").result.status(), status::timed_out);
    EXPECT_EQ(item(r, "a2").result.status(), status::not_started);
    EXPECT_THAT(p.started, UnorderedElementsAre("a1", "b1"));
}

TEST(SqsBatchTest, RecordsSeeTheInvocationDeadline) {
    std::optional<clock::duration> seen;
    sqs_event e{{message("a", "")}};
    auto r = run(
        [&] {
            return process_batch(e, [&seen](const sqs_message&) -> asio::awaitable<void> {
                seen = co_await muster::remaining();
            });
        },
        clock::now() + 10s);
    EXPECT_TRUE(r.all_ok());
    ASSERT_TRUE(seen.has_value());
    EXPECT_LE(*seen, 10s);
    EXPECT_GT(*seen, 5s);
}

// ---- Kinesis and DynamoDB streams ------------------------------------------------------------

TEST(KinesisBatchTest, FailuresAreReportedBySequenceNumberAndStopTheirPartitionKey) {
    using muster::lambda::kinesis_event;
    using muster::lambda::kinesis_record;
    probe p;
    auto record = [](std::string seq, std::string key, std::string script) {
        kinesis_record r;
        r.kinesis.sequence_number = std::move(seq);
        r.kinesis.partition_key = std::move(key);
        r.kinesis.data = muster::lambda::base64_encode(script);
        return r;
    };
    kinesis_event e{{record("100", "k1", "ok 0"), record("101", "k1", "fail 0"),
                     record("102", "k2", "ok 0"), record("103", "k1", "ok 0")}};
    auto r = run([&] {
        return process_batch(e, [&p](const kinesis_record& k) {
            return act(&p, k.kinesis.sequence_number, k.decoded_data(), k.kinesis.partition_key);
        });
    });
    EXPECT_THAT(failures_of(r), ElementsAre("101", "103"));
    EXPECT_THAT(p.started, UnorderedElementsAre("100", "101", "102"));
    EXPECT_EQ(json::value_from(r),
              json::parse(
                  R"({"batchItemFailures":[{"itemIdentifier":"101"},{"itemIdentifier":"103"}]})"));
}

TEST(KinesisBatchTest, TheSampleSucceedsWithNoFailures) {
    auto e =
        json::value_to<muster::lambda::kinesis_event>(muster_test_events::sample("kinesis.json"));
    std::vector<std::string> seen;
    auto r = run([&] {
        return process_batch(
            e, [&seen](const muster::lambda::kinesis_record& k) -> asio::awaitable<void> {
                seen.push_back(k.decoded_data());
                co_return;
            });
    });
    EXPECT_TRUE(r.all_ok());
    // Same partition key: in order.
    EXPECT_THAT(seen, ElementsAre("Hello, this is a test.", "This is only a test."));
}

TEST(DynamoDbStreamBatchTest, AFailedChangeStopsTheLaterChangesOfTheSameItem) {
    using muster::lambda::dynamodb_stream_record;
    auto e = json::value_to<muster::lambda::dynamodb_stream_event>(
        muster_test_events::sample("dynamodb_stream.json"));
    std::vector<std::string> ran;
    auto r = run([&] {
        return process_batch(e, [&ran](const dynamodb_stream_record& rec) -> asio::awaitable<void> {
            ran.push_back(rec.event_name);
            if (rec.event_name == "MODIFY") throw test_failure("cannot apply MODIFY");
            co_return;
        });
    });
    EXPECT_THAT(ran, ElementsAre("INSERT", "MODIFY"));
    EXPECT_THAT(failures_of(r), ElementsAre("222", "333"));
    EXPECT_EQ(json::value_from(r),
              json::parse(
                  R"({"batchItemFailures":[{"itemIdentifier":"222"},{"itemIdentifier":"333"}]})"));
}

TEST(DynamoDbStreamBatchTest, EmptySequenceNumberFailsTheWholeBatch) {
    auto e = json::value_to<muster::lambda::dynamodb_stream_event>(
        muster_test_events::sample("dynamodb_stream.json"));
    e.records[2].dynamodb.sequence_number.clear();
    int calls = 0;
    EXPECT_THROW(
        run([&] {
            return process_batch(
                e,
                [&calls](const muster::lambda::dynamodb_stream_record&) -> asio::awaitable<void> {
                    ++calls;
                    co_return;
                });
        }),
        muster::lambda::event_error);
    EXPECT_EQ(calls, 0);
}

// ---- batch_response on its own ---------------------------------------------------------------

TEST(BatchResponseTest, ARecordWithoutASuccessfulOutcomeIsReported) {
    std::vector<muster::lambda::batch_item> items;
    items.push_back({"x", {}});  // a default outcome is not_started
    batch_response r(std::move(items));
    EXPECT_EQ(json::value_from(r),
              json::parse(R"({"batchItemFailures":[{"itemIdentifier":"x"}]})"));
}

TEST(BatchResponseTest, RejectsAnEmptyIdentifier) {
    std::vector<muster::lambda::batch_item> items;
    items.push_back({"", {}});
    EXPECT_THROW(batch_response{std::move(items)}, std::invalid_argument);
}

TEST(BatchResponseTest, DefaultIsAnEmptySuccess) {
    EXPECT_EQ(json::value_from(batch_response{}), json::parse(R"({"batchItemFailures":[]})"));
}

}  // namespace

}  // namespace batch_test
