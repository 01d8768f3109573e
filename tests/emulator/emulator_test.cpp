#include <muster/emulator/emulator.hpp>

#include "test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <thread>

namespace muster::emulator::test {
namespace emulator_test {
namespace {

using namespace std::chrono_literals;

// The shell-and-curl runtime, with what it observes written to a probe file.
class ProtocolTest : public ::testing::Test {
  protected:
    void SetUp() override { clear_aws_environment(); }

    function_config config() {
        function_config c;
        c.command = {bootstraps_dir + "/protocol.sh"};
        c.environment = {{"PROBE_FILE", probe_file().string()}};
        return c;
    }
    fs::path probe_file() const { return dir_ / "probe.txt"; }

    // "label status" lines written by the bootstrap.
    std::map<std::string, std::string> probes() const {
        std::map<std::string, std::string> out;
        std::istringstream in(read_file(probe_file()));
        std::string label;
        std::string status;
        while (in >> label >> status) {
            out[label] = status;
        }
        return out;
    }

    temp_dir dir_;
    emulator_run run_;
};

TEST_F(ProtocolTest, DeliversTheEventAndReturnsTheResponseWarm) {
    auto results =
        run_.invoke_all(config(), {R"({"action":"echo","n":1})", R"({"action":"echo","n":2})"});
    ASSERT_EQ(results.size(), 2u);
    EXPECT_TRUE(results[0].ok()) << results[0].payload;
    EXPECT_EQ(results[0].payload.substr(0, 23), R"({"action":"echo","n":1})");
    EXPECT_EQ(results[1].payload.substr(0, 23), R"({"action":"echo","n":2})");
    EXPECT_NE(results[0].request_id, results[1].request_id);
    // Warm: one process for both.
    EXPECT_EQ(count_containing(run_.log, "INIT_START"), 1u) << joined(run_.log);
    EXPECT_EQ(count_containing(run_.log, "START RequestId: " + results[0].request_id), 1u);
    EXPECT_EQ(count_containing(run_.log, "END RequestId: " + results[1].request_id), 1u);
    EXPECT_EQ(count_containing(run_.log, "REPORT RequestId: "), 2u);
    EXPECT_EQ(count_containing(run_.log, "Init Duration: "), 1u);
    auto report = std::find_if(run_.log.begin(), run_.log.end(),
                               [](const std::string& l) { return l.rfind("REPORT", 0) == 0; });
    ASSERT_NE(report, run_.log.end());
    EXPECT_NE(report->find("Billed Duration: "), std::string::npos);
    EXPECT_NE(report->find("Memory Size: 128 MB"), std::string::npos);
    // bash and curl together use more than a megabyte.
    EXPECT_EQ(report->find("Max Memory Used: 0 MB"), std::string::npos) << *report;
}

TEST_F(ProtocolTest, NextCarriesLambdaHeadersAndEnvironment) {
    // The caller's library path is not the function's: it gets Lambda's.
    const char* caller_path = std::getenv("LD_LIBRARY_PATH");
    std::string saved = caller_path ? caller_path : "";
    ::setenv("LD_LIBRARY_PATH", "/the/callers/lib", 1);
    auto c = config();
    c.environment.emplace_back("CUSTOM", "yes");
    c.memory_mb = 512;
    c.function_name = "thumbs";
    c.timeout = 7s;
    auto before = std::chrono::system_clock::now();
    auto results = run_.invoke_all(c, {R"({"action":"headers"})"});
    ASSERT_TRUE(results[0].ok()) << results[0].payload;
    const std::string& p = results[0].payload;
    EXPECT_NE(p.find(R"("content_type":"application/json")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("trace_id":"Root=1-)"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("arn":"arn:aws:lambda:us-east-1:000000000000:function:thumbs")"),
              std::string::npos)
        << p;
    EXPECT_NE(p.find(R"("memory":"512")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("function_name":"thumbs")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("version":"$LATEST")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("region":"us-east-1")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("log_group":"/aws/lambda/thumbs")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("tz":":UTC")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("custom":"yes")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("max_concurrency":"")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("task_root":")" + bootstraps_dir + "\""), std::string::npos) << p;
    EXPECT_NE(p.find(R"("pwd":")" + bootstraps_dir + "\""), std::string::npos) << p;
    if (caller_path) {
        ::setenv("LD_LIBRARY_PATH", saved.c_str(), 1);
    } else {
        ::unsetenv("LD_LIBRARY_PATH");
    }
    EXPECT_NE(p.find(R"("ld_library_path":"/lib64:/usr/lib64:)" + bootstraps_dir + ":" +
                     bootstraps_dir + "/lib:/opt/lib\""),
              std::string::npos)
        << p;
    // An epoch deadline about `timeout` from now.
    auto at = p.find(R"("deadline_ms":")");
    ASSERT_NE(at, std::string::npos);
    long long deadline = std::stoll(p.substr(at + 15));
    long long now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
    EXPECT_GE(deadline, now_ms + 6000);
    EXPECT_LE(deadline, now_ms + 60000);
}

TEST_F(ProtocolTest, UnknownRequestIdIs400AndSecondPostIs403) {
    auto results = run_.invoke_all(config(), {R"({"action":"ids"})", R"({"action":"echo"})"});
    ASSERT_EQ(results.size(), 2u);
    EXPECT_TRUE(results[0].ok());
    EXPECT_EQ(results[0].payload, "\"first\"\n");
    auto seen = probes();
    EXPECT_EQ(seen["unknown_id"], "400");
    EXPECT_EQ(seen["first"], "202");
    EXPECT_EQ(seen["second"], "403");
    EXPECT_EQ(seen["error_after"], "403");
}

TEST_F(ProtocolTest, OversizedResponseIs413AndFailsTheInvocation) {
    auto results = run_.invoke_all(config(), {R"({"action":"big"})", R"({"action":"echo"})"});
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].status, invoke_status::function_error);
    EXPECT_EQ(results[0].error_type, "Function.ResponseSizeTooLarge");
    EXPECT_TRUE(results[1].ok()) << "the emulator stays up";
    // curl announced its 7 MiB with Expect: 100-continue: refused unsent.
    EXPECT_EQ(
        results[0].payload,
        R"({"errorMessage":"Response payload size (7340032 bytes) exceeded maximum )"
        R"(allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"})");
    EXPECT_EQ(count_containing(run_.log,
                               "Error: Response payload size (7340032 bytes) exceeded "
                               "maximum allowed payload size (6291556 bytes)."),
              1u)
        << joined(run_.log);
    auto seen = probes();
    EXPECT_EQ(seen["big"], "413");
    EXPECT_EQ(seen["error_after_big"], "403");
}

TEST_F(ProtocolTest, ResponseLimitIsLambdasAndTheMessageStatesTheSize) {
    // 6,291,556 bytes (6 MiB + 100) pass on Lambda; one more does not.
    auto results = run_.invoke_all(
        config(), {R"({"action":"size","bytes":6291556})", R"({"action":"size","bytes":6291557})"});
    ASSERT_EQ(results.size(), 2u);
    EXPECT_TRUE(results[0].ok()) << results[0].payload.substr(0, 200);
    EXPECT_EQ(results[0].payload.size(), 6291556u);
    EXPECT_EQ(results[1].status, invoke_status::function_error);
    EXPECT_EQ(results[1].error_type, "Function.ResponseSizeTooLarge");
    EXPECT_NE(results[1].payload.find("Response payload size (6291557 bytes) exceeded maximum "
                                      "allowed payload size (6291556 bytes)."),
              std::string::npos)
        << results[1].payload;
    auto seen = probes();
    EXPECT_EQ(seen["size"], "413") << "the last post";
}

TEST_F(ProtocolTest, OversizedOrInvalidRequestIsRejectedBeforeTheFunction) {
    std::string big = R"({"pad":")" + std::string(7 * 1024 * 1024, 'x') + R"("})";
    auto results = run_.invoke_all(config(), {big, "{not json", R"({"action":"echo"})"});
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].status, invoke_status::rejected);
    EXPECT_EQ(results[0].error_type, "RequestEntityTooLargeException");
    EXPECT_EQ(results[1].status, invoke_status::rejected);
    EXPECT_EQ(results[1].error_type, "InvalidRequestContentException");
    EXPECT_TRUE(results[2].ok());
    EXPECT_EQ(count_containing(run_.log, "START RequestId"), 1u) << joined(run_.log);
}

TEST_F(ProtocolTest, ErrorPostBecomesAFunctionError) {
    auto results = run_.invoke_all(config(), {R"({"action":"error"})"});
    EXPECT_EQ(results[0].status, invoke_status::function_error);
    EXPECT_EQ(results[0].error_type, "Custom.Broken");
    EXPECT_NE(results[0].payload.find(R"("errorMessage":"it broke")"), std::string::npos);
}

TEST_F(ProtocolTest, CrashIsAFunctionErrorAndTheNextInvocationRestarts) {
    auto results = run_.invoke_all(config(), {R"({"action":"crash"})", R"({"action":"echo"})"});
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].status, invoke_status::function_error);
    EXPECT_EQ(results[0].error_type, "Runtime.ExitError");
    EXPECT_NE(results[0].payload.find("Runtime exited with error: exit status 3"),
              std::string::npos)
        << results[0].payload;
    EXPECT_TRUE(results[1].ok());
    EXPECT_EQ(count_containing(run_.log, "INIT_START"), 2u) << joined(run_.log);
}

TEST_F(ProtocolTest, GarbageHttpGets400AndTheEmulatorStaysUp) {
    auto results = run_.invoke_all(config(), {R"({"action":"garbage"})", R"({"action":"echo"})"});
    ASSERT_EQ(results.size(), 2u);
    EXPECT_TRUE(results[0].ok()) << results[0].payload;
    EXPECT_TRUE(results[1].ok());
    EXPECT_EQ(probes()["garbage"], "400");
    EXPECT_EQ(count_containing(run_.log, "malformed HTTP"), 1u) << joined(run_.log);
}

TEST_F(ProtocolTest, TimeoutKillsTheWholeProcessGroupAndRestarts) {
    auto c = config();
    c.timeout = 1500ms;
    auto results = run_.invoke_all(c, {R"({"action":"spawn"})", R"({"action":"echo"})"});
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].error_type, "Sandbox.Timedout");
    EXPECT_NE(results[0].payload.find("Task timed out after 1.50 seconds"), std::string::npos)
        << results[0].payload;
    EXPECT_EQ(count_containing(run_.log, "Task timed out after 1.50 seconds"), 1u);
    EXPECT_EQ(count_containing(run_.log, "Status: timeout"), 1u);
    EXPECT_TRUE(results[1].ok());
    EXPECT_EQ(count_containing(run_.log, "INIT_START"), 2u);
    // The bootstrap's own child (a `sleep 300`) went with it.
    pid_t child = std::stoi(probes()["child_pid"]);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
        gone = ::kill(child, 0) != 0 && errno == ESRCH;
        if (!gone) {
            std::this_thread::sleep_for(20ms);
        }
    }
    EXPECT_TRUE(gone) << "pid " << child << " survived the timeout";
}

TEST_F(ProtocolTest, InitErrorFailsTheInvocationAndEndsTheProcess) {
    auto c = config();
    c.environment.emplace_back("INIT_FAIL", "1");
    auto start = std::chrono::steady_clock::now();
    auto results = run_.invoke_all(c, {R"({"action":"echo"})"});
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s)
        << "the bootstrap sleeps 30 s after /init/error";
    EXPECT_EQ(results[0].status, invoke_status::function_error);
    EXPECT_EQ(results[0].error_type, "Custom.InitFailure");
    EXPECT_NE(results[0].payload.find("init went wrong"), std::string::npos);
    EXPECT_EQ(count_containing(run_.log, "Status: error\tError Type: Custom.InitFailure"), 1u)
        << joined(run_.log);
}

TEST_F(ProtocolTest, ManagedInstancesRunInvocationsAtOnce) {
    auto c = config();
    c.concurrency = 2;
    std::vector<invoke_result> results(2);
    run_(c, [&](emulator& function) -> net::awaitable<void> {
        int finished = 0;
        auto ex = co_await net::this_coro::executor;
        net::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
        for (std::size_t i = 0; i < 2; ++i) {
            invoke_request request;
            request.payload = R"({"action":"sleep","seconds":1})";
            std::function<void()> then = [&finished, &all_done] {
                if (++finished == 2) {
                    all_done.cancel();
                }
            };
            net::co_spawn(ex, invoke_into(&function, std::move(request), &results[i], then),
                          net::detached);
        }
        while (finished < 2) {
            co_await all_done.async_wait(net::as_tuple(net::use_awaitable));
        }
    });
    EXPECT_TRUE(results[0].ok()) << results[0].payload;
    EXPECT_TRUE(results[1].ok()) << results[1].payload;
    // The function's own record of its two sleeps: each began before the
    // other ended. In sequence, one would begin after the other's end.
    std::vector<long long> starts;
    std::vector<long long> ends;
    for (const auto& [label, value] : probes()) {
        if (label.rfind("sleep_start_", 0) == 0) starts.push_back(std::stoll(value));
        if (label.rfind("sleep_end_", 0) == 0) ends.push_back(std::stoll(value));
    }
    ASSERT_EQ(starts.size(), 2u) << read_file(probe_file());
    ASSERT_EQ(ends.size(), 2u) << read_file(probe_file());
    EXPECT_LT(*std::max_element(starts.begin(), starts.end()),
              *std::min_element(ends.begin(), ends.end()))
        << "the two invocations did not overlap:\n"
        << read_file(probe_file());
}

TEST(EmulatorTest, MissingBootstrapFailsTheInvocationAndTheEmulatorStaysUp) {
    emulator_run run;
    function_config c;
    c.command = {"/nonexistent/muster/bootstrap"};
    auto results = run.invoke_all(c, {"{}", "{}"});
    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results) {
        EXPECT_EQ(r.status, invoke_status::function_error);
        EXPECT_EQ(r.error_type, "Runtime.InvalidEntrypoint");
        EXPECT_NE(r.payload.find("No such file or directory"), std::string::npos) << r.payload;
    }
}

TEST(EmulatorTest, InitTimeoutFailsTheInvocation) {
    emulator_run run;
    function_config c;
    c.command = {"sleep", "30"};
    c.init_timeout = 500ms;
    auto results = run.invoke_all(c, {"{}"});
    EXPECT_EQ(results[0].error_type, "Sandbox.Timedout");
    EXPECT_NE(results[0].payload.find("Init timed out after 0.50 seconds"), std::string::npos);
    EXPECT_EQ(count_containing(run.log, "Status: timeout"), 1u);
}

TEST(EmulatorTest, ShutdownSendsSigtermThenSigkill) {
    temp_dir dir;
    write_file(dir / "stubborn.sh", "#!/bin/sh\ntrap '' TERM\nwhile true; do sleep 0.05; done\n",
               true);
    emulator_run run;
    function_config c;
    c.command = {(dir / "stubborn.sh").string()};
    c.shutdown_grace = 300ms;
    invoke_result result;
    auto start = std::chrono::steady_clock::now();
    run(c, [&](emulator& function) -> net::awaitable<void> {
        auto ex = co_await net::this_coro::executor;
        net::co_spawn(ex, invoke_into(&function, invoke_request{}, &result, {}), net::detached);
        co_await sleep_for(200ms);
        EXPECT_GT(function.bootstrap_pid(), 0);
    });
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_EQ(result.status, invoke_status::rejected);
    EXPECT_EQ(count_containing(run.log, "did not stop within 0.30 seconds of SIGTERM"), 1u)
        << joined(run.log);
}

TEST(CheckCommandTest, NamesWhatIsWrongWithTheBootstrap) {
    temp_dir dir;
    write_file(dir / "plain", "#!/bin/sh\n");
    EXPECT_NE(check_command({(dir / "missing").string()})->find("No such file"), std::string::npos);
    EXPECT_NE(check_command({(dir / "plain").string()})->find("not executable"), std::string::npos);
    EXPECT_NE(check_command({dir.path().string()})->find("is a directory"), std::string::npos);
    EXPECT_NE(check_command({"no-such-program-anywhere"})->find("not found in PATH"),
              std::string::npos);
    EXPECT_TRUE(check_command({})) << "an empty command is refused";
    EXPECT_FALSE(check_command({"sh"}));
    EXPECT_FALSE(check_command({bootstraps_dir + "/protocol.sh"}));
}

// Background work left running by a function: frozen between invocations.
class FreezeTest : public ::testing::Test {
  protected:
    void SetUp() override { clear_aws_environment(); }

    // Bytes the ticker wrote while the function sat idle between two invocations.
    std::size_t growth_between_invocations(bool freeze) {
        function_config c;
        c.command = {bootstraps_dir + "/freeze.sh"};
        c.environment = {{"TICK_FILE", ticks().string()}};
        c.freeze = freeze;
        std::size_t before = 0;
        std::size_t after = 0;
        emulator_run run;
        run(c, [&](emulator& function) -> net::awaitable<void> {
            invoke_request first;
            auto r1 = co_await function.invoke(std::move(first));
            EXPECT_TRUE(r1.ok());
            // Let the runtime reach its next /next (and, with freezing, be
            // stopped: state T in /proc/<pid>/stat).
            if (freeze) {
                for (int i = 0; i < 250 && !stopped(function.bootstrap_pid()); ++i) {
                    co_await sleep_for(20ms);
                }
                EXPECT_TRUE(stopped(function.bootstrap_pid()));
            } else {
                co_await sleep_for(300ms);
            }
            before = fs::file_size(ticks());
            co_await sleep_for(400ms);
            after = fs::file_size(ticks());
            invoke_request second;
            auto r2 = co_await function.invoke(std::move(second));
            EXPECT_TRUE(r2.ok());
        });
        return after - before;
    }
    fs::path ticks() const { return dir_ / "ticks"; }

    static bool stopped(int pid) {
        std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
        auto paren = stat.rfind(')');
        return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T';
    }

    temp_dir dir_;
};

TEST_F(FreezeTest, BackgroundWorkDoesNotRunBetweenInvocations) {
    EXPECT_EQ(growth_between_invocations(true), 0u);
}

TEST_F(FreezeTest, WithFreezingOffBackgroundWorkRunsBetweenInvocations) {
    // Proves the test above can see writes: at 10 ms a tick, 400 ms is plenty.
    EXPECT_GT(growth_between_invocations(false), 0u);
}

}  // namespace
}  // namespace emulator_test
}  // namespace muster::emulator::test
