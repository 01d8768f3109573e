#include <muster/emulator/invoke_server.hpp>

#include "base64.hpp"
#include "http_io.hpp"
#include "lambda_text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <deque>
#include <exception>
#include <optional>
#include <stdexcept>
#include <unordered_map>

namespace muster::emulator {
namespace detail {

namespace {

using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr std::string_view functions_prefix = "/2015-03-31/functions/";
constexpr std::string_view invocations_suffix = "/invocations";
// A request over the limit without "Expect: 100-continue" is read and
// dropped up to this size so the connection survives; beyond it (declared
// or received), it is answered 413 at once and the connection closed.
constexpr std::size_t drain_limit = 64 * 1024 * 1024;
// What a request to another route may carry; it is dropped unread.
constexpr std::size_t other_route_limit = 64 * 1024;
// Closing while the client may still be sending: how long, and how much,
// to read and drop first so that it sees the last answer, not a reset.
constexpr std::chrono::milliseconds linger_time{1000};
constexpr std::size_t linger_bytes = 1024 * 1024;
constexpr std::chrono::minutes cap_log_every{1};

bool is_invoke_route(std::string_view target) {
    if (auto query = target.find('?'); query != std::string_view::npos) {
        target = target.substr(0, query);
    }
    if (target.rfind(functions_prefix, 0) != 0) {
        return false;
    }
    target.remove_prefix(functions_prefix.size());
    if (target.size() <= invocations_suffix.size() ||
        target.substr(target.size() - invocations_suffix.size()) != invocations_suffix) {
        return false;
    }
    std::string_view name = target.substr(0, target.size() - invocations_suffix.size());
    return !name.empty() && name.find('/') == std::string_view::npos;
}

bool is_invocation_type(std::string_view type) {
    // Case-sensitive, as AWS's enum is.
    return type == "RequestResponse" || type == "Event" || type == "DryRun";
}

// Chunks of a streamed response on their way from the runtime to a client.
struct stream_pipe {
    explicit stream_pipe(net::any_io_executor ex) : signal(ex) {}
    net::steady_timer signal;
    std::deque<std::string> chunks;
    std::string content_type = "application/octet-stream";  ///< The function's, once it streams.
    bool finished = false;
    bool client_gone = false;
    invoke_result result;

    void wake() { signal.cancel(); }
};

// One client connection. Its watchdog bounds each phase (idle, header,
// body, answer); the watchdog's handler shares ownership, so a handler that
// runs after the session ended touches nothing freed.
struct connection : std::enable_shared_from_this<connection> {
    explicit connection(tcp::socket socket)
        : stream(std::move(socket)), watchdog(stream.get_executor()) {}

    enum class phase { reading, writing };

    // When limit passes: timed_out is set and the socket's pending
    // operations are cancelled; a reading phase also shuts reception down
    // (a read started after the expiry then ends at once, so no read can
    // outlive the limit) and a writing phase shuts both directions down.
    void arm(std::chrono::milliseconds limit, phase what) {
        timed_out = false;
        std::uint64_t generation = ++armed;
        watchdog.expires_after(limit);
        watchdog.async_wait([self = shared_from_this(), generation, what](beast::error_code ec) {
            if (ec || generation != self->armed) {
                return;  // disarmed, or armed again since
            }
            self->timed_out = true;
            beast::error_code ignored;
            auto& socket = self->stream.socket();
            socket.cancel(ignored);
            socket.shutdown(
                what == phase::reading ? tcp::socket::shutdown_receive : tcp::socket::shutdown_both,
                ignored);
        });
    }

    void disarm() {
        ++armed;
        watchdog.cancel();
    }

    beast::tcp_stream stream;
    net::steady_timer watchdog;
    std::uint64_t armed = 0;
    bool timed_out = false;
};

// Whether the client is still there while its invocation runs. Only a
// reset (or, later, a failed write) means it went away: a client that has
// sent its requests may half-close (shutdown(SHUT_WR)) and still wait for
// every answer. Pending bytes (a pipelined request) are left for the
// session to read after this answer.
void watch_client(const std::shared_ptr<stream_pipe>& pipe, const std::shared_ptr<connection>& conn,
                  bool half_closed) {
    if (pipe->finished) {
        return;
    }
    auto& socket = conn->stream.socket();
    char byte;
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) {
        return;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        pipe->client_gone = true;
        pipe->wake();
        return;
    }
    if (n == 0 && half_closed) {
        // An error or hang-up was reported after the end of the stream:
        // the connection was reset.
        pipe->client_gone = true;
        pipe->wake();
        return;
    }
    // Nothing to read yet: wait for the next event. After the end of the
    // stream (n == 0) only an error can follow.
    bool eof = n == 0;
    socket.async_wait(eof ? tcp::socket::wait_error : tcp::socket::wait_read,
                      [pipe, conn, eof](beast::error_code ec) {
                          if (!ec) {
                              watch_client(pipe, conn, eof);
                          }
                      });
}

}  // namespace

class invoke_server_state : public std::enable_shared_from_this<invoke_server_state> {
  public:
    invoke_server_state(net::any_io_executor ex, emulator& function, const std::string& host,
                        std::uint16_t port, platform_log_sink log, invoke_server_options options)
        : executor_(ex),
          function_(function),
          acceptor_(ex),
          log_(std::move(log)),
          options_(options),
          slot_free_(ex) {
        if (!log_) {
            log_ = [](std::string_view line) {
                std::string text(line);
                text += '\n';
                std::fwrite(text.data(), 1, text.size(), stderr);
            };
        }
        if (options_.max_connections == 0) {
            throw std::invalid_argument("invoke_server: max_connections must be at least 1");
        }
        tcp::endpoint endpoint(net::ip::make_address(host), port);
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen(net::socket_base::max_listen_connections);
        port_ = acceptor_.local_endpoint().port();
    }

    void start() {
        net::co_spawn(executor_, accept_loop(shared_from_this()), report_internal_error);
    }

    std::uint16_t port() const noexcept { return port_; }

    void close() {
        if (closed_) {
            return;
        }
        closed_ = true;
        beast::error_code ignored;
        acceptor_.close(ignored);
        slot_free_.cancel();
        for (auto& [id, socket] : connections_) {
            socket->close(ignored);
        }
    }

  private:
    static void report_internal_error(std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& error) {
                std::fprintf(stderr, "muster serve: internal error: %s\n", error.what());
            }
        }
    }

    static net::awaitable<void> accept_loop(std::shared_ptr<invoke_server_state> self) {
        accept_backoff backoff("muster serve");
        auto log = [&self](const std::string& line) { self->log_(line); };
        net::steady_timer pause(self->executor_);
        // At most one line a minute about the cap, however often it is met.
        std::optional<steady::time_point> cap_logged;
        for (;;) {
            // At the cap, stop accepting: new connections wait in the
            // listen backlog until a session ends.
            while (self->connections_.size() >= self->options_.max_connections && !self->closed_) {
                if (auto now = steady::now(); !cap_logged || now - *cap_logged >= cap_log_every) {
                    cap_logged = now;
                    self->log_("muster serve: " + std::to_string(self->connections_.size()) +
                               " connections open, the most --max-connections allows; new "
                               "ones wait in the listen backlog until one closes");
                }
                self->slot_free_.expires_at(steady::time_point::max());
                co_await self->slot_free_.async_wait(use_tuple);
            }
            auto [ec, socket] = co_await self->acceptor_.async_accept(use_tuple);
            if (self->closed_) {
                co_return;
            }
            if (ec) {
                pause.expires_after(backoff.failed(ec, log));
                co_await pause.async_wait(use_tuple);
                continue;
            }
            backoff.succeeded(log);
            socket.set_option(tcp::no_delay(true), ec);
            auto conn = std::make_shared<connection>(std::move(socket));
            std::uint64_t id = ++self->next_connection_;
            self->connections_[id] = &conn->stream.socket();
            net::co_spawn(self->executor_, session(self, std::move(conn), id),
                          report_internal_error);
        }
    }

    static net::awaitable<void> session(std::shared_ptr<invoke_server_state> self,
                                        std::shared_ptr<connection> conn, std::uint64_t id) {
        auto& stream = conn->stream;
        beast::flat_buffer buffer;
        std::vector<char> scratch(64 * 1024);
        for (;;) {
            if (buffer.size() == 0) {
                // Between requests: wait for the next one's first bytes.
                conn->arm(self->options_.idle_timeout, connection::phase::reading);
                auto [ec, n] =
                    co_await stream.async_read_some(buffer.prepare(16 * 1024), use_tuple);
                buffer.commit(n);
                if (ec || n == 0) {
                    break;  // closed, reset or idle: there is nothing to answer
                }
            }
            conn->arm(self->options_.header_timeout, connection::phase::reading);
            body_parser parser;
            parser.body_limit(boost::none);
            parser.header_limit(64 * 1024);
            auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
            if (ec) {
                if (conn->timed_out && !self->closed_) {
                    self->log_("muster serve: a client sent no complete request header within " +
                               seconds(self->options_.header_timeout) +
                               " s; answered 408 and closed the connection");
                    co_await self->send(conn, timeout_answer("header"));
                } else if (!is_disconnect(ec) && !self->closed_) {
                    self->log_("muster serve: a client sent malformed HTTP (" + ec.message() +
                               "); answered 400 and closed the connection");
                    auto answer = make_answer(
                        http::status::bad_request,
                        error_document("InvalidRequest", "malformed HTTP: " + ec.message()), false);
                    if (!co_await self->send(conn, std::move(answer))) {
                        co_await close_gracefully(conn, scratch);
                    }
                }
                break;
            }
            bool keep = co_await handle(self, conn, buffer, parser, scratch);
            if (!keep || self->closed_) {
                break;
            }
        }
        conn->disarm();
        self->connections_.erase(id);
        self->slot_free_.cancel();
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.socket().close(ignored);
    }

    // Writes one answer, bounded by the body timeout (a client that does
    // not read is dropped). Returns the error, if any.
    net::awaitable<beast::error_code> send(std::shared_ptr<connection> conn,
                                           http::response<http::string_body> answer) {
        conn->arm(options_.body_timeout, connection::phase::writing);
        auto ec = co_await write_answer(conn->stream, std::move(answer));
        conn->disarm();
        co_return ec;
    }

    // Ends a connection the server chose to close while the client may
    // still be sending (a refused body): stop sending, then read and drop
    // what arrives for a moment, so that the client reads the last answer
    // instead of the reset that closing with unread data would send.
    static net::awaitable<void> close_gracefully(std::shared_ptr<connection> conn,
                                                 std::vector<char>& scratch) {
        beast::error_code ignored;
        conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        conn->arm(linger_time, connection::phase::reading);
        std::size_t dropped = 0;
        while (dropped < linger_bytes) {
            auto [ec, n] = co_await conn->stream.async_read_some(net::buffer(scratch), use_tuple);
            if (ec || n == 0) {
                break;
            }
            dropped += n;
        }
        conn->disarm();
    }

    // Reads the body, up to limit; more than that is dropped and reported.
    static net::awaitable<beast::error_code> read_limited(
        beast::tcp_stream& stream, beast::flat_buffer& buffer, body_parser& parser,
        std::vector<char>& scratch, std::string& body, std::size_t limit, bool& too_big) {
        std::size_t total = 0;
        std::function<void(std::string_view)> sink = [&](std::string_view piece) {
            total += piece.size();
            if (total > limit) {
                too_big = true;
                if (total > drain_limit) {
                    throw std::length_error("request body too large to drain");
                }
                return;
            }
            body.append(piece);
        };
        try {
            auto ec = co_await read_body(stream, buffer, parser, scratch, std::move(sink));
            co_return ec;
        } catch (const std::length_error&) {
            co_return net::error::message_size;
        }
    }

    static net::awaitable<bool> handle(std::shared_ptr<invoke_server_state> self,
                                       std::shared_ptr<connection> conn, beast::flat_buffer& buffer,
                                       body_parser& parser, std::vector<char>& scratch) {
        auto& stream = conn->stream;
        const auto& req = parser.get();
        bool keep_alive = req.keep_alive();
        bool route_ok = req.method() == http::verb::post && is_invoke_route(req.target());
        std::size_t limit = lambda_payload_limit;
        // The declared Content-Length (the message's own payload_size()
        // is the body's, which is empty here).
        auto declared = parser.content_length();
        bool too_big = declared && *declared > limit;

        if (too_big && (wants_continue(parser) || *declared > drain_limit)) {
            // The client waits for our word before sending, or announced
            // more than is worth reading: refuse now.
            co_await self->send(conn, too_large_answer(false));
            co_await close_gracefully(conn, scratch);
            co_return false;
        }

        std::string invocation_type = "RequestResponse";
        if (auto type = req.find("X-Amz-Invocation-Type"); type != req.end()) {
            invocation_type = std::string(type->value());
        }
        // What to answer instead of invoking, if anything.
        std::optional<http::response<http::string_body>> refusal;
        if (!route_ok) {
            refusal = make_answer(
                http::status::not_found,
                error_document(
                    "ResourceNotFoundException",
                    "this emulator serves POST /2015-03-31/functions/function/invocations"),
                keep_alive);
        } else if (!is_invocation_type(invocation_type)) {
            refusal = make_answer(
                http::status::bad_request,
                error_document("ValidationException",
                               "1 validation error detected: Value '" + invocation_type +
                                   "' at 'invocationType' failed to satisfy "
                                   "constraint: Member must satisfy enum value "
                                   "set: [Event, RequestResponse, DryRun]"),
                keep_alive);
            refusal->set("x-amzn-ErrorType", "ValidationException");
        }
        if (refusal && wants_continue(parser)) {
            // The body will not come after a final answer: close.
            refusal->keep_alive(false);
            co_await self->send(conn, std::move(*refusal));
            co_await close_gracefully(conn, scratch);
            co_return false;
        }

        conn->arm(self->options_.body_timeout, connection::phase::reading);
        if (!refusal) {
            if (auto ec = co_await send_continue(stream, parser)) {
                conn->disarm();
                co_return false;
            }
        }
        std::string body;
        auto ec = co_await read_limited(stream, buffer, parser, scratch, body,
                                        refusal ? other_route_limit : limit, too_big);
        bool timed_out = conn->timed_out;
        conn->disarm();
        if (ec) {
            if (timed_out && !self->closed_) {
                self->log_("muster serve: a client sent no complete request body within " +
                           seconds(self->options_.body_timeout) +
                           " s; answered 408 and closed the connection");
                co_await self->send(conn, timeout_answer("body"));
            } else if (ec == net::error::message_size) {
                co_await self->send(conn, too_large_answer(false));
                co_await close_gracefully(conn, scratch);
            }
            co_return false;
        }
        if (refusal) {
            auto wec = co_await self->send(conn, std::move(*refusal));
            co_return !wec && keep_alive;
        }
        if (too_big) {
            auto wec = co_await self->send(conn, too_large_answer(keep_alive));
            co_return !wec && keep_alive;
        }

        invoke_request request;
        request.payload = std::move(body);
        if (auto context = req.find("X-Amz-Client-Context"); context != req.end()) {
            request.client_context = decode_base64(context->value());
        }

        if (invocation_type == "DryRun") {
            auto wec =
                co_await self->send(conn, make_answer(http::status::no_content, {}, keep_alive));
            co_return !wec && keep_alive;
        }
        if (invocation_type == "Event") {
            auto log = self->log_;
            net::co_spawn(self->executor_, self->function_.invoke(std::move(request)),
                          [log](std::exception_ptr, invoke_result result) {
                              if (!result.ok()) {
                                  log("muster serve: asynchronous invocation " + result.request_id +
                                      " failed: " + result.error_type);
                              }
                          });
            auto wec =
                co_await self->send(conn, make_answer(http::status::accepted, {}, keep_alive));
            co_return !wec && keep_alive;
        }

        auto pipe = std::make_shared<stream_pipe>(self->executor_);
        request.on_stream_start = [pipe](std::string_view content_type) {
            pipe->content_type = content_type.empty() ? "application/octet-stream" : content_type;
        };
        request.on_stream_chunk = [pipe](std::string_view chunk) {
            pipe->chunks.emplace_back(chunk);
            pipe->wake();
        };
        net::co_spawn(
            self->executor_, self->function_.invoke(std::move(request)),
            [pipe, log = self->log_](std::exception_ptr e, invoke_result result) {
                if (pipe->client_gone) {
                    log("muster serve: dropped the answer to RequestId: " + result.request_id +
                        " (its client had gone)");
                }
                if (e) {
                    result.status = invoke_status::rejected;
                    result.error_type = "ServiceException";
                    result.payload = error_document("ServiceException", "internal emulator error");
                }
                pipe->result = std::move(result);
                pipe->finished = true;
                pipe->wake();
            });

        watch_client(pipe, conn, false);

        bool streaming = false;
        for (;;) {
            if (pipe->client_gone) {
                self->log_(
                    "muster serve: the client disconnected mid-invocation; the "
                    "invocation runs on and its answer will be dropped");
                co_return false;
            }
            if (!pipe->chunks.empty()) {
                conn->arm(self->options_.body_timeout, connection::phase::writing);
                if (!streaming) {
                    streaming = true;
                    http::response<http::empty_body> head{http::status::ok, 11};
                    head.set(http::field::content_type, pipe->content_type);
                    head.set(http::field::trailer,
                             "X-Amz-Function-Error, Lambda-Runtime-Function-Error-Type");
                    head.set("X-Amz-Executed-Version", "$LATEST");
                    head.chunked(true);
                    head.keep_alive(keep_alive);
                    http::response_serializer<http::empty_body> serializer{head};
                    auto [hec, hn] =
                        co_await http::async_write_header(stream, serializer, use_tuple);
                    if (hec) {
                        conn->disarm();
                        co_return self->client_gone(pipe, hec);
                    }
                }
                std::string chunk = std::move(pipe->chunks.front());
                pipe->chunks.pop_front();
                auto piece = http::make_chunk(net::buffer(chunk));
                auto [cec, cn] = co_await net::async_write(stream, piece, use_tuple);
                conn->disarm();
                if (cec) {
                    co_return self->client_gone(pipe, cec);
                }
                continue;
            }
            if (pipe->finished) {
                break;
            }
            pipe->signal.expires_at(steady::time_point::max());
            co_await pipe->signal.async_wait(use_tuple);
        }

        {
            // Ends the watch on the client.
            beast::error_code ignored;
            stream.socket().cancel(ignored);
        }
        const invoke_result& result = pipe->result;
        if (streaming) {
            http::fields trailers;
            if (result.status == invoke_status::function_error) {
                trailers.set("X-Amz-Function-Error", "Unhandled");
                trailers.set("Lambda-Runtime-Function-Error-Type", result.error_type);
            }
            auto last = http::make_chunk_last(trailers);
            conn->arm(self->options_.body_timeout, connection::phase::writing);
            auto [lec, ln] = co_await net::async_write(stream, last, use_tuple);
            conn->disarm();
            if (lec) {
                co_return self->client_gone(pipe, lec);
            }
            co_return keep_alive;
        }

        http::response<http::string_body> answer{http::status::ok, 11};
        answer.set(http::field::content_type, "application/json");
        answer.keep_alive(keep_alive);
        if (!result.request_id.empty()) {
            answer.set("x-amzn-RequestId", result.request_id);
        }
        switch (result.status) {
            case invoke_status::ok:
                answer.set("X-Amz-Executed-Version", "$LATEST");
                break;
            case invoke_status::function_error:
                answer.set("X-Amz-Executed-Version", "$LATEST");
                answer.set("X-Amz-Function-Error", "Unhandled");
                break;
            case invoke_status::rejected:
                answer.result(result.error_type == "RequestEntityTooLargeException"
                                  ? http::status::payload_too_large
                              : result.error_type == "InvalidRequestContentException"
                                  ? http::status::bad_request
                                  : http::status::service_unavailable);
                answer.set("x-amzn-ErrorType", result.error_type);
                self->log_("muster serve: request rejected: " + result.payload);
                break;
        }
        answer.body() = result.payload;
        auto wec = co_await self->send(conn, std::move(answer));
        if (wec) {
            co_return self->client_gone(pipe, wec);
        }
        co_return keep_alive;
    }

    bool client_gone(const std::shared_ptr<stream_pipe>& pipe, const beast::error_code& ec) {
        std::string id = pipe->result.request_id.empty() ? std::string("(in progress)")
                                                         : pipe->result.request_id;
        log_("muster serve: the client went away before the answer to RequestId: " + id +
             " was delivered (" + ec.message() + "); the invocation " +
             (pipe->finished ? "had finished" : "runs on") + " and its answer is dropped");
        return false;
    }

    static std::string seconds(std::chrono::milliseconds d) {
        char text[32];
        std::snprintf(text, sizeof text, "%.3g", static_cast<double>(d.count()) / 1000.0);
        return text;
    }

    static http::response<http::string_body> too_large_answer(bool keep_alive) {
        auto answer = make_answer(
            http::status::payload_too_large,
            error_document("RequestEntityTooLargeException",
                           "Request must be smaller than " + std::to_string(lambda_payload_limit) +
                               " bytes for the InvokeFunction operation"),
            keep_alive);
        answer.set("x-amzn-ErrorType", "RequestEntityTooLargeException");
        return answer;
    }

    static http::response<http::string_body> timeout_answer(std::string_view what) {
        return make_answer(http::status::request_timeout,
                           error_document("RequestTimeout", "the request " + std::string(what) +
                                                                " took too long to arrive"),
                           false);
    }

    net::any_io_executor executor_;
    emulator& function_;
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    platform_log_sink log_;
    invoke_server_options options_;
    std::unordered_map<std::uint64_t, tcp::socket*> connections_;
    std::uint64_t next_connection_ = 0;
    net::steady_timer slot_free_;  // cancelled whenever a connection ends
    bool closed_ = false;
};

}  // namespace detail

invoke_server::invoke_server(boost::asio::any_io_executor executor, emulator& function,
                             std::string host, std::uint16_t port, platform_log_sink log,
                             invoke_server_options options)
    : state_(std::make_shared<detail::invoke_server_state>(executor, function, host, port,
                                                           std::move(log), options)) {
    state_->start();
}

invoke_server::~invoke_server() { state_->close(); }

std::uint16_t invoke_server::port() const noexcept { return state_->port(); }

void invoke_server::close() { state_->close(); }

}  // namespace muster::emulator
