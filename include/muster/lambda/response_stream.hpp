/// @file
/// A streamed response: the handler writes the body piece by piece, and each
/// piece leaves the function as it is written.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace muster::lambda {

/// What a function URL (`InvokeMode: RESPONSE_STREAM`) answers its HTTP
/// client with, before the body: the status, the headers and the cookies.
/// Lambda reads it from the start of the streamed body (a JSON object
/// followed by eight NUL bytes) and sends the rest as the HTTP body.
///
/// Not an aggregate on purpose: built inline in a `co_await` expression
/// (`co_await out.write_prelude({201, {{"content-type", "text/html"}}})`),
/// an aggregate owning strings is miscompiled by GCC 12 (README).
struct http_response_prelude {
    http_response_prelude(int status = 200,
                          std::vector<std::pair<std::string, std::string>> header_list = {},
                          std::vector<std::string> cookie_list = {})
        : status_code(status), headers(std::move(header_list)), cookies(std::move(cookie_list)) {}

    int status_code;
    /// Header names and values. A name given twice is sent once, with its
    /// values joined by ", ".
    std::vector<std::pair<std::string, std::string>> headers;
    /// `Set-Cookie` values (`"id=42; Secure"`), one per cookie.
    std::vector<std::string> cookies;
};

/// The prelude as Lambda reads it: `{"statusCode":…,"headers":{…},"cookies":[…]}`
/// followed by eight NUL bytes.
std::string serialize_prelude(const http_response_prelude& prelude);

/// The body of a streamed response, handed to a streaming handler (see
/// `muster::lambda::run`). Each `write` sends its bytes as one HTTP chunk of
/// the `/response` post, at once: the caller receives them while the handler
/// works on.
///
/// Completion: `write` completes once its bytes are handed to the socket
/// (the kernel's send buffer), so a handler producing faster than the
/// caller reads is held back there (back-pressure), not buffered in memory.
/// The first `write` (or `write_prelude`) starts the post, with the content
/// type then set; before it nothing has been sent.
///
/// Errors: a write after the invocation ended, or a second write started
/// while one is in progress, throws `std::logic_error` (await each write
/// before the next; `stream_as_completed` writes from one coroutine). A
/// broken connection to the Runtime API throws `boost::system::system_error`;
/// the stream is then unusable and the invocation fails.
///
/// A handler that throws before its first write is reported as a buffered
/// error (`/error`), as for a buffered handler. Once a byte went out, the
/// exception ends the stream with the error trailers
/// (`Lambda-Runtime-Function-Error-Type`, `Lambda-Runtime-Function-Error-Body`):
/// the caller has the bytes written so far, then the error.
///
/// Cancellation: a write is not cancellable mid-chunk; the invocation's
/// deadline does not interrupt it (the collections feeding it stop at the
/// deadline instead).
///
/// Limits: Lambda accepts up to 200 MB streamed; past the first 6 MB its
/// bandwidth is capped (see docs/lambda.md).
///
/// Thread-safety: use it from the handler's coroutines (the io_context
/// thread), like the invocation.
///
/// @code
/// co_await out.write("first line\n");
/// co_await out.write("second line\n");
/// @endcode
class response_stream {
  public:
    /// Where the bytes go: the runtime's connection to the Runtime API, or
    /// a test's recorder.
    class sink {
      public:
        virtual ~sink() = default;
        /// Starts the response with `content_type`; called once, before the
        /// first `write`.
        virtual boost::asio::awaitable<void> open(std::string content_type) = 0;
        /// Sends `bytes` (never empty).
        virtual boost::asio::awaitable<void> write(std::string bytes) = 0;
    };

    /// The content type sent when none is set, as AWS's Node runtime does.
    static constexpr const char* default_content_type = "application/octet-stream";
    /// The content type of a response that starts with a function URL's
    /// prelude.
    static constexpr const char* http_integration_content_type =
        "application/vnd.awslambda.http-integration-response";

    /// `out` must outlive the stream.
    explicit response_stream(sink& out) : sink_(&out) {}
    response_stream(const response_stream&) = delete;
    response_stream& operator=(const response_stream&) = delete;

    /// Sets the content type; only before the first write (after it the
    /// headers are gone and the call is ignored). `application/octet-stream`
    /// by default.
    void set_content_type(std::string content_type) {
        if (!started_) content_type_ = std::move(content_type);
    }
    const std::string& content_type() const noexcept { return content_type_; }

    /// Sends `bytes` as one chunk and completes when the socket has them.
    /// An empty write sends nothing but starts the response if it was not
    /// (the caller then has the headers).
    boost::asio::awaitable<void> write(std::string bytes);

    /// Starts a function URL's response with its status, headers and
    /// cookies: sets the content type to `http_integration_content_type`
    /// and writes the prelude. Must come before any other write
    /// (`std::logic_error` otherwise).
    boost::asio::awaitable<void> write_prelude(http_response_prelude prelude);

    /// True once the response has started (something was written).
    bool started() const noexcept { return started_; }
    /// Bytes written so far (the prelude included).
    std::size_t bytes_written() const noexcept { return bytes_; }

    /// Refuses every later write (the runtime calls it when the handler has
    /// returned).
    void close() noexcept { closed_ = true; }
    bool closed() const noexcept { return closed_; }

  private:
    sink* sink_;
    std::string content_type_ = default_content_type;
    std::size_t bytes_ = 0;
    bool started_ = false;
    bool writing_ = false;
    bool closed_ = false;
};

}  // namespace muster::lambda
