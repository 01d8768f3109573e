#include "post_answer.hpp"

#include <utility>

#include <boost/system/system_error.hpp>

#include "backoff.hpp"

namespace muster::lambda::detail {

namespace asio = boost::asio;

asio::awaitable<bool> post_with_retries(asio::any_io_executor ex, time_source* time, logger log,
                                        std::string path, std::size_t response_size,
                                        post_attempt send) {
    backoff attempts(std::move(ex), time);
    while (co_await attempts.next()) {
        std::optional<http_response> r;
        try {
            r = co_await send();
        } catch (const boost::system::system_error& e) {
            attempts.failed(log, "posting to " + path, e.what());
            continue;
        }
        co_return accepted(*r, log, path, response_size, false);
    }
    log.fatal("could not post to " + path + " after " + std::to_string(attempts.made()) +
              " attempts (last: " + attempts.last_error() + "); the runtime exits");
    co_return false;
}

asio::awaitable<bool> finish_stream(logger log, streamed_response& stream,
                                    std::optional<error_report> failure) {
    const std::size_t sent = stream.out.bytes_written();
    if (failure) {
        log.error("Invoke Error " + error_body(*failure) + " (after " + std::to_string(sent) +
                  " bytes of the streamed response; sent as its trailers)");
    }
    std::optional<http_response> r;
    try {
        r = co_await stream.finish(std::move(failure));
    } catch (const boost::system::system_error& e) {
        log.error("the streamed response could not be ended after " + std::to_string(sent) +
                  " bytes (" + e.what() + "); the invocation fails");
        co_return true;
    }
    if (!r) {
        log.error("the streamed response broke after " + std::to_string(sent) +
                  " bytes (the connection to the Runtime API failed); the invocation fails");
        co_return true;
    }
    co_return accepted(*r, log, stream.path(), sent, true);
}

bool accepted(const http_response& r, const logger& log, const std::string& path,
              std::size_t response_size, bool streamed) {
    const unsigned code = r.result_int();
    const std::string size = std::to_string(response_size);
    const std::string route = (streamed ? "the streamed " : "") + path;
    if (code / 100 == 2) return true;
    if (code == 413) {
        // Lambda reports the oversized response to the caller itself;
        // posting /error now would be refused.
        log.error(streamed ? "the streamed response is too large for Lambda (" + size +
                                 " bytes), which reports it to the caller: " + r.body()
                           : "the response is too large for Lambda (" + size +
                                 " bytes; the limit is 6,291,556), which reports it to the "
                                 "caller as an error: " +
                                 r.body());
    } else if (code == 400) {
        log.error("the Runtime API refused " + route + " as a bad request (400): " + r.body());
    } else if (code == 403) {
        log.error("the Runtime API refused " + route +
                  " (403: the invocation was already answered or has ended): " + r.body());
    } else if (code >= 500) {
        log.fatal("the Runtime API failed on " + path + " (" + std::to_string(code) +
                  "): " + r.body() + "; the runtime exits");
        return false;
    } else {
        log.error("the Runtime API answered " + std::to_string(code) + " to " + route + ": " +
                  r.body());
    }
    return true;
}

}  // namespace muster::lambda::detail
