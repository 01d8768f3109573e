// The muster CLI, run as a user runs it: `muster invoke` and `muster serve`
// with curl as the client.

#include "test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <thread>

namespace muster::emulator::test {
namespace cli_test {
namespace {

using namespace std::chrono_literals;

class CliTest : public ::testing::Test {
  protected:
    void SetUp() override { clear_aws_environment(); }

    std::string protocol() const { return bootstraps_dir + "/protocol.sh"; }

    command_result muster(const std::string& args) { return run_command(cli + " " + args, dir_); }

    temp_dir dir_;
};

TEST_F(CliTest, HelpOnEveryCommand) {
    auto top = muster("--help");
    EXPECT_EQ(top.exit_code, 0);
    EXPECT_NE(top.out.find("invoke"), std::string::npos) << top.out;
    EXPECT_NE(top.out.find("serve"), std::string::npos);
    auto invoke = muster("invoke --help");
    EXPECT_EQ(invoke.exit_code, 0);
    EXPECT_NE(invoke.out.find("--event"), std::string::npos) << invoke.out;
    EXPECT_NE(invoke.out.find("--concurrency"), std::string::npos);
    EXPECT_NE(invoke.out.find("--no-freeze"), std::string::npos);
    EXPECT_NE(invoke.out.find("--trace"), std::string::npos);
    auto serve = muster("serve --help");
    EXPECT_EQ(serve.exit_code, 0);
    EXPECT_NE(serve.out.find("--port"), std::string::npos) << serve.out;
    EXPECT_NE(serve.out.find("--trace"), std::string::npos) << serve.out;
}

TEST_F(CliTest, TraceOptionGivesTheFunctionMusterTraceAsAnAbsolutePath) {
    write_file(dir_ / "event.json", R"({"action":"headers"})");
    // Relative to where muster runs, though the function runs in its task root.
    auto r = run_command("cd " + dir_.path().string() + " && " + cli +
                             " invoke --trace traces/ --event event.json -- " + protocol(),
                         dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string expected = (dir_.path() / "traces").string();
    EXPECT_NE(r.out.find("\"trace\":\"" + expected + "\""), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("traces go to " + expected + "/<request-id>.html"), std::string::npos)
        << r.err;
    auto without = muster("invoke --event " + (dir_ / "event.json").string() + " -- " + protocol());
    EXPECT_NE(without.out.find(R"("trace":"")"), std::string::npos) << without.out;
}

TEST_F(CliTest, NoCommandOrNoBootstrapIsAUsageError) {
    EXPECT_NE(muster("").exit_code, 0);
    auto r = muster("invoke");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("bootstrap"), std::string::npos) << r.err;
}

TEST_F(CliTest, MissingBootstrapIsReportedClearly) {
    auto r = muster("invoke -- " + (dir_ / "bootstrap").string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("muster: the bootstrap '" + (dir_ / "bootstrap").string() +
                         "' cannot be used: No such file or directory"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, NonExecutableBootstrapIsReportedClearly) {
    write_file(dir_ / "bootstrap", "#!/bin/sh\n");
    auto r = muster("invoke -- " + (dir_ / "bootstrap").string());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("is not executable (chmod +x it)"), std::string::npos) << r.err;
}

TEST_F(CliTest, EventThatIsNotJsonIsReportedWithItsPosition) {
    write_file(dir_ / "event.json", "{\n  \"a\": 1,\n  oops\n}\n");
    auto r = muster("invoke --event " + (dir_ / "event.json").string() + " -- " + protocol());
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("the event is not valid JSON (line 3, column 3)"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("START"), std::string::npos) << "nothing was started";
}

TEST_F(CliTest, InvokePrintsResponsesOnStdoutAndPlatformLinesOnStderr) {
    write_file(dir_ / "events.json", R"([{"action":"echo","n":1},{"action":"echo","n":2}])");
    auto r = muster("invoke --event " + (dir_ / "events.json").string() + " -- " + protocol());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "{\"action\":\"echo\",\"n\":1}\n{\"action\":\"echo\",\"n\":2}\n");
    EXPECT_NE(r.err.find("START RequestId: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("REPORT RequestId: "), std::string::npos);
    EXPECT_EQ(r.err.find("INIT_START", r.err.find("INIT_START") + 1), std::string::npos)
        << "both invocations ran in one warm process";
}

TEST_F(CliTest, EventFromStdin) {
    auto r = run_command("echo '{\"action\":\"echo\",\"via\":\"stdin\"}' | " + cli +
                             " invoke --event - -- " + protocol(),
                         dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(R"("via":"stdin")"), std::string::npos) << r.out;
}

TEST_F(CliTest, FunctionErrorExitsNonZeroWithTheErrorDocument) {
    write_file(dir_ / "events.json", R"([{"action":"error"},{"action":"echo"}])");
    auto r = muster("invoke --event " + (dir_ / "events.json").string() + " -- " + protocol());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.out.find(R"("errorType":"Custom.Broken")"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(R"({"action":"echo"})"), std::string::npos) << "the second still ran";
}

TEST_F(CliTest, TimeoutIsReportedLikeLambda) {
    write_file(dir_ / "event.json", R"({"action":"sleep","seconds":5})");
    auto r = muster("invoke --timeout 1 --event " + (dir_ / "event.json").string() + " -- " +
                    protocol());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("Task timed out after 1.00 seconds"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find(R"("errorType":"Sandbox.Timedout")"), std::string::npos) << r.out;
}

// `muster serve` in the background, on a free port, driven with curl.
class ServeTest : public CliTest {
  protected:
    // limits: shell commands run before (e.g. "ulimit -n 40").
    void start(const std::string& options, const std::string& limits = "true") {
        std::string line = "(" + limits + " && exec " + cli + " serve --port 0 " + options +
                           " -- " + protocol() + ") 2>" + (dir_ / "serve.err").string() +
                           " >/dev/null & echo $! >" + (dir_ / "serve.pid").string();
        ASSERT_EQ(std::system(line.c_str()), 0);
        pid_ = std::stoi(read_file(dir_ / "serve.pid"));
        for (int i = 0; i < 500 && port_.empty(); ++i) {
            std::string err = read_file(dir_ / "serve.err");
            auto at = err.find("listening on http://127.0.0.1:");
            if (at != std::string::npos) {
                auto start = at + std::string("listening on http://127.0.0.1:").size();
                port_ = err.substr(start, err.find('/', start) - start);
            } else {
                std::this_thread::sleep_for(20ms);
            }
        }
        ASSERT_FALSE(port_.empty()) << read_file(dir_ / "serve.err");
    }

    void TearDown() override {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            for (int i = 0; i < 250 && ::kill(pid_, 0) == 0; ++i) {
                std::this_thread::sleep_for(20ms);
            }
        }
    }

    std::string url() const {
        return "http://127.0.0.1:" + port_ + "/2015-03-31/functions/function/invocations";
    }

    // curl's answer: "<status>\n<headers>\n<body>".
    command_result curl(const std::string& args) {
        return run_command("curl -sS -D " + (dir_ / "headers").string() + " " + args, dir_);
    }
    std::string headers() const { return read_file(dir_ / "headers"); }
    std::string log() const { return read_file(dir_ / "serve.err"); }

    pid_t pid_ = 0;
    std::string port_;
};

TEST_F(ServeTest, CurlInvokesTheWarmFunction) {
    start("");
    auto first = curl("-d '{\"action\":\"echo\",\"n\":1}' " + url());
    EXPECT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(first.out, "{\"action\":\"echo\",\"n\":1}");
    EXPECT_NE(headers().find("HTTP/1.1 200"), std::string::npos) << headers();
    EXPECT_NE(headers().find("x-amzn-RequestId: "), std::string::npos) << headers();
    auto second = curl("-d '{\"action\":\"echo\",\"n\":2}' " + url());
    EXPECT_EQ(second.out, "{\"action\":\"echo\",\"n\":2}");
    auto err = log();
    EXPECT_NE(err.find("REPORT RequestId: "), std::string::npos) << err;
    EXPECT_EQ(err.find("INIT_START", err.find("INIT_START") + 1), std::string::npos) << err;
}

TEST_F(ServeTest, FunctionErrorCarriesXAmzFunctionError) {
    start("");
    auto r = curl("-d '{\"action\":\"error\"}' " + url());
    EXPECT_NE(headers().find("HTTP/1.1 200"), std::string::npos) << headers();
    EXPECT_NE(headers().find("X-Amz-Function-Error: Unhandled"), std::string::npos) << headers();
    EXPECT_NE(r.out.find(R"("errorType":"Custom.Broken")"), std::string::npos) << r.out;
}

TEST_F(ServeTest, BadRequestsGetAwsStatusesAndTheServerStaysUp) {
    start("");
    // Over 6 MiB: 413, whether or not curl waits for 100-continue.
    run_command("(head -c 7340032 /dev/zero | tr '\\0' 'a' >" + (dir_ / "big").string() + ")",
                dir_);
    auto big = curl("-o /dev/null -w '%{http_code}' --data-binary @" + (dir_ / "big").string() +
                    " " + url());
    EXPECT_EQ(big.out, "413") << big.err;
    auto big_no_expect = curl("-o /dev/null -w '%{http_code}' -H 'Expect:' --data-binary @" +
                              (dir_ / "big").string() + " " + url());
    EXPECT_EQ(big_no_expect.out, "413") << big_no_expect.err;
    auto invalid = curl("-o /dev/null -w '%{http_code}' -d '{oops' " + url());
    EXPECT_EQ(invalid.out, "400");
    auto wrong = curl("-o /dev/null -w '%{http_code}' -d '{}' http://127.0.0.1:" + port_ + "/nope");
    EXPECT_EQ(wrong.out, "404");
    auto fine = curl("-d '{\"action\":\"echo\"}' " + url());
    EXPECT_EQ(fine.out, "{\"action\":\"echo\"}");
}

TEST_F(ServeTest, ClientThatDisconnectsMidInvocationDoesNotStopTheServer) {
    start("");
    // curl closes (a FIN, which a half-close also sends): the answer is
    // written as usual and lost with the connection.
    auto gone = curl("--max-time 0.5 -d '{\"action\":\"sleep\",\"seconds\":1}' " + url());
    EXPECT_NE(gone.exit_code, 0) << "curl gave up";
    auto next = curl("-d '{\"action\":\"echo\",\"after\":\"disconnect\"}' " + url());
    EXPECT_EQ(next.out, "{\"action\":\"echo\",\"after\":\"disconnect\"}") << next.err << log();
}

// CPU seconds (user + system) the process has used, from /proc/<pid>/stat.
double cpu_seconds(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14 || i == 15) {  // utime, stime
            ticks += std::stod(field);
        }
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

TEST_F(ServeTest, AcceptBacksOffWhenDescriptorsRunOutAndResumes) {
    start("", "ulimit -n 48");
    auto warm = curl("-d '{\"action\":\"echo\",\"n\":1}' " + url());
    ASSERT_EQ(warm.out, "{\"action\":\"echo\",\"n\":1}") << warm.err << log();
    // More connections than the server has descriptors: it accepts until
    // accept fails with EMFILE, and the rest wait in the backlog.
    std::vector<int> held;
    for (int i = 0; i < 80; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port_)));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        held.push_back(fd);
    }
    for (int i = 0; i < 250 && log().find("cannot accept connections") == std::string::npos; ++i) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_NE(log().find("muster serve: cannot accept connections (Too many open files)"),
              std::string::npos)
        << log();
    // Waiting for descriptors costs next to no CPU (a retry spin costs a core).
    double before = cpu_seconds(pid_);
    std::this_thread::sleep_for(2s);
    double used = cpu_seconds(pid_) - before;
    EXPECT_LT(used, 0.5) << "CPU seconds used in 2 s while out of descriptors";
    for (int fd : held) {
        ::close(fd);
    }
    auto after = curl("--max-time 20 -d '{\"action\":\"echo\",\"n\":2}' " + url());
    EXPECT_EQ(after.out, "{\"action\":\"echo\",\"n\":2}") << after.err << log();
    EXPECT_NE(log().find("muster serve: accepting connections again"), std::string::npos) << log();
}

TEST_F(ServeTest, ConcurrentRequestsQueueWithConcurrencyOne) {
    start("");
    auto r = run_command("(for i in 1 2 3; do curl -sS -d '{\"action\":\"echo\",\"i\":'$i'}' " +
                             url() + " & done; wait)",
                         dir_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const char* i : {"1", "2", "3"}) {
        EXPECT_NE(r.out.find(std::string("\"i\":") + i), std::string::npos) << r.out;
    }
}

}  // namespace
}  // namespace cli_test
}  // namespace muster::emulator::test
