#pragma once

// HTTP plumbing shared by the Runtime API and the invoke route: reading a
// body piece by piece (so limits are enforced without buffering what is
// over them, and streamed responses can be passed on as they arrive), and
// writing small answers.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace muster::emulator::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

using body_parser = http::request_parser<http::buffer_body>;

inline bool is_disconnect(const beast::error_code& ec) {
    return ec == http::error::end_of_stream || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::operation_aborted ||
           ec == net::error::bad_descriptor || ec == http::error::partial_message;
}

inline bool wants_continue(const body_parser& parser) {
    auto it = parser.get().find(http::field::expect);
    return it != parser.get().end() && beast::iequals(it->value(), "100-continue");
}

// Sends "100 Continue" when the client waits for it (curl does for bodies
// over 1 MiB). The stream, buffer and parser belong to the awaiting caller.
inline net::awaitable<beast::error_code> send_continue(beast::tcp_stream& stream,
                                                       const body_parser& parser) {
    if (!wants_continue(parser)) {
        co_return beast::error_code{};
    }
    http::response<http::empty_body> interim{http::status::continue_, 11};
    auto [ec, n] = co_await http::async_write(stream, interim, use_tuple);
    co_return ec;
}

// Reads the rest of the body into scratch, passing each piece to sink as
// soon as it has arrived (a streamed response is passed on chunk by chunk).
inline net::awaitable<beast::error_code> read_body(beast::tcp_stream& stream,
                                                   beast::flat_buffer& buffer, body_parser& parser,
                                                   std::vector<char>& scratch,
                                                   std::function<void(std::string_view)> sink) {
    while (!parser.is_done()) {
        auto& body = parser.get().body();
        body.data = scratch.data();
        body.size = scratch.size();
        auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, use_tuple);
        if (ec == http::error::need_buffer) {
            ec = {};
        }
        if (ec) {
            co_return ec;
        }
        std::size_t got = scratch.size() - parser.get().body().size;
        if (got > 0 && sink) {
            sink(std::string_view(scratch.data(), got));
        }
    }
    co_return beast::error_code{};
}

// The delay between accept attempts after failures. An accept that fails
// for lack of descriptors, buffers or memory fails again at once while the
// pending connection stays in the backlog, so retrying without a pause
// spins; a short delay that doubles up to a second keeps the CPU free for
// the connections that are open (and will free descriptors) and still
// resumes quickly. One log line when an episode starts, one when it ends.
class accept_backoff {
  public:
    using log_fn = std::function<void(const std::string&)>;

    explicit accept_backoff(std::string who) : who_(std::move(who)) {}

    // After a failed accept: how long to wait before the next one. A
    // connection that was aborted in the backlog is the client's doing:
    // no wait.
    std::chrono::milliseconds failed(const beast::error_code& ec, const log_fn& log) {
        // Read without the category's virtual functions while descriptors
        // are out: a sanitizer build checks a virtual call's target with a
        // pipe(2), which fails then, and reports a false error.
        const bool system = ec.category() == boost::system::system_category();
        if (system && ec.value() == ECONNABORTED) {
            return std::chrono::milliseconds(0);
        }
        ++failures_;
        delay_ = std::clamp(delay_ * 2, first_delay, last_delay);
        if (failures_ == 1) {
            std::string what = system ? std::strerror(ec.value()) : ec.message();
            log(who_ + ": cannot accept connections (" + what + "); retrying every " +
                std::to_string(first_delay.count()) + " ms to " +
                std::to_string(last_delay.count()) + " ms until it can");
        }
        return delay_;
    }

    // After an accept that worked: ends an episode of failures.
    void succeeded(const log_fn& log) {
        if (failures_ > 0) {
            log(who_ + ": accepting connections again after " + std::to_string(failures_) +
                " failed attempts");
        }
        failures_ = 0;
        delay_ = std::chrono::milliseconds(0);
    }

  private:
    static constexpr std::chrono::milliseconds first_delay{10};
    static constexpr std::chrono::milliseconds last_delay{1000};
    std::string who_;
    std::uint64_t failures_ = 0;
    std::chrono::milliseconds delay_{0};
};

// One complete answer with a JSON (or text) body.
inline net::awaitable<beast::error_code> write_answer(beast::tcp_stream& stream,
                                                      http::response<http::string_body> response) {
    response.prepare_payload();
    auto [ec, n] = co_await http::async_write(stream, response, use_tuple);
    co_return ec;
}

inline http::response<http::string_body> make_answer(
    http::status status, std::string body, bool keep_alive,
    std::string_view content_type = "application/json") {
    http::response<http::string_body> response{status, 11};
    response.set(http::field::content_type, content_type);
    response.keep_alive(keep_alive);
    response.body() = std::move(body);
    return response;
}

}  // namespace muster::emulator::detail
