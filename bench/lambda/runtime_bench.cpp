// Measures Lambda runtimes the way the platform drives them: a minimal
// Runtime API server in this process hands out invocations as fast as the
// runtime takes them. Two figures per runtime:
//   start     process start to its first `/next` request (fresh process each run);
//   per call  time per invocation of a no-op handler over many sequential
//             invocations on a warm process (server time included, the same
//             for every runtime).
// Runtimes are measured alternately, round by round, so background load on
// the machine falls on all of them alike. Prints JSON on stdout.
//
// Usage: runtime_bench [--starts K] [--invocations N] [--rounds R]
//                      --runtime NAME=DIR=COMMAND ARGS... [--runtime ...]
// DIR becomes LAMBDA_TASK_ROOT and the working directory of COMMAND.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using steady = std::chrono::steady_clock;

struct runtime_spec {
    std::string name;
    std::string dir;
    std::vector<std::string> command;
};

struct child {
    pid_t pid = -1;
    ~child() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
    }
};

extern "C" char** environ;

void start(child& c, const runtime_spec& spec, unsigned short port) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        std::string v(*e);
        if (v.rfind("AWS_", 0) == 0) continue;  // never credentials
        env.push_back(v);
    }
    env.push_back("AWS_LAMBDA_RUNTIME_API=127.0.0.1:" + std::to_string(port));
    env.push_back("LAMBDA_TASK_ROOT=" + spec.dir);
    env.push_back("_HANDLER=index.handler");
    env.push_back("AWS_LAMBDA_FUNCTION_NAME=bench");
    env.push_back("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128");
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv = spec.command;
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, spec.dir.c_str());
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawnp(&c.pid, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (c.pid <= 0) throw std::runtime_error("cannot start " + argv[0]);
}

/// Accepts the runtime's connection, giving up after 30 s.
tcp::socket accept(tcp::acceptor& acceptor) {
    pollfd p{acceptor.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 30000) != 1) throw std::runtime_error("the runtime never connected");
    return acceptor.accept();
}

class server {
  public:
    explicit server(tcp::acceptor& acceptor) : acceptor_(acceptor) {}

    /// The next request, accepting a new connection when the runtime
    /// opened one.
    http::request<http::string_body> read() {
        for (;;) {
            if (!socket_) socket_.emplace(accept(acceptor_));
            http::request<http::string_body> req;
            boost::system::error_code ec;
            http::read(*socket_, buffer_, req, ec);
            if (!ec) return req;
            socket_.reset();
            buffer_.clear();
        }
    }

    void answer_next(std::size_t i) {
        http::response<http::string_body> res(http::status::ok, 11);
        res.set("Lambda-Runtime-Aws-Request-Id", "req-" + std::to_string(i));
        const auto deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
            (std::chrono::system_clock::now() + std::chrono::seconds(30)).time_since_epoch());
        res.set("Lambda-Runtime-Deadline-Ms", std::to_string(deadline.count()));
        res.set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:1:function:bench");
        res.set("Lambda-Runtime-Trace-Id", "Root=1-0-0;Sampled=0");
        res.set(http::field::content_type, "application/json");
        res.body() = "{}";
        res.prepare_payload();
        http::write(*socket_, res);
    }

    void answer_post() {
        http::response<http::string_body> res(http::status::accepted, 11);
        res.body() = R"({"status":"OK"})";
        res.prepare_payload();
        http::write(*socket_, res);
    }

  private:
    tcp::acceptor& acceptor_;
    std::optional<tcp::socket> socket_;
    boost::beast::flat_buffer buffer_;
};

/// Milliseconds from spawn to the first `/next`.
double measure_start(asio::io_context& io, const runtime_spec& spec) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    server s(acceptor);
    child c;
    const auto t0 = steady::now();
    start(c, spec, acceptor.local_endpoint().port());
    for (;;) {
        auto req = s.read();
        if (req.method() == http::verb::get) break;
    }
    return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

/// Microseconds per invocation over `n` sequential invocations after a
/// warm-up of `warmup`.
double measure_invocations(asio::io_context& io, const runtime_spec& spec, std::size_t warmup,
                           std::size_t n) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    server s(acceptor);
    child c;
    start(c, spec, acceptor.local_endpoint().port());
    steady::time_point t0;
    std::size_t dispatched = 0, answered = 0;
    while (answered < warmup + n) {
        auto req = s.read();
        if (req.method() == http::verb::get) {
            if (dispatched == warmup) t0 = steady::now();
            s.answer_next(dispatched++);
        } else {
            if (req.target().find("/error") != std::string_view::npos) {
                throw std::runtime_error(spec.name + " posted an error: " + req.body());
            }
            s.answer_post();
            ++answered;
        }
    }
    return std::chrono::duration<double, std::micro>(steady::now() - t0).count() /
           static_cast<double>(n);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string json_array(const std::vector<double>& v) {
    std::ostringstream s;
    s << '[';
    for (std::size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
    s << ']';
    return s.str();
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t starts = 20, invocations = 2000, rounds = 5;
    std::vector<runtime_spec> runtimes;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--starts") {
            starts = std::stoul(value());
        } else if (a == "--invocations") {
            invocations = std::stoul(value());
        } else if (a == "--rounds") {
            rounds = std::stoul(value());
        } else if (a == "--runtime") {
            // NAME=DIR=COMMAND, then the command's arguments up to the next --runtime.
            const std::string spec = value();
            const auto e1 = spec.find('='), e2 = spec.find('=', e1 + 1);
            if (e1 == std::string::npos || e2 == std::string::npos) {
                std::cerr << "--runtime NAME=DIR=COMMAND [ARGS...]\n";
                return 2;
            }
            runtime_spec r{spec.substr(0, e1), spec.substr(e1 + 1, e2 - e1 - 1), {spec.substr(e2 + 1)}};
            while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) r.command.push_back(argv[++i]);
            runtimes.push_back(std::move(r));
        } else {
            std::cerr << "unknown argument " << a << "\n";
            return 2;
        }
    }
    if (runtimes.empty()) {
        std::cerr << "usage: runtime_bench [--starts K] [--invocations N] [--rounds R] --runtime NAME=DIR=COMMAND [ARGS...]...\n";
        return 2;
    }
    ::signal(SIGPIPE, SIG_IGN);

    asio::io_context io;
    std::vector<std::vector<double>> start_ms(runtimes.size()), call_us(runtimes.size());
    for (std::size_t k = 0; k < starts; ++k)
        for (std::size_t r = 0; r < runtimes.size(); ++r) start_ms[r].push_back(measure_start(io, runtimes[r]));
    for (std::size_t k = 0; k < rounds; ++k)
        for (std::size_t r = 0; r < runtimes.size(); ++r)
            call_us[r].push_back(measure_invocations(io, runtimes[r], 200, invocations));

    std::cout << "{\"starts\":" << starts << ",\"invocations\":" << invocations
              << ",\"rounds\":" << rounds << ",\"runtimes\":{";
    for (std::size_t r = 0; r < runtimes.size(); ++r) {
        std::cout << (r ? "," : "") << '"' << runtimes[r].name << "\":{"
                  << "\"start_ms_median\":" << median(start_ms[r])
                  << ",\"start_ms_min\":" << *std::min_element(start_ms[r].begin(), start_ms[r].end())
                  << ",\"start_ms\":" << json_array(start_ms[r])
                  << ",\"invocation_us_median\":" << median(call_us[r])
                  << ",\"invocation_us\":" << json_array(call_us[r]) << '}';
    }
    std::cout << "}}\n";
    return 0;
}
