/// @file
/// A scripted Lambda Runtime API for the runtime's tests. It shares no code
/// with muster::lambda: plain blocking Beast, one thread per connection.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace muster_test {

/// One invocation to hand out on `/next`.
struct scripted_invocation {
    std::string request_id;
    std::string payload = "{}";
    /// Epoch milliseconds; `std::nullopt` sends the header with `raw_deadline`
    /// or, when that is empty too, no deadline header at all.
    std::optional<std::chrono::system_clock::time_point> deadline;
    std::string raw_deadline;
    bool content_type = true;
    std::map<std::string, std::string> headers;  ///< Extra `/next` headers.
};

/// A request the server received.
struct recorded_request {
    std::string method;
    std::string target;
    /// Lower-case names; a header sent twice has its values joined by ", ".
    std::map<std::string, std::string> headers;
    std::string body;
    std::chrono::steady_clock::time_point at;

    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

class fake_runtime_api {
  public:
    /// Listens on 127.0.0.1, on an ephemeral port. `prefix` is a path
    /// prefix every route sits under (e.g. "/proxy").
    explicit fake_runtime_api(std::string prefix = {});
    ~fake_runtime_api();
    fake_runtime_api(const fake_runtime_api&) = delete;
    fake_runtime_api& operator=(const fake_runtime_api&) = delete;

    unsigned short port() const { return port_; }
    /// "127.0.0.1:PORT" plus the prefix.
    std::string address() const;

    void enqueue(scripted_invocation inv);

    /// Overrides the status of a POST (return `std::nullopt` for the
    /// platform's answer, 0 to close the connection without answering).
    void set_post_status(std::function<std::optional<int>(const recorded_request&)> fn);
    /// Overrides the status of `/next` (e.g. 500).
    void set_next_status(std::optional<int> status);
    /// Answers every request with `Connection: close`.
    void set_close_after_each(bool close);

    /// Waits until `n` requests matching `pred` were received; returns them.
    std::vector<recorded_request> wait_for(
        std::size_t n, const std::function<bool(const recorded_request&)>& pred,
        std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /// The one POST answering `request_id` (`/response` or `/error`).
    std::optional<recorded_request> wait_for_answer(
        const std::string& request_id,
        std::chrono::milliseconds timeout = std::chrono::seconds(20));

    std::vector<recorded_request> requests() const;
    /// `/next` requests received so far.
    std::size_t next_count() const;

    /// Times each invocation was handed out.
    std::map<std::string, std::chrono::steady_clock::time_point> dispatched() const;

  private:
    void accept_loop();
    void serve(boost::asio::ip::tcp::socket& socket);

    std::string prefix_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::thread accept_thread_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool stopping_ = false;
    std::deque<scripted_invocation> queue_;
    std::vector<recorded_request> requests_;
    std::map<std::string, int> answered_;  ///< request id -> posts received
    std::map<std::string, std::chrono::steady_clock::time_point> dispatched_;
    std::function<std::optional<int>(const recorded_request&)> post_status_;
    std::optional<int> next_status_;
    bool close_after_each_ = false;
    std::vector<int> fds_;  ///< Of accepted connections, to shut them down.
    std::vector<std::thread> connection_threads_;
};

}  // namespace muster_test
