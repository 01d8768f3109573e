// The runtime as Lambda runs it: the test function is a separate process,
// started with a Lambda environment, talking to a scripted Runtime API
// that shares no code with muster::lambda.
#include <muster/lambda.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "child_process.hpp"
#include "fake_runtime_api.hpp"

namespace runtime_test {

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using muster_test::child_process;
using muster_test::fake_runtime_api;
using muster_test::recorded_request;
using muster_test::scripted_invocation;
using std::chrono::system_clock;

const std::string answer_prefix = "/2018-06-01/runtime/invocation/";

json::value parse(const std::string& s) {
    boost::system::error_code ec;
    auto v = json::parse(s, ec);
    if (ec) ADD_FAILURE() << "not JSON: " << s;
    return v;
}

std::vector<json::object> emf_lines(const std::string& out) {
    std::vector<json::object> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        if (!ec && v.is_object() && v.as_object().contains("_aws")) lines.push_back(v.as_object());
    }
    return lines;
}

scripted_invocation event(std::string id, std::string payload = "{}",
                          std::chrono::milliseconds timeout = 10s) {
    scripted_invocation inv;
    inv.request_id = std::move(id);
    inv.payload = std::move(payload);
    inv.deadline = system_clock::now() + timeout;
    return inv;
}

/// A fresh directory under the system's temporary directory, removed with
/// its contents at the end of the test.
class temp_dir {
  public:
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "muster-runtime-test-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Waits until every one of `paths` exists.
bool wait_for_files(const std::vector<std::filesystem::path>& paths,
                    std::chrono::milliseconds timeout = 20s) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (std::all_of(paths.begin(), paths.end(),
                        [](const auto& p) { return std::filesystem::exists(p); }))
            return true;
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(10ms);
    }
}

class RuntimeTest : public ::testing::Test {
  protected:
    std::unique_ptr<child_process> start(const std::string& handler,
                                         std::map<std::string, std::string> env = {},
                                         std::string api_address = {}) {
        env.emplace("AWS_LAMBDA_RUNTIME_API", api_address.empty() ? api.address() : api_address);
        env.emplace("_HANDLER", handler);
        env.emplace("AWS_LAMBDA_FUNCTION_NAME", "muster-test");
        return std::make_unique<child_process>(std::vector<std::string>{MUSTER_TEST_FUNCTION},
                                               std::move(env));
    }

    fake_runtime_api api;
};

TEST_F(RuntimeTest, JsonHandlerEchoesEventsOnOneConnection) {
    auto fn = start("echo");
    api.enqueue(event("r1", R"({"a":1})"));
    api.enqueue(event("r2", R"([1,2,3])"));
    auto a1 = api.wait_for_answer("r1");
    auto a2 = api.wait_for_answer("r2");
    ASSERT_TRUE(a1 && a2) << fn->err();
    EXPECT_EQ(a1->target, answer_prefix + "r1/response");
    EXPECT_EQ(parse(a1->body), parse(R"({"echo":{"a":1}})"));
    EXPECT_EQ(parse(a2->body), parse(R"({"echo":[1,2,3]})"));
    EXPECT_EQ(a1->header("content-type"), "application/json");
    // Keep-alive: one connection served both rounds (the server saw no close).
    EXPECT_TRUE(fn->running());
}

TEST_F(RuntimeTest, AcceptsHttpSchemeAndPathPrefix) {
    fake_runtime_api prefixed("/proxy/lambda");
    auto fn = start("echo", {}, "http://" + prefixed.address() + "/");
    prefixed.enqueue(event("p1", "7"));
    auto a = prefixed.wait_for_answer("p1");
    ASSERT_TRUE(a) << fn->err();
    EXPECT_EQ(a->target, "/proxy/lambda" + answer_prefix + "p1/response");
    EXPECT_EQ(parse(a->body), parse(R"({"echo":7})"));
}

TEST_F(RuntimeTest, InvocationCarriesEveryHeaderAndTheTraceIdEnvironment) {
    auto fn = start("info");
    auto inv = event("r1", "payload-text", 5s);
    inv.headers = {{"Lambda-Runtime-Trace-Id", "Root=1-abc;Sampled=1"},
                   {"Lambda-Runtime-Client-Context", R"({"client":{}})"},
                   {"Lambda-Runtime-Cognito-Identity", R"({"cognitoIdentityId":"x"})"},
                   {"Lambda-Runtime-Aws-Tenant-Id", "tenant-7"}};
    api.enqueue(inv);
    auto a = api.wait_for_answer("r1");
    ASSERT_TRUE(a) << fn->err();
    const auto o = parse(a->body).as_object();
    EXPECT_EQ(o.at("request_id"), "r1");
    EXPECT_EQ(o.at("function_arn"), "arn:aws:lambda:us-east-1:123456789012:function:test");
    EXPECT_EQ(o.at("trace_id"), "Root=1-abc;Sampled=1");
    EXPECT_EQ(o.at("env_trace_id"), "Root=1-abc;Sampled=1");
    EXPECT_EQ(o.at("scope_trace_id"), "Root=1-abc;Sampled=1");
    EXPECT_EQ(o.at("client_context"), R"({"client":{}})");
    EXPECT_EQ(o.at("cognito_identity"), R"({"cognitoIdentityId":"x"})");
    EXPECT_EQ(o.at("tenant_id"), "tenant-7");
    EXPECT_EQ(o.at("payload"), "payload-text");
    EXPECT_TRUE(o.at("has_deadline").as_bool());
    // The handler's deadline sits the safety margin (250 ms, at most a
    // tenth of the time left) before the platform's, and the handler's
    // scope carries the same deadline.
    const auto remaining = o.at("remaining_ms").as_int64();
    const auto platform = o.at("platform_remaining_ms").as_int64();
    EXPECT_GE(platform - remaining, 200);
    EXPECT_LE(platform - remaining, 300);
    EXPECT_LE(std::abs(o.at("scope_remaining_ms").as_int64() - remaining), 50);
}

TEST_F(RuntimeTest, CopesWithNoContentTypeAndNonEpochDeadlineWarningOnce) {
    auto fn = start("info");
    for (std::string id : {"r1", "r2"}) {
        scripted_invocation inv;
        inv.request_id = id;
        inv.raw_deadline = "5000";  // what @vercel/fun sends
        inv.content_type = false;
        api.enqueue(inv);
    }
    auto a1 = api.wait_for_answer("r1");
    auto a2 = api.wait_for_answer("r2");
    ASSERT_TRUE(a1 && a2) << fn->err();
    EXPECT_FALSE(parse(a1->body).as_object().at("has_deadline").as_bool());
    EXPECT_TRUE(parse(a2->body).as_object().at("env_trace_id").is_null());
    const std::string err = fn->err();
    const std::string warning = "Lambda-Runtime-Deadline-Ms: 5000 is not an epoch time";
    ASSERT_NE(err.find(warning), std::string::npos) << err;
    EXPECT_EQ(err.find(warning), err.rfind(warning)) << "warned more than once:\n" << err;
}

TEST_F(RuntimeTest, MissingOrGarbledDeadlineMeansNoDeadline) {
    auto fn = start("info");
    scripted_invocation missing;
    missing.request_id = "r1";
    api.enqueue(missing);
    scripted_invocation garbled;
    garbled.request_id = "r2";
    garbled.raw_deadline = "soon";
    api.enqueue(garbled);
    auto a1 = api.wait_for_answer("r1");
    auto a2 = api.wait_for_answer("r2");
    ASSERT_TRUE(a1 && a2) << fn->err();
    EXPECT_FALSE(parse(a1->body).as_object().at("has_deadline").as_bool());
    EXPECT_FALSE(parse(a2->body).as_object().at("has_deadline").as_bool());
    EXPECT_NE(fn->err().find("sent no Lambda-Runtime-Deadline-Ms"), std::string::npos);
}

TEST_F(RuntimeTest, HandlerExceptionIsPostedAsErrorAndTheLoopGoesOn) {
    auto fn = start("throw");
    api.enqueue(event("r1", "first"));
    api.enqueue(event("r2", "second"));
    auto a1 = api.wait_for_answer("r1");
    auto a2 = api.wait_for_answer("r2");
    ASSERT_TRUE(a1 && a2) << fn->err();
    EXPECT_EQ(a1->target, answer_prefix + "r1/error");
    EXPECT_EQ(a1->header("lambda-runtime-function-error-type"), "std::runtime_error");
    const auto o = parse(a1->body).as_object();
    EXPECT_EQ(o.at("errorType"), "std::runtime_error");
    EXPECT_EQ(o.at("errorMessage"), "it broke: first");
    EXPECT_TRUE(o.at("stackTrace").is_array());
    EXPECT_EQ(parse(a2->body).as_object().at("errorMessage"), "it broke: second");
    EXPECT_TRUE(fn->running());
}

TEST_F(RuntimeTest, FunctionErrorChoosesTheErrorType) {
    auto fn = start("function_error");
    api.enqueue(event("r1"));
    auto a = api.wait_for_answer("r1");
    ASSERT_TRUE(a) << fn->err();
    EXPECT_EQ(a->header("lambda-runtime-function-error-type"), "ImageTooLarge");
    EXPECT_EQ(parse(a->body).as_object().at("errorMessage"), "42 MB is over the limit");
}

TEST_F(RuntimeTest, MalformedJsonEventIsAnUnmarshalError) {
    auto fn = start("echo");
    api.enqueue(event("r1", "{not json"));
    api.enqueue(event("r2", "{}"));
    auto a1 = api.wait_for_answer("r1");
    auto a2 = api.wait_for_answer("r2");
    ASSERT_TRUE(a1 && a2) << fn->err();
    EXPECT_EQ(a1->target, answer_prefix + "r1/error");
    EXPECT_EQ(parse(a1->body).as_object().at("errorType"), "Runtime.UnmarshalError");
    EXPECT_EQ(a2->target, answer_prefix + "r2/response");
}

TEST_F(RuntimeTest, ThrowingInitIsReportedToInitErrorAndExitsOne) {
    auto fn = start("echo", {{"MUSTER_TEST_INIT_FAIL", "1"}});
    EXPECT_EQ(fn->wait(20s), 1) << fn->err();
    auto posts = api.wait_for(
        1, [](const recorded_request& r) { return r.target == "/2018-06-01/runtime/init/error"; });
    ASSERT_EQ(posts.size(), 1u);
    EXPECT_EQ(posts[0].header("lambda-runtime-function-error-type"), "std::runtime_error");
    EXPECT_EQ(parse(posts[0].body).as_object().at("errorMessage"),
              "the configuration bucket is missing");
    EXPECT_EQ(api.next_count(), 0u) << "no /next before init succeeded";
}

TEST_F(RuntimeTest, BadEnvironmentIsAnInitError) {
    auto fn = start("echo", {{"AWS_LAMBDA_MAX_CONCURRENCY", "lots"}});
    EXPECT_EQ(fn->wait(20s), 1);
    auto posts = api.wait_for(
        1, [](const recorded_request& r) { return r.target == "/2018-06-01/runtime/init/error"; });
    ASSERT_EQ(posts.size(), 1u) << fn->err();
    EXPECT_EQ(posts[0].header("lambda-runtime-function-error-type"), "Runtime.InvalidEnvironment");
    EXPECT_NE(parse(posts[0].body)
                  .as_object()
                  .at("errorMessage")
                  .as_string()
                  .find("AWS_LAMBDA_MAX_CONCURRENCY=lots"),
              std::string::npos);
}

TEST_F(RuntimeTest, UnknownHandlerIsAnInitError) {
    auto fn = start("no-such-handler");
    EXPECT_EQ(fn->wait(20s), 1);
    EXPECT_EQ(api.wait_for(1,
                           [](const recorded_request& r) {
                               return r.target == "/2018-06-01/runtime/init/error";
                           })
                  .size(),
              1u);
}

TEST_F(RuntimeTest, MissingRuntimeApiExitsWithAClearMessage) {
    std::map<std::string, std::string> env{{"_HANDLER", "echo"}};
    child_process fn({MUSTER_TEST_FUNCTION}, env);
    EXPECT_EQ(fn.wait(20s), 1);
    EXPECT_NE(fn.err().find("AWS_LAMBDA_RUNTIME_API is not set"), std::string::npos) << fn.err();
}

TEST_F(RuntimeTest, TooLargeResponseIsReportedWithoutPostingError) {
    api.set_post_status([](const recorded_request& r) -> std::optional<int> {
        if (r.body.size() > 6 * 1024 * 1024) return 413;
        return std::nullopt;
    });
    auto fn = start("big");
    api.enqueue(event("r1", R"({"bytes":7340032})"));
    api.enqueue(event("r2", R"({"bytes":10})"));
    auto a2 = api.wait_for_answer("r2");
    ASSERT_TRUE(a2) << fn->err();
    const auto posts = api.wait_for(0, [](const recorded_request& r) {
        return r.method == "POST" && r.target.find("/r1/") != std::string::npos;
    });
    ASSERT_EQ(posts.size(), 1u) << "exactly one post for r1: no /error after the 413";
    EXPECT_EQ(posts[0].target, answer_prefix + "r1/response");
    EXPECT_NE(fn->err().find("too large"), std::string::npos) << fn->err();
}

TEST_F(RuntimeTest, RefusedPostsAreLoggedAndTheLoopGoesOn) {
    api.set_post_status([](const recorded_request& r) -> std::optional<int> {
        if (r.target.find("/r1/") != std::string::npos) return 400;
        if (r.target.find("/r2/") != std::string::npos) return 403;
        return std::nullopt;
    });
    auto fn = start("echo");
    api.enqueue(event("r1"));
    api.enqueue(event("r2"));
    api.enqueue(event("r3"));
    ASSERT_TRUE(api.wait_for_answer("r3")) << fn->err();
    const std::string err = fn->err();
    EXPECT_NE(err.find("bad request (400)"), std::string::npos) << err;
    EXPECT_NE(err.find("403: the invocation was already answered"), std::string::npos) << err;
}

TEST_F(RuntimeTest, PostThatLosesItsConnectionIsRetriedWithTheBackoff) {
    int dropped = 0;  // read under the server's lock
    api.set_post_status([&dropped](const recorded_request& r) -> std::optional<int> {
        if (r.target.find("/r1/") != std::string::npos && dropped < 3) {
            ++dropped;
            return 0;
        }
        return std::nullopt;
    });
    // On a manual clock the backoff is instant and its schedule exact.
    auto fn = start("echo", {{"MUSTER_TEST_MANUAL_CLOCK", "1"}});
    api.enqueue(event("r1"));
    api.enqueue(event("r2"));
    // r2 is handed out only once r1's post went through.
    ASSERT_TRUE(api.wait_for_answer("r2")) << fn->err();
    const auto r1_posts = api.wait_for(4, [](const recorded_request& r) {
        return r.method == "POST" && r.target.find("/r1/") != std::string::npos;
    });
    EXPECT_EQ(r1_posts.size(), 4u) << "three lost, the fourth answered\n" << fn->err();
    const std::string err = fn->err();
    // The client resends once on a fresh connection by itself when a reused
    // one fails; the third drop is the backoff's second retry.
    const std::string failed = "posting to /2018-06-01/runtime/invocation/r1/response failed (";
    const auto first = err.find(failed);
    ASSERT_NE(first, std::string::npos) << err;
    const auto second = err.find(failed, first + 1);
    ASSERT_NE(second, std::string::npos) << err;
    EXPECT_NE(err.find("retrying in 20 ms", first), std::string::npos) << err;
    EXPECT_NE(err.find("retrying in 80 ms", second), std::string::npos) << err;
    EXPECT_EQ(err.find(failed, second + 1), std::string::npos) << err;
    EXPECT_EQ(err.find("could not post"), std::string::npos) << err;
}

TEST_F(RuntimeTest, ServerErrorOnResponseEndsTheRuntime) {
    api.set_post_status([](const recorded_request&) -> std::optional<int> { return 500; });
    auto fn = start("echo");
    api.enqueue(event("r1"));
    EXPECT_EQ(fn->wait(20s), 2) << fn->err();
    EXPECT_NE(fn->err().find("(500)"), std::string::npos) << fn->err();
}

TEST_F(RuntimeTest, ServerErrorOnNextEndsTheRuntime) {
    api.set_next_status(500);
    auto fn = start("echo");
    EXPECT_EQ(fn->wait(20s), 2) << fn->err();
    EXPECT_EQ(api.next_count(), 1u) << "500 is fatal: no retry";
}

TEST_F(RuntimeTest, UnreachableRuntimeApiRetriesThenExits) {
    std::string closed;
    {
        fake_runtime_api gone;
        closed = gone.address();
    }
    // On a manual clock the backoff is instant and its schedule exact.
    auto fn = start("echo", {{"MUSTER_TEST_MANUAL_CLOCK", "1"}}, closed);
    EXPECT_EQ(fn->wait(30s), 2) << fn->err();
    const std::string err = fn->err();
    EXPECT_NE(err.find("could not be reached for /next after 7 attempts over 3420 ms"),
              std::string::npos)
        << err;
    std::size_t at = 0;
    for (const char* delay : {"20", "80", "320", "1000", "1000", "1000"}) {
        at = err.find(std::string("retrying in ") + delay + " ms", at);
        ASSERT_NE(at, std::string::npos) << "no retry after " << delay << " ms in order:\n" << err;
        ++at;
    }
    EXPECT_EQ(err.find("retrying in", at), std::string::npos) << "a seventh retry:\n" << err;
}

TEST_F(RuntimeTest, ReconnectsWhenTheServerClosesEachConnection) {
    api.set_close_after_each(true);
    auto fn = start("echo");
    for (std::string id : {"r1", "r2", "r3"}) api.enqueue(event(id));
    ASSERT_TRUE(api.wait_for_answer("r3")) << fn->err();
    EXPECT_TRUE(api.wait_for_answer("r1") && api.wait_for_answer("r2"));
}

TEST_F(RuntimeTest, LeakedTimerIsReportedAndNeverFiresInALaterInvocation) {
    auto fn = start("leak_timer");
    api.enqueue(event("r1"));
    ASSERT_TRUE(api.wait_for_answer("r1")) << fn->err();
    // The timer would fire 100 ms after r1 started; r2 only comes later and
    // runs the same handler (which leaks again, reported again).
    std::this_thread::sleep_for(300ms);
    api.enqueue(event("r2"));
    ASSERT_TRUE(api.wait_for_answer("r2")) << fn->err();
    std::this_thread::sleep_for(300ms);
    api.enqueue(event("r3"));
    ASSERT_TRUE(api.wait_for_answer("r3")) << fn->err();
    const std::string err = fn->err();
    EXPECT_EQ(err.find("LEAKED TIMER FIRED"), std::string::npos) << err;
    EXPECT_NE(err.find("still pending when the handler returned"), std::string::npos) << err;
    const auto metrics = emf_lines(fn->out());
    ASSERT_GE(metrics.size(), 1u) << fn->out();
    EXPECT_GE(metrics[0].at("PendingWorkAtEnd").as_int64(), 1);
}

TEST_F(RuntimeTest, AfterResponseRunsAfterThePostAndBeforeTheNextPoll) {
    auto fn = start("after_response");
    api.enqueue(event("r1"));
    auto a = api.wait_for_answer("r1");
    ASSERT_TRUE(a) << fn->err();
    auto polls = api.wait_for(2, [](const recorded_request& r) { return r.method == "GET"; });
    ASSERT_EQ(polls.size(), 2u) << fn->err();
    EXPECT_GE(polls[1].at - a->at, 200ms) << "the second /next waited for after_response";
    const std::string err = fn->err();
    EXPECT_NE(err.find("AFTER RESPONSE RAN"), std::string::npos) << err;
    EXPECT_NE(err.find("after_response failed: std::runtime_error: flush failed"),
              std::string::npos)
        << err;
}

TEST_F(RuntimeTest, FanOutPastTheDeadlineReturnsPartialResultsInTime) {
    auto fn = start("fanout", {{"MUSTER_DEADLINE_MARGIN_MS", "150"}});
    auto inv = event("r1", R"({"n":100,"task_ms":10000})", 1500ms);
    const auto platform_deadline = std::chrono::steady_clock::now() + 1500ms;
    api.enqueue(inv);
    auto a = api.wait_for_answer("r1");
    ASSERT_TRUE(a) << fn->err();
    EXPECT_LT(a->at, platform_deadline) << "answered before the platform would have killed it";
    const auto o = parse(a->body).as_object();
    EXPECT_EQ(o.at("counts").at("timed_out"), 100) << a->body;
    api.wait_for(2, [](const recorded_request& r) { return r.method == "GET"; });
    const auto metrics = emf_lines(fn->out());
    ASSERT_EQ(metrics.size(), 1u);
    EXPECT_EQ(metrics[0].at("TasksTimedOut"), 100);
}

TEST_F(RuntimeTest, ManagedInstancesRunInvocationsConcurrentlyEachInItsOwnScope) {
    auto fn = start("concurrent", {{"AWS_LAMBDA_MAX_CONCURRENCY", "8"}});
    for (int i = 0; i < 8; ++i) {
        // Each its own deadline and number of tasks.
        api.enqueue(event("c" + std::to_string(i),
                          R"({"tasks":)" + std::to_string(i + 1) + R"(,"ms":300})",
                          std::chrono::milliseconds(5000 + 500 * i)));
    }
    for (int i = 0; i < 8; ++i) {
        auto a = api.wait_for_answer("c" + std::to_string(i));
        ASSERT_TRUE(a) << fn->err();
        const auto o = parse(a->body).as_object();
        EXPECT_EQ(o.at("request_id").as_string(), "c" + std::to_string(i));
        EXPECT_EQ(o.at("tasks"), i + 1);
        EXPECT_TRUE(o.at("deadline_matches").as_bool()) << a->body;
    }
    // All eight were in flight together: the last was handed out before the
    // first was answered.
    const auto dispatched = api.dispatched();
    auto first_answer = api.wait_for_answer("c0")->at;
    for (int i = 1; i < 8; ++i)
        first_answer = std::min(first_answer, api.wait_for_answer("c" + std::to_string(i))->at);
    for (const auto& [id, at] : dispatched) EXPECT_LT(at, first_answer) << id;
    // The metrics of each invocation count only its own tasks. Each poller
    // writes them before it polls again.
    api.wait_for(16, [](const recorded_request& r) { return r.method == "GET"; });
    const auto metrics = emf_lines(fn->out());
    ASSERT_EQ(metrics.size(), 8u);
    for (const auto& m : metrics) {
        const std::string id(m.at("RequestId").as_string());
        EXPECT_EQ(m.at("TasksOk").as_int64(), std::stoi(id.substr(1)) + 1) << id;
    }
}

TEST_F(RuntimeTest, TraceIdIsInTheScopeNotTheEnvironmentWithConcurrency) {
    auto fn = start("info", {{"AWS_LAMBDA_MAX_CONCURRENCY", "2"}});
    auto inv = event("r1");
    inv.headers = {{"Lambda-Runtime-Trace-Id", "Root=1-abc"}};
    api.enqueue(inv);
    auto a = api.wait_for_answer("r1");
    ASSERT_TRUE(a) << fn->err();
    EXPECT_TRUE(parse(a->body).as_object().at("env_trace_id").is_null());
    EXPECT_EQ(parse(a->body).as_object().at("trace_id"), "Root=1-abc");
    // The invocation's scope carries it instead, for muster::http and the like.
    EXPECT_EQ(parse(a->body).as_object().at("scope_trace_id"), "Root=1-abc");
}

TEST_F(RuntimeTest, JsonLogFormatStampsTheRequestIdAndFiltersByLevel) {
    auto fn = start("log", {{"AWS_LAMBDA_LOG_FORMAT", "JSON"}, {"AWS_LAMBDA_LOG_LEVEL", "WARN"}});
    api.enqueue(event("r1"));
    ASSERT_TRUE(api.wait_for_answer("r1")) << fn->err();
    std::istringstream in(fn->err());
    std::vector<json::object> lines;
    for (std::string line; std::getline(in, line);) {
        auto v = parse(line);
        if (v.is_object()) lines.push_back(v.as_object());
    }
    ASSERT_EQ(lines.size(), 2u) << fn->err();
    EXPECT_EQ(lines[0].at("level"), "WARN");
    EXPECT_EQ(lines[0].at("message"), "a warn line");
    EXPECT_EQ(lines[0].at("requestId"), "r1");
    EXPECT_EQ(lines[1].at("level"), "ERROR");
    EXPECT_TRUE(lines[1].contains("timestamp"));
}

TEST_F(RuntimeTest, TextLogFormatIsTabSeparated) {
    auto fn = start("log");
    api.enqueue(event("r1"));
    ASSERT_TRUE(api.wait_for_answer("r1")) << fn->err();
    const std::string err = fn->err();
    EXPECT_NE(err.find("\tr1\tINFO\tan info line\n"), std::string::npos) << err;
    EXPECT_EQ(err.find("a debug line"), std::string::npos) << err;
}

TEST_F(RuntimeTest, MetricsLineFollowsEmbeddedMetricFormat) {
    auto fn = start("fanout");
    api.enqueue(event("r1", R"({"n":3,"task_ms":1})"));
    ASSERT_TRUE(api.wait_for_answer("r1")) << fn->err();
    auto polls = api.wait_for(2, [](const recorded_request& r) { return r.method == "GET"; });
    const auto metrics = emf_lines(fn->out());
    ASSERT_EQ(metrics.size(), 1u) << fn->out();
    const auto& m = metrics[0];
    const auto& directive = m.at("_aws").at("CloudWatchMetrics").at(0).as_object();
    EXPECT_EQ(directive.at("Namespace"), "muster");
    EXPECT_EQ(directive.at("Dimensions").at(0).at(0), "FunctionName");
    EXPECT_EQ(m.at("FunctionName"), "muster-test");
    EXPECT_EQ(m.at("TasksOk"), 3);
    EXPECT_EQ(m.at("TaskLatency").as_array().size(), 3u);
    EXPECT_EQ(m.at("PendingWorkAtEnd"), 0);
    for (const auto& def : directive.at("Metrics").as_array()) {
        EXPECT_TRUE(m.contains(def.at("Name").as_string())) << def;
    }
}

TEST_F(RuntimeTest, TraceFilesAreWrittenAfterTheResponseWithEveryTaskSpan) {
    temp_dir tmp;
    const auto dir = tmp.path() / "traces" / "nested";  // created by the runtime
    auto fn = start("traced", {{"MUSTER_TRACE", dir.string()}});
    api.enqueue(event("trace-1", R"({"after_ms":400})"));
    auto a = api.wait_for_answer("trace-1");
    ASSERT_TRUE(a) << fn->err();
    EXPECT_EQ(parse(a->body), parse(R"({"ok":4,"not_started":1})")) << a->body;
    // The response did not wait for the trace: the after_response work
    // (400 ms) still runs, and the files come after it.
    EXPECT_FALSE(std::filesystem::exists(dir / "trace-1.html"));
    ASSERT_TRUE(wait_for_files({dir / "trace-1.trace.json", dir / "trace-1.html"})) << fn->err();

    const json::object doc = parse(read_file(dir / "trace-1.trace.json")).as_object();
    EXPECT_EQ(doc.at("displayTimeUnit"), "ms");
    EXPECT_EQ(doc.at("otherData").at("request_id"), "trace-1");
    std::map<std::string, json::object> tasks;  // X events by name
    double response_ts = -1;
    for (const auto& v : doc.at("traceEvents").as_array()) {
        const json::object& e = v.as_object();
        if (e.at("ph") == "i" && e.at("name") == "response posted")
            response_ts = e.at("ts").to_number<double>();
        if (e.at("ph") != "X") continue;
        for (const char* key : {"name", "cat", "ts", "dur", "pid", "tid", "args"})
            EXPECT_TRUE(e.contains(key)) << key << " missing in " << e;
        for (const char* key : {"status", "attempts", "queued_us", "error"})
            EXPECT_TRUE(e.at("args").as_object().contains(key)) << key << " missing in " << e;
        const double ts = e.at("ts").to_number<double>();
        EXPECT_GE(ts, 0) << "relative to the invocation's start: " << e;
        EXPECT_LT(ts, 10e6) << e;
        tasks.emplace(std::string(e.at("name").as_string()), e);
    }
    ASSERT_EQ(tasks.size(), 11u) << json::serialize(doc);
    auto arg = [&tasks](const std::string& name, const char* key) -> json::value {
        auto it = tasks.find(name);
        if (it == tasks.end()) {
            ADD_FAILURE() << "no span named " << name;
            return nullptr;
        }
        return it->second.at("args").at(key);
    };
    for (int i = 0; i < 3; ++i) {
        const std::string name = "record " + std::to_string(i) + " http://images.example.com/" +
                                 std::to_string(i) + ".jpg";
        EXPECT_EQ(arg(name, "status"), "ok") << name;
        EXPECT_EQ(arg(name, "attempts"), 1) << name;
        EXPECT_EQ(tasks[name].at("cat"), "records");
    }
    EXPECT_EQ(arg("records #3", "status"), "failed");
    EXPECT_EQ(arg("records #3", "attempts"), 2) << "retried once";
    EXPECT_EQ(arg("records #3", "error"), "HTTP 503 from images.example.com");
    EXPECT_EQ(arg("records #4", "status"), "timed_out");
    EXPECT_GT(arg("records #4", "queued_us").to_number<double>(), 10'000)
        << "it waited for one of the three slots";
    EXPECT_EQ(arg("records #5", "status"), "ok");
    EXPECT_EQ(arg("parts #0", "status"), "ok");
    EXPECT_EQ(arg("parts #1", "parent"), arg("records #5", "span")) << "nested under its task";
    EXPECT_EQ(arg("late #0", "status"), "timed_out");
    EXPECT_EQ(arg("late #1", "status"), "not_started");
    EXPECT_EQ(arg("late #1", "attempts"), 0);
    EXPECT_EQ(arg("cleanup #0", "status"), "ok");
    ASSERT_GE(response_ts, 0) << "the response is marked";
    EXPECT_GT(tasks["cleanup #0"].at("ts").to_number<double>(), response_ts)
        << "after_response work is in the trace, after the response";

    const std::string html = read_file(dir / "trace-1.html");
    std::size_t rows = 0;
    for (auto at = html.find("<div class=\"row s-"); at != std::string::npos;
         at = html.find("<div class=\"row s-", at + 1))
        ++rows;
    EXPECT_EQ(rows, 11u);
    EXPECT_NE(html.find("trace-1"), std::string::npos);
    EXPECT_EQ(fn->err().find("MUSTER_TRACE"), std::string::npos) << fn->err();
    std::error_code ec;
    EXPECT_FALSE(std::filesystem::exists(dir / "trace-1.html.partial", ec));
}

TEST_F(RuntimeTest, TraceThatCannotBeWrittenIsLoggedAndTheInvocationsGoOn) {
    temp_dir tmp;
    std::ofstream(tmp.path() / "file") << "not a directory";
    auto fn = start("traced", {{"MUSTER_TRACE", (tmp.path() / "file" / "traces").string()}});
    api.enqueue(event("t1", R"({"after_ms":1})"));
    api.enqueue(event("t2", R"({"after_ms":1})"));
    auto a1 = api.wait_for_answer("t1");
    auto a2 = api.wait_for_answer("t2");
    ASSERT_TRUE(a1 && a2) << fn->err();
    EXPECT_EQ(a1->target, answer_prefix + "t1/response");
    EXPECT_EQ(a2->target, answer_prefix + "t2/response");
    api.wait_for(3, [](const recorded_request& r) { return r.method == "GET"; });
    EXPECT_NE(fn->err().find("MUSTER_TRACE: cannot create the directory"), std::string::npos)
        << fn->err();
    EXPECT_TRUE(fn->running());
}

// The wire format of a streamed response, as AWS's own clients send it
// (aws-lambda-ric's streamifyResponse, the Rust runtime): a chunked
// /response with the streaming mode header and the announced error trailers.
TEST_F(RuntimeTest, StreamedResponseIsAChunkedPostAnnouncingTheErrorTrailers) {
    auto fn = start("stream_gate");
    const auto gate =
        std::filesystem::temp_directory_path() / ("muster-gate-" + std::to_string(::getpid()));
    std::ofstream(gate) << "open";
    api.enqueue(event("s1", json::serialize(json::object{{"gate", gate.string()}})));
    auto a = api.wait_for_answer("s1");
    std::filesystem::remove(gate);
    ASSERT_TRUE(a) << fn->err();
    EXPECT_EQ(a->target, answer_prefix + "s1/response");
    EXPECT_EQ(a->header("lambda-runtime-function-response-mode"), "streaming");
    EXPECT_EQ(a->header("transfer-encoding"), "chunked");
    EXPECT_EQ(a->header("content-length"), "");
    EXPECT_EQ(a->header("trailer"),
              "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body");
    EXPECT_EQ(a->header("content-type"), "text/plain");
    EXPECT_EQ(a->body, "first\nsecond\n");
    EXPECT_EQ(a->header("lambda-runtime-function-error-type"), "") << "no error, no trailer";
    EXPECT_TRUE(fn->running());
}

TEST_F(RuntimeTest, StreamedFailureAfterTheFirstByteIsSentAsTrailers) {
    auto fn = start("stream_fail");
    api.enqueue(event("s1"));
    api.enqueue(event("s2"));
    auto a1 = api.wait_for_answer("s1");
    auto a2 = api.wait_for_answer("s2");
    ASSERT_TRUE(a1 && a2) << fn->err();
    EXPECT_EQ(a1->target, answer_prefix + "s1/response") << "not /error: the stream had begun";
    EXPECT_EQ(a1->body, "partial\n");
    EXPECT_EQ(a1->header("content-type"), "application/octet-stream");
    EXPECT_EQ(a1->header("lambda-runtime-function-error-type"), "StreamBroke");
    const auto doc =
        parse(muster::lambda::base64_decode(a1->header("lambda-runtime-function-error-body")));
    EXPECT_EQ(doc, parse(R"({"errorMessage":"the stream broke on purpose",
        "errorType":"StreamBroke","stackTrace":[]})"));
    // The connection stays usable: the second invocation is answered too.
    EXPECT_EQ(a2->header("lambda-runtime-function-error-type"), "StreamBroke");
    EXPECT_NE(fn->err().find("after 8 bytes of the streamed response"), std::string::npos)
        << fn->err();
}

TEST_F(RuntimeTest, StreamedFailureBeforeTheFirstByteIsPostedToError) {
    auto fn = start("stream_fail_early");
    api.enqueue(event("s1"));
    auto a = api.wait_for_answer("s1");
    ASSERT_TRUE(a) << fn->err();
    EXPECT_EQ(a->target, answer_prefix + "s1/error");
    EXPECT_EQ(a->header("lambda-runtime-function-error-type"), "NothingWritten");
    EXPECT_EQ(a->header("lambda-runtime-function-response-mode"), "");
}

}  // namespace

}  // namespace runtime_test
