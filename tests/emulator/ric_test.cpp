// AWS's own runtime interface client (npm aws-lambda-ric 3.x, built on AWS's
// C++ runtime) running Node handlers against muster's emulator: a client
// that shares no code with the emulator.

#include <muster/emulator/emulator.hpp>

#include "test_support.hpp"

#include <signal.h>

#include <thread>

namespace muster::emulator::test {
namespace ric_test {
namespace {

using namespace std::chrono_literals;

const std::string peers_dir = MUSTER_TEST_PEERS_DIR;
const std::string handlers_dir = MUSTER_TEST_RIC_HANDLERS;

class RicTest : public ::testing::Test {
  protected:
    void SetUp() override {
        clear_aws_environment();
        if (!fs::exists(ric())) {
            GTEST_SKIP() << "aws-lambda-ric is not installed in " << peers_dir
                         << " (scripts/install-test-peers.sh " << peers_dir << ")";
        }
    }

    static std::string ric() { return peers_dir + "/node_modules/aws-lambda-ric/bin/index.mjs"; }

    static function_config config(const std::string& handler) {
        function_config c;
        c.command = {"node", ric(), "index." + handler};
        c.handler = "index." + handler;
        c.task_root = handlers_dir;
        c.timeout = 5s;
        return c;
    }

    emulator_run run_;
};

TEST_F(RicTest, SuccessWarmTwice) {
    auto results = run_.invoke_all(config("ok"), {R"({"n":1})", R"({"n":2})"});
    ASSERT_EQ(results.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& r = results[i];
        ASSERT_TRUE(r.ok()) << r.payload << joined(run_.log);
        EXPECT_NE(r.payload.find(R"("event":{"n":)" + std::to_string(i + 1) + "}"),
                  std::string::npos)
            << r.payload;
        // The client read our request id and epoch deadline.
        EXPECT_NE(r.payload.find(R"("requestId":")" + r.request_id + "\""), std::string::npos)
            << r.payload;
        auto at = r.payload.find(R"("remaining":)");
        ASSERT_NE(at, std::string::npos);
        int remaining = std::stoi(r.payload.substr(at + 12));
        EXPECT_GT(remaining, 3000);
        EXPECT_LE(remaining, 5000);
    }
    EXPECT_EQ(count_containing(run_.log, "INIT_START"), 1u) << joined(run_.log);
    EXPECT_EQ(count_containing(run_.log, "REPORT RequestId: "), 2u);
}

TEST_F(RicTest, HandlerErrorIsAFunctionError) {
    auto results = run_.invoke_all(config("fail"), {"{}", "{}"});
    for (const auto& r : results) {
        EXPECT_EQ(r.status, invoke_status::function_error);
        EXPECT_EQ(r.error_type, "PurposeError");
        EXPECT_NE(r.payload.find("the handler failed on purpose"), std::string::npos) << r.payload;
    }
    EXPECT_EQ(count_containing(run_.log, "INIT_START"), 1u) << "an error keeps the process";
}

TEST_F(RicTest, UnknownHandlerIsAnInitError) {
    auto results = run_.invoke_all(config("missing"), {"{}"});
    EXPECT_EQ(results[0].status, invoke_status::function_error);
    EXPECT_EQ(results[0].error_type, "Runtime.HandlerNotFound");
    EXPECT_NE(results[0].payload.find("index.missing is undefined or not exported"),
              std::string::npos)
        << results[0].payload;
    EXPECT_EQ(count_containing(run_.log,
                               "Phase: init\tStatus: error\tError Type: Runtime.HandlerNotFound"),
              1u)
        << joined(run_.log);
}

TEST_F(RicTest, StreamingResponseArrivesPieceByPiece) {
    std::vector<std::string> chunks;
    invoke_result result;
    run_(config("stream"), [&](emulator& function) -> net::awaitable<void> {
        invoke_request request;
        request.on_stream_chunk = [&chunks](std::string_view c) { chunks.emplace_back(c); };
        result = co_await function.invoke(std::move(request));
    });
    EXPECT_TRUE(result.ok()) << result.payload;
    EXPECT_TRUE(result.streamed);
    std::string all;
    for (const auto& c : chunks) {
        all += c;
    }
    EXPECT_EQ(all, "first,second,last");
    EXPECT_GE(chunks.size(), 2u) << "the pieces were written 50 ms apart";
}

TEST_F(RicTest, StreamingResponseIsCollectedWithoutAChunkCallback) {
    auto results = run_.invoke_all(config("stream"), {"{}"});
    EXPECT_TRUE(results[0].ok());
    EXPECT_TRUE(results[0].streamed);
    EXPECT_EQ(results[0].payload, "first,second,last");
}

TEST_F(RicTest, StreamingErrorTrailerFailsTheInvocation) {
    auto results = run_.invoke_all(config("streamFail"), {"{}"});
    EXPECT_EQ(results[0].status, invoke_status::function_error);
    EXPECT_TRUE(results[0].streamed);
    EXPECT_EQ(results[0].error_type, "Error");
    EXPECT_NE(results[0].payload.find("the stream broke on purpose"), std::string::npos)
        << results[0].payload;
}

TEST_F(RicTest, TimeoutKillsTheClientAndTheNextInvocationStartsAFreshOne) {
    auto c = config("slow");
    c.timeout = 1s;
    std::vector<invoke_result> results;
    run_(c, [&](emulator& function) -> net::awaitable<void> {
        invoke_request a;
        results.push_back(co_await function.invoke(std::move(a)));
        invoke_request b;
        results.push_back(co_await function.invoke(std::move(b)));
    });
    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results) {
        EXPECT_EQ(r.error_type, "Sandbox.Timedout");
        EXPECT_NE(r.payload.find("Task timed out after 1.00 seconds"), std::string::npos);
    }
    EXPECT_EQ(count_containing(run_.log, "INIT_START"), 2u) << joined(run_.log);
}

TEST_F(RicTest, ServeStreamsThroughTheInvokeRoute) {
    temp_dir dir;
    std::string line = cli + " serve --port 0 --task-root " + handlers_dir + " -- node " + ric() +
                       " index.stream 2>" + (dir / "serve.err").string() +
                       " >/dev/null & echo $! >" + (dir / "serve.pid").string();
    ASSERT_EQ(std::system(line.c_str()), 0);
    pid_t pid = std::stoi(read_file(dir / "serve.pid"));
    std::string port;
    for (int i = 0; i < 500 && port.empty(); ++i) {
        std::string err = read_file(dir / "serve.err");
        auto at = err.find("listening on http://127.0.0.1:");
        if (at != std::string::npos) {
            auto start = at + std::string("listening on http://127.0.0.1:").size();
            port = err.substr(start, err.find('/', start) - start);
        } else {
            std::this_thread::sleep_for(20ms);
        }
    }
    ASSERT_FALSE(port.empty());
    auto r = run_command("curl -sS -D " + (dir / "headers").string() +
                             " -d '{}' http://127.0.0.1:" + port +
                             "/2015-03-31/functions/function/invocations",
                         dir);
    ::kill(pid, SIGTERM);
    EXPECT_EQ(r.out, "first,second,last") << r.err << read_file(dir / "serve.err");
    EXPECT_NE(read_file(dir / "headers").find("Transfer-Encoding: chunked"), std::string::npos)
        << read_file(dir / "headers");
    for (int i = 0; i < 250 && ::kill(pid, 0) == 0; ++i) {
        std::this_thread::sleep_for(20ms);
    }
}

}  // namespace
}  // namespace ric_test
}  // namespace muster::emulator::test
