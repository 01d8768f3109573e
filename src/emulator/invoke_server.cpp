#include <muster/emulator/invoke_server.hpp>

#include "base64.hpp"
#include "http_io.hpp"
#include "lambda_text.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/detail/base64.hpp>

#include <cstdio>
#include <deque>
#include <exception>
#include <unordered_map>

namespace muster::emulator {
namespace detail {

namespace {

using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

constexpr std::string_view functions_prefix = "/2015-03-31/functions/";
constexpr std::string_view invocations_suffix = "/invocations";
// A request over the limit without "Expect: 100-continue" is read and
// dropped up to this size so the connection survives; beyond it, closed.
constexpr std::size_t drain_limit = 64 * 1024 * 1024;

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

// Chunks of a streamed response on their way from the runtime to a client.
struct stream_pipe {
    explicit stream_pipe(net::any_io_executor ex) : signal(ex) {}
    net::steady_timer signal;
    std::deque<std::string> chunks;
    bool finished = false;
    bool client_gone = false;
    invoke_result result;

    void wake() { signal.cancel(); }
};

}  // namespace

class invoke_server_state : public std::enable_shared_from_this<invoke_server_state> {
  public:
    invoke_server_state(net::any_io_executor ex, emulator& function, const std::string& host,
                        std::uint16_t port, platform_log_sink log)
        : executor_(ex), function_(function), acceptor_(ex), log_(std::move(log)) {
        if (!log_) {
            log_ = [](std::string_view line) {
                std::string text(line);
                text += '\n';
                std::fwrite(text.data(), 1, text.size(), stderr);
            };
        }
        tcp::endpoint endpoint(net::ip::make_address(host), port);
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen(net::socket_base::max_listen_connections);
        port_ = acceptor_.local_endpoint().port();
    }

    void start() {
        net::co_spawn(executor_, accept_loop(shared_from_this()), [](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& error) {
                    std::fprintf(stderr, "muster serve: internal error: %s\n", error.what());
                }
            }
        });
    }

    std::uint16_t port() const noexcept { return port_; }

    void close() {
        if (closed_) {
            return;
        }
        closed_ = true;
        beast::error_code ignored;
        acceptor_.close(ignored);
        for (auto& [id, socket] : connections_) {
            socket->close(ignored);
        }
    }

  private:
    static net::awaitable<void> accept_loop(std::shared_ptr<invoke_server_state> self) {
        for (;;) {
            auto [ec, socket] = co_await self->acceptor_.async_accept(use_tuple);
            if (ec) {
                if (self->closed_) {
                    co_return;
                }
                continue;
            }
            socket.set_option(tcp::no_delay(true), ec);
            net::co_spawn(self->executor_, session(self, std::move(socket)),
                          [](std::exception_ptr e) {
                              if (e) {
                                  try {
                                      std::rethrow_exception(e);
                                  } catch (const std::exception& error) {
                                      std::fprintf(stderr, "muster serve: internal error: %s\n",
                                                   error.what());
                                  }
                              }
                          });
        }
    }

    static net::awaitable<void> session(std::shared_ptr<invoke_server_state> self,
                                        tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        std::uint64_t connection = ++self->next_connection_;
        self->connections_[connection] = &stream.socket();
        beast::flat_buffer buffer;
        std::vector<char> scratch(64 * 1024);
        for (;;) {
            body_parser parser;
            parser.body_limit(boost::none);
            parser.header_limit(64 * 1024);
            auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
            if (ec) {
                if (!is_disconnect(ec) && !self->closed_) {
                    self->log_("muster serve: a client sent malformed HTTP (" + ec.message() +
                               "); answered 400 and closed the connection");
                    auto answer = make_answer(
                        http::status::bad_request,
                        error_document("InvalidRequest", "malformed HTTP: " + ec.message()), false);
                    co_await write_answer(stream, std::move(answer));
                }
                break;
            }
            bool keep = co_await handle(self, stream, buffer, parser, scratch);
            if (!keep || self->closed_) {
                break;
            }
        }
        self->connections_.erase(connection);
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
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
                                       beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                       body_parser& parser, std::vector<char>& scratch) {
        const auto& req = parser.get();
        bool keep_alive = req.keep_alive();
        bool route_ok = req.method() == http::verb::post && is_invoke_route(req.target());
        std::size_t limit = lambda_payload_limit;
        auto declared = req.payload_size();
        bool too_big = declared && *declared > limit;

        if (too_big && wants_continue(parser)) {
            // The client waits for our word before sending: refuse now.
            auto answer = too_large_answer(false);
            co_await write_answer(stream, std::move(answer));
            co_return false;
        }
        if (route_ok) {
            if (auto ec = co_await send_continue(stream, parser)) {
                co_return false;
            }
        }
        std::string body;
        auto ec = co_await read_limited(stream, buffer, parser, scratch, body,
                                        route_ok ? limit : 64 * 1024, too_big);
        if (ec) {
            if (ec == net::error::message_size) {
                auto answer = too_large_answer(false);
                co_await write_answer(stream, std::move(answer));
            }
            co_return false;
        }
        if (!route_ok) {
            auto answer = make_answer(
                http::status::not_found,
                error_document(
                    "ResourceNotFoundException",
                    "this emulator serves POST /2015-03-31/functions/function/invocations"),
                keep_alive);
            auto wec = co_await write_answer(stream, std::move(answer));
            co_return !wec && keep_alive;
        }
        if (too_big) {
            auto answer = too_large_answer(keep_alive);
            auto wec = co_await write_answer(stream, std::move(answer));
            co_return !wec && keep_alive;
        }

        std::string invocation_type = "RequestResponse";
        if (auto type = req.find("X-Amz-Invocation-Type"); type != req.end()) {
            invocation_type = std::string(type->value());
        }
        invoke_request request;
        request.payload = std::move(body);
        if (auto context = req.find("X-Amz-Client-Context"); context != req.end()) {
            request.client_context = decode_base64(context->value());
        }

        if (beast::iequals(invocation_type, "DryRun")) {
            auto answer = make_answer(http::status::no_content, {}, keep_alive);
            auto wec = co_await write_answer(stream, std::move(answer));
            co_return !wec && keep_alive;
        }
        if (beast::iequals(invocation_type, "Event")) {
            auto log = self->log_;
            net::co_spawn(self->executor_, self->function_.invoke(std::move(request)),
                          [log](std::exception_ptr, invoke_result result) {
                              if (!result.ok()) {
                                  log("muster serve: asynchronous invocation " + result.request_id +
                                      " failed: " + result.error_type);
                              }
                          });
            auto answer = make_answer(http::status::accepted, {}, keep_alive);
            auto wec = co_await write_answer(stream, std::move(answer));
            co_return !wec && keep_alive;
        }

        auto pipe = std::make_shared<stream_pipe>(self->executor_);
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

        // Notice a client that hangs up while its invocation runs: the
        // socket turns readable with nothing to read.
        tcp::socket* socket = &stream.socket();
        socket->async_wait(tcp::socket::wait_read, [pipe, socket](beast::error_code wec) {
            if (wec || pipe->finished) {
                return;
            }
            beast::error_code aec;
            if (socket->available(aec) == 0) {
                pipe->client_gone = true;
                pipe->wake();
            }
        });

        bool streaming = false;
        for (;;) {
            if (pipe->client_gone) {
                self->log_(
                    "muster serve: the client disconnected mid-invocation; the "
                    "invocation runs on and its answer will be dropped");
                co_return false;
            }
            if (!pipe->chunks.empty()) {
                if (!streaming) {
                    streaming = true;
                    http::response<http::empty_body> head{http::status::ok, 11};
                    head.set(http::field::content_type, "application/octet-stream");
                    head.set(http::field::trailer,
                             "X-Amz-Function-Error, Lambda-Runtime-Function-Error-Type");
                    head.set("X-Amz-Executed-Version", "$LATEST");
                    head.chunked(true);
                    head.keep_alive(keep_alive);
                    http::response_serializer<http::empty_body> serializer{head};
                    auto [hec, hn] =
                        co_await http::async_write_header(stream, serializer, use_tuple);
                    if (hec) {
                        co_return self->client_gone(pipe, hec);
                    }
                }
                std::string chunk = std::move(pipe->chunks.front());
                pipe->chunks.pop_front();
                auto piece = http::make_chunk(net::buffer(chunk));
                auto [cec, cn] = co_await net::async_write(stream, piece, use_tuple);
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
            beast::error_code ignored;
            socket->cancel(ignored);
        }
        const invoke_result& result = pipe->result;
        if (streaming) {
            http::fields trailers;
            if (result.status == invoke_status::function_error) {
                trailers.set("X-Amz-Function-Error", "Unhandled");
                trailers.set("Lambda-Runtime-Function-Error-Type", result.error_type);
            }
            auto last = http::make_chunk_last(trailers);
            auto [lec, ln] = co_await net::async_write(stream, last, use_tuple);
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
        auto wec = co_await write_answer(stream, std::move(answer));
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

    net::any_io_executor executor_;
    emulator& function_;
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    platform_log_sink log_;
    std::unordered_map<std::uint64_t, tcp::socket*> connections_;
    std::uint64_t next_connection_ = 0;
    bool closed_ = false;
};

}  // namespace detail

invoke_server::invoke_server(boost::asio::any_io_executor executor, emulator& function,
                             std::string host, std::uint16_t port, platform_log_sink log)
    : state_(std::make_shared<detail::invoke_server_state>(executor, function, host, port,
                                                           std::move(log))) {
    state_->start();
}

invoke_server::~invoke_server() { state_->close(); }

std::uint16_t invoke_server::port() const noexcept { return state_->port(); }

void invoke_server::close() { state_->close(); }

}  // namespace muster::emulator
