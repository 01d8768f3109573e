#pragma once

// The emulator's one state object, shared by the Runtime API server
// (runtime_api.cpp), the invocations' state machine (invocation.cpp) and the
// supervision of the bootstrap process (supervisor.cpp); emulator.cpp makes
// and closes it.

#include <muster/emulator/emulator.hpp>

#include "http_io.hpp"
#include "lambda_text.hpp"
#include "process.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace muster::emulator::detail {

using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// One invocation, from the caller's request to its END line.
struct invocation {
    explicit invocation(net::any_io_executor ex) : done_signal(ex), deadline_timer(ex) {}

    // queued: waiting for a /next poll. running: delivered on /next.
    // receiving: a response body is being read. responded: the caller has
    // its answer; with concurrency 1 the invocation lasts until the next
    // /next (work after the response counts, as on Lambda). ended: END and
    // REPORT written.
    enum class phase { queued, running, receiving, responded, ended };

    std::string id;
    std::string payload;
    std::string client_context;
    std::string trace_id;
    std::function<void(std::string_view)> on_chunk;
    std::function<void(std::string_view)> on_stream_start;
    phase state = phase::queued;
    steady::time_point delivered_at{};
    std::uint64_t generation = 0;

    net::steady_timer done_signal;
    net::steady_timer deadline_timer;
    bool done = false;
    invoke_result result;
};

// A /next poll waiting for work.
struct next_waiter {
    explicit next_waiter(net::any_io_executor ex) : signal(ex) {}
    net::steady_timer signal;
    bool woken = false;
    std::shared_ptr<invocation> assigned;  // empty when abandoned
};

class emulator_state : public std::enable_shared_from_this<emulator_state> {
  public:
    emulator_state(net::any_io_executor ex, function_config config);

    void start();

    std::uint16_t port() const noexcept { return port_; }
    int pid() const noexcept { return child_.pid(); }

    static net::awaitable<invoke_result> invoke(std::shared_ptr<emulator_state> self,
                                                invoke_request request);
    static net::awaitable<void> shutdown(std::shared_ptr<emulator_state> self);

    // Immediate end: kill, close everything, reject what waits.
    void close();

  private:
    enum class runtime_phase {
        stopped,       // no process
        initializing,  // started, has not polled /next yet
        ready,         // initialised
        dying,         // killed, not reaped yet
    };

    // The Runtime API (runtime_api.cpp).

    static net::awaitable<void> accept_loop(std::shared_ptr<emulator_state> self);
    static net::awaitable<void> session(std::shared_ptr<emulator_state> self, tcp::socket socket);
    static net::awaitable<bool> route(std::shared_ptr<emulator_state> self,
                                      beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                      body_parser& parser, std::vector<char>& scratch);
    net::awaitable<bool> answer_without_body(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                             body_parser& parser, std::vector<char>& scratch,
                                             http::status status, std::string body,
                                             bool keep_alive);
    static net::awaitable<bool> next(std::shared_ptr<emulator_state> self,
                                     beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                     body_parser& parser, std::vector<char>& scratch,
                                     bool keep_alive);
    static net::awaitable<bool> post(std::shared_ptr<emulator_state> self,
                                     beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                     body_parser& parser, std::vector<char>& scratch,
                                     bool keep_alive, std::string id, bool is_error);
    static net::awaitable<bool> init_error(std::shared_ptr<emulator_state> self,
                                           beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                           body_parser& parser, std::vector<char>& scratch,
                                           bool keep_alive);

    // The state machine (invocation.cpp).

    void log(const std::string& line) { config_.platform_log(line); }

    std::string function_arn() const {
        return "arn:aws:lambda:" + config_.region +
               ":000000000000:function:" + config_.function_name;
    }

    invoke_result rejected_result(std::string type, std::string message);
    std::size_t in_flight() const;
    void complete(const std::shared_ptr<invocation>& inv, invoke_result result);
    void fail(const std::shared_ptr<invocation>& inv, std::string type, std::string message);
    void accept_post(const std::shared_ptr<invocation>& inv, bool is_error, bool streaming,
                     bool forwarded, std::string body, const std::string& header_error_type,
                     const http::fields& fields);
    void after_post(const std::shared_ptr<invocation>& inv);
    void return_to_running(const std::shared_ptr<invocation>& inv);
    void end_invocation(const std::shared_ptr<invocation>& inv, std::string_view status);
    void on_next_poll(const std::shared_ptr<next_waiter>& waiter);
    void dispatch();
    void deliver(const std::shared_ptr<invocation>& inv,
                 const std::shared_ptr<next_waiter>& waiter);
    void requeue(const std::shared_ptr<invocation>& inv);
    void on_timeout(const std::shared_ptr<invocation>& inv);
    void on_init_error(std::string body, std::string type);
    std::deque<std::shared_ptr<invocation>> take_queue();
    void reject_queued(const std::string& why);
    void abandon_waiters();

    // Supervision of the bootstrap process (supervisor.cpp).

    std::vector<std::string> environment() const;
    std::filesystem::path resolve_task_root() const;
    void ensure_runtime();
    void on_init_timeout();
    void watch_exit();
    void kill_runtime();
    void on_exit();

    net::any_io_executor executor_;
    function_config config_;
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    id_generator ids_;
    std::string log_stream_;
    std::filesystem::path task_root_;

    child_process child_;
    std::optional<net::posix::stream_descriptor> pidfd_watch_;
    runtime_phase phase_ = runtime_phase::stopped;
    std::uint64_t generation_ = 0;
    bool frozen_ = false;
    bool killed_ = false;
    steady::time_point spawned_at_{};
    microseconds init_duration_{0};
    bool init_to_report_ = false;
    std::size_t peak_rss_kib_ = 0;
    steady::time_point last_rss_scan_{};
    net::steady_timer init_timer_;
    net::steady_timer exit_signal_;
    net::steady_timer idle_signal_;

    std::deque<std::shared_ptr<invocation>> queue_;
    std::unordered_map<std::string, std::shared_ptr<invocation>> active_;
    std::deque<std::shared_ptr<next_waiter>> waiters_;
    std::unordered_map<std::uint64_t, tcp::socket*> connections_;
    std::uint64_t next_connection_ = 0;

    bool shutting_down_ = false;
    bool closed_ = false;
};

}  // namespace muster::emulator::detail
