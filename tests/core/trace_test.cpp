#include <muster/core/trace.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/as_completed.hpp>
#include <muster/core/gather.hpp>
#include <muster/core/group.hpp>
#include <muster/core/options.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/sleep.hpp>
#include <muster/core/trace_html.hpp>
#include <muster/core/trace_json.hpp>
#include <muster/testing/manual_clock.hpp>

namespace trace_test {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using muster::clock;
using muster::status;
using muster::testing::manual_clock;
using muster::trace::recorder;
using muster::trace::span;

/// Waits `d` on the scope's clock (the manual one of `run_traced`).
asio::awaitable<void> sleep(clock::duration d) { return muster::sleep_for(d); }

asio::awaitable<int> named(std::string label, clock::duration d, int v) {
    co_await muster::name_task(std::move(label));
    co_await sleep(d);
    co_return v;
}

asio::awaitable<int> failing(std::string message, clock::duration d) {
    co_await sleep(d);
    throw std::runtime_error(message);
}

/// Runs `body` in a root scope on the manual clock `time`, recording into
/// `rec` (when set), on a fresh io_context, until everything it started has
/// finished.
template <class Body>
void run_traced(std::shared_ptr<recorder> rec, Body body, manual_clock& time,
                clock::time_point deadline = clock::time_point::max()) {
    asio::io_context io;
    muster::root_scope scope(deadline, {}, std::move(rec), &time);
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(scope.executor(io.get_executor()), std::move(body), [&](std::exception_ptr e) {
        error = e;
        done = true;
    });
    time.run(io);
    ASSERT_TRUE(done);
    if (error) std::rethrow_exception(error);
}

/// `run_traced` on a manual clock of its own.
template <class Body>
void run_traced(std::shared_ptr<recorder> rec, Body body) {
    manual_clock time;
    run_traced(std::move(rec), std::move(body), time);
}

const span* find(const recorder& r, const std::string& display_name) {
    for (const span& s : r.spans())
        if (r.display_name(s) == display_name) return &s;
    return nullptr;
}

TEST(TraceTest, SpansCarryLabelsStatusesErrorsAndTimings) {
    auto rec = std::make_shared<recorder>("invocation 1");
    const auto before = clock::now();
    run_traced(rec, []() -> asio::awaitable<void> {
        muster::options o;
        o.name = "records";
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(named("record 0 http://images.example.com/a.jpg", 5ms, 0));
        tasks.push_back(failing("HTTP 503 from images.example.com", 2ms));
        tasks.push_back(named("", 1ms, 2));
        auto r = co_await muster::gather(std::move(tasks), o);
        EXPECT_EQ(r.count(status::ok), 2u);
    });
    const recorder& r = *rec;
    ASSERT_EQ(r.spans().size(), 3u);
    ASSERT_EQ(r.collections().size(), 1u);
    EXPECT_EQ(r.collections()[0].name, "records");
    EXPECT_EQ(r.collections()[0].parent, 0u);

    const span* a = find(r, "record 0 http://images.example.com/a.jpg");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->status, status::ok);
    EXPECT_EQ(a->attempts, 1u);
    EXPECT_TRUE(a->done);
    EXPECT_TRUE(a->error.empty());
    EXPECT_EQ(a->index, 0u);
    EXPECT_GE(a->times.queued, before);
    EXPECT_GE(a->times.started, a->times.queued);
    EXPECT_EQ(a->times.finished - a->times.started, 5ms);

    const span* b = find(r, "records #1");
    ASSERT_NE(b, nullptr) << "an unnamed task shows its collection's name and index";
    EXPECT_EQ(b->status, status::failed);
    EXPECT_EQ(b->error, "HTTP 503 from images.example.com");

    EXPECT_NE(find(r, "records #2"), nullptr) << "an empty label leaves the default name";
    EXPECT_GE(r.end(), a->times.finished);
}

TEST(TraceTest, DeadlineRecordsTimedOutAndNotStarted) {
    manual_clock time;
    auto rec = std::make_shared<recorder>("", time.now());
    const auto deadline = time.now() + 30ms;
    run_traced(
        rec,
        []() -> asio::awaitable<void> {
            muster::options o;
            o.name = "slow";
            o.limit = 1;
            std::vector<asio::awaitable<int>> tasks;
            for (int i = 0; i < 3; ++i) tasks.push_back(named("", 10s, i));
            auto r = co_await muster::gather(std::move(tasks), o);
            EXPECT_EQ(r.count(status::not_started), 2u);
        },
        time, deadline);
    const recorder& r = *rec;
    ASSERT_EQ(r.spans().size(), 3u);
    const span* first = find(r, "slow #0");
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->status, status::timed_out);
    EXPECT_EQ(first->attempts, 1u);
    EXPECT_NE(first->error.find("deadline"), std::string::npos) << first->error;
    for (const char* name : {"slow #1", "slow #2"}) {
        const span* s = find(r, name);
        ASSERT_NE(s, nullptr) << name;
        EXPECT_EQ(s->status, status::not_started) << name;
        EXPECT_EQ(s->attempts, 0u);
        EXPECT_EQ(s->times.started, clock::time_point{}) << "it never started";
        EXPECT_EQ(s->times.finished, deadline) << "it waited until the deadline";
        EXPECT_LT(s->times.queued, deadline);
        EXPECT_NE(s->error.find("not started"), std::string::npos) << s->error;
        EXPECT_TRUE(s->done);
    }
}

TEST(TraceTest, TaskTimeoutStillAppliesToARecordedTask) {
    auto rec = std::make_shared<recorder>();
    run_traced(rec, []() -> asio::awaitable<void> {
        muster::options o;
        o.task_timeout = 20ms;
        std::vector<asio::awaitable<clock::duration>> tasks;
        tasks.push_back([]() -> asio::awaitable<clock::duration> {
            // The task's own scope carries its span and its timeout.
            const auto left = co_await muster::remaining();
            co_await sleep(10s);
            co_return left;
        }());
        auto r = co_await muster::gather(std::move(tasks), o);
        EXPECT_EQ(r[0].status(), status::timed_out);
    });
    ASSERT_EQ(rec->spans().size(), 1u);
    EXPECT_EQ(rec->spans()[0].status, status::timed_out);
    EXPECT_EQ(rec->spans()[0].times.run_time(), 20ms);
}

TEST(TraceTest, RetriesAreOneSpanWithEveryAttemptCounted) {
    auto rec = std::make_shared<recorder>();
    auto calls = std::make_shared<int>(0);
    run_traced(rec, [calls]() -> asio::awaitable<void> {
        muster::options o;
        o.name = "flaky";
        o.retry.attempts = 3;
        o.retry.initial_backoff = 1ms;
        std::vector<std::function<asio::awaitable<int>()>> tasks{
            [] { return failing("always down", 1ms); },
            [calls]() -> asio::awaitable<int> {
                if (++*calls == 1) co_await muster::name_task("second try wins");
                if (*calls < 2) throw std::runtime_error("down once");
                co_return 7;
            }};
        auto r = co_await muster::gather(std::move(tasks), o);
        EXPECT_EQ(r[0].attempts(), 3u);
    });
    const recorder& r = *rec;
    ASSERT_EQ(r.spans().size(), 2u) << "one span per task, not per attempt";
    const span* down = find(r, "flaky #0");
    ASSERT_NE(down, nullptr);
    EXPECT_EQ(down->status, status::failed);
    EXPECT_EQ(down->attempts, 3u);
    EXPECT_EQ(down->error, "always down");
    const span* wins = find(r, "second try wins");
    ASSERT_NE(wins, nullptr) << "a label given by one attempt stays";
    EXPECT_EQ(wins->status, status::ok);
    EXPECT_EQ(wins->attempts, 2u);
    EXPECT_TRUE(wins->error.empty()) << "the span of a task that recovered carries no error";
}

asio::awaitable<int> inner_fan(std::string who) {
    co_await muster::name_task(who);
    muster::options o;
    o.name = "parts of " + who;
    // Named before the co_await: GCC 12 destroys a capturing lambda written
    // inside a co_await expression twice.
    auto body = [who](muster::group<int>& g) -> asio::awaitable<void> {
        co_await g.spawn(named(who + " part a", 1ms, 1));
        co_await g.spawn(named(who + " part b", 2ms, 2));
    };
    auto r = co_await muster::with_group<int>(o, std::move(body));
    co_return static_cast<int>(r.size());
}

TEST(TraceTest, NestedCollectionsKnowTheTaskThatRanThem) {
    auto rec = std::make_shared<recorder>();
    run_traced(rec, []() -> asio::awaitable<void> {
        muster::options o;
        o.name = "outer";
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(inner_fan("left"));
        tasks.push_back(inner_fan("right"));
        auto r = co_await muster::gather(std::move(tasks), o);
        EXPECT_EQ(r.count(status::ok), 2u);
    });
    const recorder& r = *rec;
    ASSERT_EQ(r.spans().size(), 6u);
    ASSERT_EQ(r.collections().size(), 3u);
    for (const char* who : {"left", "right"}) {
        const span* outer = find(r, who);
        ASSERT_NE(outer, nullptr) << who;
        EXPECT_EQ(outer->parent, 0u);
        EXPECT_EQ(r.collections()[outer->collection].name, "outer");
        for (const char* part : {" part a", " part b"}) {
            const span* inner = find(r, std::string(who) + part);
            ASSERT_NE(inner, nullptr) << who << part;
            EXPECT_EQ(inner->parent, outer->id) << who << part;
            EXPECT_EQ(r.collections()[inner->collection].name, std::string("parts of ") + who);
            EXPECT_EQ(r.collections()[inner->collection].parent, outer->id);
            EXPECT_GE(inner->times.started, outer->times.started);
            EXPECT_LE(inner->times.finished, outer->times.finished);
        }
    }
}

TEST(TraceTest, AsCompletedAndPolicyCancellationAreRecorded) {
    auto rec = std::make_shared<recorder>();
    run_traced(rec, []() -> asio::awaitable<void> {
        muster::options o;
        o.name = "race";
        o.policy = muster::policy::fail_fast;
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(failing("lost", 2ms));
        tasks.push_back(named("slow", 10s, 1));
        auto s = muster::as_completed(std::move(tasks), o);
        while (auto d = co_await s.next()) {
        }
    });
    const recorder& r = *rec;
    ASSERT_EQ(r.spans().size(), 2u);
    EXPECT_EQ(find(r, "race #0")->status, status::failed);
    const span* slow = find(r, "slow");
    ASSERT_NE(slow, nullptr);
    EXPECT_EQ(slow->status, status::cancelled);
    EXPECT_NE(slow->error.find("fail_fast"), std::string::npos) << slow->error;
}

TEST(TraceTest, NothingIsRecordedWithoutARecorder) {
    // A scope without a recorder: name_task is a no-op and nothing breaks.
    asio::io_context io;
    muster::root_scope scope;
    EXPECT_EQ(scope.recorder(), nullptr);
    auto rec = std::make_shared<recorder>();
    bool done = false;
    asio::co_spawn(
        scope.executor(io.get_executor()),
        []() -> asio::awaitable<void> {
            co_await muster::name_task("outside any task");
            std::vector<asio::awaitable<int>> tasks;
            tasks.push_back(named("unrecorded", 1ms, 1));
            auto r = co_await muster::gather(std::move(tasks), muster::options{});
            EXPECT_TRUE(r[0].ok());
        },
        [&done](std::exception_ptr e) {
            EXPECT_FALSE(e);
            done = true;
        });
    // Nor does work outside any scope record into a recorder it never saw.
    asio::co_spawn(
        io,
        []() -> asio::awaitable<void> {
            co_await muster::name_task("no scope at all");
            std::vector<asio::awaitable<int>> tasks;
            tasks.push_back(named("plain", 1ms, 1));
            co_await muster::gather(std::move(tasks), muster::options{});
        },
        [](std::exception_ptr e) { EXPECT_FALSE(e); });
    io.run();
    EXPECT_TRUE(done);
    EXPECT_TRUE(rec->spans().empty());
    EXPECT_TRUE(rec->collections().empty());
    EXPECT_EQ(scope.ledger().stats().count(status::ok), 1u) << "the ledger still counts";
}

TEST(TraceTest, NameTaskOutsideACollectedTaskLabelsNothing) {
    auto rec = std::make_shared<recorder>();
    run_traced(rec, []() -> asio::awaitable<void> {
        co_await muster::name_task("the handler itself");
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(named("", 1ms, 1));
        co_await muster::gather(std::move(tasks), muster::options{});
    });
    ASSERT_EQ(rec->spans().size(), 1u);
    EXPECT_EQ(rec->display_name(rec->spans()[0]), "task #0");
}

TEST(TraceTest, SpansOverTheLimitAreCountedNotKept) {
    auto rec = std::make_shared<recorder>();
    rec->set_max_spans(3);
    run_traced(rec, []() -> asio::awaitable<void> {
        std::vector<asio::awaitable<int>> tasks;
        for (int i = 0; i < 5; ++i) tasks.push_back(named("t" + std::to_string(i), 1ms, i));
        auto r = co_await muster::gather(std::move(tasks), muster::options{});
        EXPECT_EQ(r.count(status::ok), 5u);
    });
    EXPECT_EQ(rec->spans().size(), 3u);
    EXPECT_EQ(rec->dropped(), 2u);
}

// ---- writers ---------------------------------------------------------------

std::shared_ptr<recorder> small_trace() {
    auto rec = std::make_shared<recorder>("req \"7\"");
    rec->set_attribute("request_id", "req-7");
    run_traced(rec, []() -> asio::awaitable<void> {
        muster::options o;
        o.name = "records";
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(
            named("quote \" backslash \\ newline \n tab \t bell \x07 <b>&</b>", 1ms, 0));
        tasks.push_back(failing("bad byte \xff and \xc3\xa9t\xc3\xa9", 1ms));
        co_await muster::gather(std::move(tasks), o);
    });
    rec->mark("response");
    return rec;
}

TEST(TraceTest, ChromeJsonEscapesStringsAndCarriesTheFields) {
    auto rec = small_trace();
    std::ostringstream os;
    muster::trace::write_chrome_json(*rec, os);
    const std::string json = os.str();
    EXPECT_EQ(json.rfind("{\"traceEvents\":[", 0), 0u) << json;
    EXPECT_NE(json.find("\"displayTimeUnit\":\"ms\""), std::string::npos);
    EXPECT_NE(json.find(R"("name":"quote \" backslash \\ newline \n tab \t bell \u0007 <b>&</b>")"),
              std::string::npos)
        << json;
    EXPECT_NE(json.find(R"("error":"bad byte \ufffd and )"
                        "\xc3\xa9t\xc3\xa9\""),
              std::string::npos)
        << "invalid UTF-8 is replaced, valid UTF-8 kept:\n"
        << json;
    EXPECT_NE(json.find(R"("cat":"records","ph":"X","ts":)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("args":{"status":"ok","attempts":1,"queued_us":)"), std::string::npos);
    EXPECT_NE(json.find(R"("args":{"status":"failed","attempts":1,"queued_us":)"),
              std::string::npos);
    EXPECT_NE(json.find(R"({"name":"response","ph":"i")"), std::string::npos);
    EXPECT_NE(json.find(R"("request_id":"req-7")"), std::string::npos);
    EXPECT_NE(json.find(R"("title":"req \"7\"")"), std::string::npos);
    for (char c : json) {
        EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 && c != '\n') << "raw control byte";
    }
}

TEST(TraceTest, ChromeJsonNumbersIgnoreTheLocale) {
    // Durations are printed with '.' whatever the C locale: checked by
    // the format of a known value rather than by switching locales.
    std::string out;
    muster::detail::append_micros(out, std::chrono::nanoseconds(1'234'560));
    EXPECT_EQ(out, "1234.56");
    out.clear();
    muster::detail::append_micros(out, std::chrono::nanoseconds(-5'000));
    EXPECT_EQ(out, "-5");
}

TEST(TraceTest, HtmlHasOneRowPerTaskEscapedAndNoExternalReferences) {
    auto rec = small_trace();
    std::ostringstream os;
    muster::trace::write_html(*rec, os);
    const std::string html = os.str();
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    auto count = [&html](const std::string& needle) {
        std::size_t n = 0;
        for (auto at = html.find(needle); at != std::string::npos; at = html.find(needle, at + 1))
            ++n;
        return n;
    };
    EXPECT_EQ(count("<div class=\"row s-ok\""), 1u);
    EXPECT_EQ(count("<div class=\"row s-failed\""), 1u);
    EXPECT_EQ(count("<details open><summary"), 1u);
    EXPECT_NE(html.find("quote &quot; backslash \\ newline &#10; tab   bell \xEF\xBF\xBD "
                        "&lt;b&gt;&amp;&lt;/b&gt;"),
              std::string::npos)
        << html;
    EXPECT_NE(html.find("req-7"), std::string::npos);
    EXPECT_NE(html.find("sum of task times"), std::string::npos);
    EXPECT_NE(html.find("response at"), std::string::npos);
    for (const char* external : {"http://", "https://", "<script", "<link", "src=", "@import"}) {
        EXPECT_EQ(html.find(external), std::string::npos) << external;
    }
}

TEST(TraceTest, HtmlFoldsANestedCollectionUnderItsTaskOnly) {
    auto rec = std::make_shared<recorder>();
    run_traced(rec, []() -> asio::awaitable<void> {
        muster::options o;
        o.name = "outer";
        std::vector<asio::awaitable<int>> tasks;
        tasks.push_back(inner_fan("left"));
        tasks.push_back(named("after", 1ms, 2));
        co_await muster::gather(std::move(tasks), o);
    });
    std::ostringstream os;
    muster::trace::write_html(*rec, os);
    const std::string html = os.str();
    const auto at = [&html](const std::string& needle) {
        const auto p = html.find(needle);
        EXPECT_NE(p, std::string::npos) << needle;
        return p;
    };
    const auto outer = at(">outer \xC2\xB7 2 tasks<");
    const auto left = at(">left</span>");
    const auto parts = at(">parts of left \xC2\xB7 2 tasks<");
    const auto part_b = at(">left part b</span>");
    const auto after = at(">after</span>");
    EXPECT_LT(outer, left);
    EXPECT_LT(left, parts) << "a nested collection follows the task that ran it";
    EXPECT_LT(parts, part_b);
    EXPECT_LT(part_b, after);
    // The nested group closes before the outer collection's next task, so
    // folding it hides its own tasks only.
    const std::string between = html.substr(part_b, after - part_b);
    EXPECT_EQ(between.find("</details>"), between.rfind("</details>")) << between;
    EXPECT_NE(between.find("</details>"), std::string::npos) << between;
    EXPECT_NE(html.find("</details>", after), std::string::npos) << "the outer group closes last";
}

}  // namespace

}  // namespace trace_test
