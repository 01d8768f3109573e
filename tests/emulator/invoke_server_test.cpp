// The invoke route against clients that misbehave, on purpose or not: they
// half-close, pipeline, trickle their header, announce bodies that never
// come, sit idle, open too many connections. Real sockets on 127.0.0.1; the
// server and its emulator run on their own thread, the clients on the test's.

#include <muster/emulator/invoke_server.hpp>

#include "test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace muster::emulator::test {
namespace invoke_server_test {
namespace {

using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace http = beast::http;

const std::string invocations = "/2015-03-31/functions/function/invocations";

std::string post(const std::string& body, const std::string& extra_headers = {}) {
    return "POST " + invocations + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

// A blocking client socket; reads give up after 20 s so a broken server
// fails the test instead of hanging it.
class client {
  public:
    explicit client(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        timeval limit{20, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("connect failed");
        }
    }
    ~client() { close(); }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // False when the server has closed the connection.
    bool send(const std::string& data) {
        return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) ==
               static_cast<ssize_t>(data.size());
    }
    void half_close() { ::shutdown(fd_, SHUT_WR); }

    // Everything until the server closes (or 20 s pass: then "<timeout>"
    // is appended).
    std::string read_to_end() {
        std::string out;
        char buf[65536];
        for (;;) {
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n < 0) {
                out += "<timeout>";
                return out;
            }
            if (n == 0) {
                return out;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
    }

    // What arrives within d (nothing: empty).
    std::string read_for(std::chrono::milliseconds d) {
        std::string out;
        auto until = std::chrono::steady_clock::now() + d;
        char buf[65536];
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            if (left <= 0ms) {
                return out;
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                return out;
            }
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                return out;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
    }

    // Reads until `what` has arrived `count` times (or the connection ends).
    std::string read_until(const std::string& what, std::size_t count = 1) {
        std::string out;
        char buf[65536];
        while (occurrences(out, what) < count) {
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }

    // Closes with a reset (SO_LINGER 0), as a crashed client's kernel does.
    void reset() {
        linger hard{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        close();
    }

    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    // A small receive buffer (no autotuning): a large answer fills it, and
    // the server's send buffer, when this client does not read.
    void shrink_receive_buffer() {
        int bytes = 4096;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    }

  private:
    int fd_ = -1;
};

class InvokeServerTest : public ::testing::Test {
  protected:
    void SetUp() override { clear_aws_environment(); }
    void TearDown() override { stop(); }

    // The echo runtime: answers each event with itself.
    static function_config echo_config() {
        function_config c;
        c.command = {MUSTER_TEST_ECHO_BOOTSTRAP, "echo"};
        c.freeze = false;
        return c;
    }

    void start(invoke_server_options options = {}, function_config config = echo_config()) {
        auto sink = [this](std::string_view line) {
            std::lock_guard lock(log_mutex_);
            log_.emplace_back(line);
        };
        config.platform_log = sink;
        function_ = std::make_unique<emulator>(io_.get_executor(), std::move(config));
        server_ = std::make_unique<invoke_server>(io_.get_executor(), *function_, "127.0.0.1", 0,
                                                  sink, options);
        port_ = server_->port();
        thread_ = std::thread([this] { io_.run(); });
    }

    void stop() {
        if (!thread_.joinable()) {
            return;
        }
        net::post(io_, [this] {
            server_->close();
            net::co_spawn(io_, function_->shutdown(),
                          [this](std::exception_ptr) { work_.reset(); });
        });
        thread_.join();
    }

    std::string log() {
        std::lock_guard lock(log_mutex_);
        return joined(log_);
    }

    // Waits up to 10 s for a log line containing what.
    bool logged(const std::string& what) {
        for (int i = 0; i < 500; ++i) {
            if (log().find(what) != std::string::npos) {
                return true;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

    net::io_context io_;
    net::executor_work_guard<net::io_context::executor_type> work_{io_.get_executor()};
    std::unique_ptr<emulator> function_;
    std::unique_ptr<invoke_server> server_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    std::mutex log_mutex_;
    std::vector<std::string> log_;
};

TEST_F(InvokeServerTest, HalfClosedClientGetsItsAnswer) {
    start();
    client c(port_);
    ASSERT_TRUE(c.send(post(R"({"id":"half"})")));
    c.half_close();
    auto answer = c.read_to_end();
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
    EXPECT_NE(answer.find("\r\n\r\n{\"id\":\"half\"}"), std::string::npos) << answer;
    EXPECT_EQ(log().find("disconnected"), std::string::npos) << log();
}

TEST_F(InvokeServerTest, PipelinedRequestsThenHalfCloseGetEveryAnswerInOrder) {
    start();
    client c(port_);
    ASSERT_TRUE(c.send(post(R"({"id":1})") + post(R"({"id":2})") + post(R"({"id":3})")));
    c.half_close();
    auto answers = c.read_to_end();
    EXPECT_EQ(occurrences(answers, "HTTP/1.1 200 OK\r\n"), 3u) << answers;
    auto first = answers.find(R"({"id":1})");
    auto second = answers.find(R"({"id":2})");
    auto third = answers.find(R"({"id":3})");
    ASSERT_NE(third, std::string::npos) << answers;
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
}

TEST_F(InvokeServerTest, ResetMidInvocationIsADisconnectAndTheServerGoesOn) {
    start();
    {
        client c(port_);
        ASSERT_TRUE(c.send(post(R"({"sleep_ms":2000})")));
        ASSERT_TRUE(logged("START RequestId")) << log();  // it runs: reset now
        c.reset();
    }
    EXPECT_TRUE(logged("the client disconnected mid-invocation")) << log();
    client next(port_);
    ASSERT_TRUE(next.send(post(R"({"id":"after"})")));
    auto answer = next.read_until(R"({"id":"after"})");
    EXPECT_NE(answer.find(R"({"id":"after"})"), std::string::npos) << answer;
}

TEST_F(InvokeServerTest, TrickledHeaderGets408AndTheConnectionIsClosed) {
    invoke_server_options options;
    options.header_timeout = 300ms;
    start(options);
    client slow(port_);
    std::string header = "POST " + invocations + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    // One byte every 50 ms would take 3 s; the server stops it.
    for (char ch : header) {
        if (!slow.send(std::string(1, ch))) {
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    auto answer = slow.read_to_end();
    EXPECT_EQ(answer.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << answer;
    EXPECT_NE(log().find("no complete request header within 0.3 s"), std::string::npos) << log();
}

TEST_F(InvokeServerTest, BodyThatStopsComingGets408AndTheConnectionIsClosed) {
    invoke_server_options options;
    options.body_timeout = 300ms;
    start(options);
    client c(port_);
    ASSERT_TRUE(c.send("POST " + invocations +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\""));
    auto answer = c.read_to_end();
    EXPECT_EQ(answer.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
    EXPECT_NE(log().find("no complete request body within 0.3 s"), std::string::npos) << log();
}

TEST_F(InvokeServerTest, ClientThatStopsReadingIsDropped) {
    invoke_server_options options;
    options.body_timeout = 500ms;
    start(options);
    {
        client stuck(port_);
        stuck.shrink_receive_buffer();
        // A 6 MB answer: more than the kernel buffers between us hold.
        ASSERT_TRUE(stuck.send(post(R"({"pad":")" + std::string(6'000'000, 'x') + R"("})")));
        EXPECT_TRUE(logged("the client went away before the answer")) << log();
    }
    client next(port_);
    ASSERT_TRUE(next.send(post(R"({"id":"next"})")));
    EXPECT_NE(next.read_until(R"({"id":"next"})").find(R"({"id":"next"})"), std::string::npos);
}

TEST_F(InvokeServerTest, HugeDeclaredBodyIs413AtOnce) {
    start();  // a 30 s body timeout: a 408 would come much later
    client c(port_);
    ASSERT_TRUE(c.send("POST " + invocations +
                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000000000000000\r\n"
                       "\r\nab"));
    auto answer = c.read_to_end();
    EXPECT_EQ(answer.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << answer;
    EXPECT_NE(answer.find("x-amzn-ErrorType: RequestEntityTooLargeException"), std::string::npos)
        << answer;
}

TEST_F(InvokeServerTest, IdleConnectionsAreClosed) {
    invoke_server_options options;
    options.idle_timeout = 300ms;
    start(options);
    client fresh(port_);
    client used(port_);
    ASSERT_TRUE(used.send(post(R"({"id":"keep-alive"})")));
    auto answers_then_close = used.read_to_end();
    EXPECT_NE(answers_then_close.find(R"({"id":"keep-alive"})"), std::string::npos);
    EXPECT_EQ(answers_then_close.find("<timeout>"), std::string::npos) << answers_then_close;
    EXPECT_EQ(fresh.read_to_end(), "") << "closed without an answer";
}

TEST_F(InvokeServerTest, ConnectionsOverTheCapWaitInTheBacklog) {
    invoke_server_options options;
    options.max_connections = 2;
    start(options);
    client a(port_);
    client b(port_);
    for (client* c : {&a, &b}) {
        ASSERT_TRUE(c->send(post(R"({"id":"open"})")));
        ASSERT_NE(c->read_until(R"({"id":"open"})").find(R"({"id":"open"})"), std::string::npos);
    }
    client third(port_);  // connected by the kernel, not accepted
    ASSERT_TRUE(third.send(post(R"({"id":"third"})")));
    EXPECT_EQ(third.read_for(300ms), "") << "served beyond the cap";
    EXPECT_TRUE(logged("2 connections open, the most --max-connections allows")) << log();
    a.close();
    auto answer = third.read_until(R"({"id":"third"})");
    EXPECT_NE(answer.find(R"({"id":"third"})"), std::string::npos) << answer;
}

TEST_F(InvokeServerTest, ExpectContinueOverTheLimitIs413WithoutContinue) {
    start();
    client big(port_);
    ASSERT_TRUE(big.send("POST " + invocations +
                         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 6291457\r\n"
                         "Expect: 100-continue\r\n\r\n"));
    auto refused = big.read_to_end();
    EXPECT_EQ(refused.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << refused;
    EXPECT_NE(refused.find("Request must be smaller than 6291456 bytes for the InvokeFunction "
                           "operation"),
              std::string::npos)
        << refused;

    client small(port_);
    ASSERT_TRUE(small.send("POST " + invocations +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\n"
                           "Expect: 100-continue\r\n\r\n"));
    auto go_ahead = small.read_until("\r\n\r\n");
    EXPECT_EQ(go_ahead, "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_TRUE(small.send(R"({"id":"ok"})"));
    auto answer = small.read_until(R"({"id":"ok"})");
    EXPECT_NE(answer.find("HTTP/1.1 200 OK"), std::string::npos) << answer;
}

TEST_F(InvokeServerTest, UnknownInvocationTypeIs400ValidationException) {
    start();
    client c(port_);
    for (const char* type : {"Bogus", "event"}) {
        ASSERT_TRUE(c.send(post("{}", std::string("X-Amz-Invocation-Type: ") + type + "\r\n")));
        auto answer = c.read_until("}");
        EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << answer;
        EXPECT_NE(answer.find("x-amzn-ErrorType: ValidationException"), std::string::npos);
        EXPECT_NE(answer.find(std::string("Value '") + type +
                              "' at 'invocationType' failed to satisfy constraint: Member must "
                              "satisfy enum value set: [Event, RequestResponse, DryRun]"),
                  std::string::npos)
            << answer;
    }
    ASSERT_TRUE(c.send(post("{}", "X-Amz-Invocation-Type: DryRun\r\n")));
    EXPECT_EQ(c.read_until("\r\n\r\n").rfind("HTTP/1.1 204", 0), 0u);
    ASSERT_TRUE(c.send(post("{}", "X-Amz-Invocation-Type: Event\r\n")));
    EXPECT_EQ(c.read_until("\r\n\r\n").rfind("HTTP/1.1 202", 0), 0u);
    ASSERT_TRUE(c.send(post(R"({"id":"sync"})", "X-Amz-Invocation-Type: RequestResponse\r\n")));
    EXPECT_NE(c.read_until(R"({"id":"sync"})").find("HTTP/1.1 200 OK"), std::string::npos);
}

// The load benchmark's check in small: every answer reaches the connection
// that asked, for its own request.
TEST_F(InvokeServerTest, EveryAnswerMatchesItsRequestOnEightConnections) {
    start();
    constexpr int connections = 8;
    constexpr int per_connection = 200;
    std::atomic<int> matched{0};
    std::atomic<int> mismatched{0};
    std::vector<std::thread> clients;
    for (int k = 0; k < connections; ++k) {
        clients.emplace_back([&, k] {
            net::io_context io;
            net::ip::tcp::socket socket(io);
            socket.connect({net::ip::make_address("127.0.0.1"), port_});
            beast::flat_buffer buffer;
            for (int i = 0; i < per_connection; ++i) {
                http::request<http::string_body> request{http::verb::post, invocations, 11};
                request.set(http::field::host, "127.0.0.1");
                request.body() =
                    R"({"id":")" + std::to_string(k) + "-" + std::to_string(i) + R"("})";
                request.prepare_payload();
                http::write(socket, request);
                http::response<http::string_body> response;
                http::read(socket, buffer, response);
                if (response.result() == http::status::ok && response.body() == request.body()) {
                    ++matched;
                } else {
                    ++mismatched;
                }
            }
        });
    }
    for (auto& t : clients) {
        t.join();
    }
    EXPECT_EQ(matched.load(), connections * per_connection);
    EXPECT_EQ(mismatched.load(), 0);
}

}  // namespace
}  // namespace invoke_server_test
}  // namespace muster::emulator::test
