// The Runtime API server: the routes a runtime calls (/next, the response
// and error posts, /init/error) over keep-alive connections.

#include "emulator_state.hpp"

#include <boost/asio/co_spawn.hpp>

#include <cstdio>
#include <exception>

namespace muster::emulator {
namespace detail {

namespace {

constexpr std::string_view runtime_prefix = "/2018-06-01/runtime";

// Runs a detached coroutine; an escaped exception is a bug, so say so.
template <class Awaitable>
void spawn_logged(net::any_io_executor ex, Awaitable task) {
    net::co_spawn(ex, std::move(task), [](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& error) {
                std::fprintf(stderr, "muster emulator: internal error: %s\n", error.what());
            }
        }
    });
}

}  // namespace

void emulator_state::start() { spawn_logged(executor_, accept_loop(shared_from_this())); }

net::awaitable<void> emulator_state::accept_loop(std::shared_ptr<emulator_state> self) {
    accept_backoff backoff("muster: the Runtime API");
    auto log = [&self](const std::string& line) { self->log(line); };
    net::steady_timer pause(self->executor_);
    for (;;) {
        auto [ec, socket] = co_await self->acceptor_.async_accept(use_tuple);
        if (ec) {
            if (self->closed_) {
                co_return;
            }
            pause.expires_after(backoff.failed(ec, log));
            co_await pause.async_wait(use_tuple);
            if (self->closed_) {
                co_return;
            }
            continue;
        }
        backoff.succeeded(log);
        socket.set_option(tcp::no_delay(true), ec);
        spawn_logged(self->executor_, session(self, std::move(socket)));
    }
}

net::awaitable<void> emulator_state::session(std::shared_ptr<emulator_state> self,
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
                self->log("muster: the runtime sent malformed HTTP to the Runtime API (" +
                          ec.message() + "); answered 400 and closed the connection");
                auto answer = make_answer(
                    http::status::bad_request,
                    error_document("InvalidRequest", "malformed HTTP: " + ec.message()), false);
                co_await write_answer(stream, std::move(answer));
            }
            break;
        }
        bool keep = co_await self->route(self, stream, buffer, parser, scratch);
        if (!keep || self->closed_) {
            break;
        }
    }
    self->connections_.erase(connection);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// Handles one request whose header has been read. Returns whether the
// connection stays open. stream, buffer, parser and scratch belong to
// the awaiting session.
net::awaitable<bool> emulator_state::route(std::shared_ptr<emulator_state> self,
                                           beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                           body_parser& parser, std::vector<char>& scratch) {
    const auto& req = parser.get();
    std::string target(req.target());
    bool keep_alive = req.keep_alive();
    auto method = req.method();

    if (target.rfind(runtime_prefix, 0) != 0) {
        co_return co_await self->answer_without_body(
            stream, buffer, parser, scratch, http::status::not_found,
            error_document("NotFound", "no Runtime API route " + target), keep_alive);
    }
    std::string_view path = std::string_view(target).substr(runtime_prefix.size());

    if (path == "/invocation/next") {
        if (method != http::verb::get) {
            co_return co_await self->answer_without_body(
                stream, buffer, parser, scratch, http::status::method_not_allowed,
                error_document("MethodNotAllowed", "use GET on /invocation/next"), keep_alive);
        }
        co_return co_await self->next(self, stream, buffer, parser, scratch, keep_alive);
    }
    if (path == "/init/error" && method == http::verb::post) {
        co_return co_await self->init_error(self, stream, buffer, parser, scratch, keep_alive);
    }
    constexpr std::string_view invocation_prefix = "/invocation/";
    if (path.rfind(invocation_prefix, 0) == 0 && method == http::verb::post) {
        std::string_view rest = path.substr(invocation_prefix.size());
        auto slash = rest.find('/');
        if (slash != std::string_view::npos) {
            std::string id(rest.substr(0, slash));
            std::string_view what = rest.substr(slash + 1);
            if (what == "response" || what == "error") {
                co_return co_await self->post(self, stream, buffer, parser, scratch, keep_alive,
                                              std::move(id), what == "error");
            }
        }
    }
    co_return co_await self->answer_without_body(
        stream, buffer, parser, scratch, http::status::not_found,
        error_document("NotFound", "no Runtime API route " + target), keep_alive);
}

// Discards the request's body, then answers.
net::awaitable<bool> emulator_state::answer_without_body(
    beast::tcp_stream& stream, beast::flat_buffer& buffer, body_parser& parser,
    std::vector<char>& scratch, http::status status, std::string body, bool keep_alive) {
    if (wants_continue(parser)) {
        // The client has not sent the body; it will not after a final
        // answer, so the connection cannot be reused safely.
        keep_alive = false;
    } else {
        std::function<void(std::string_view)> discard;
        auto ec = co_await read_body(stream, buffer, parser, scratch, std::move(discard));
        if (ec) {
            co_return false;
        }
    }
    auto answer = make_answer(status, std::move(body), keep_alive);
    auto ec = co_await write_answer(stream, std::move(answer));
    co_return !ec && keep_alive;
}

net::awaitable<bool> emulator_state::next(std::shared_ptr<emulator_state> self,
                                          beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                          body_parser& parser, std::vector<char>& scratch,
                                          bool keep_alive) {
    {
        std::function<void(std::string_view)> discard;
        auto ec = co_await read_body(stream, buffer, parser, scratch, std::move(discard));
        if (ec) {
            co_return false;
        }
    }
    auto waiter = std::make_shared<next_waiter>(self->executor_);
    self->on_next_poll(waiter);
    while (!waiter->woken) {
        waiter->signal.expires_at(steady::time_point::max());
        co_await waiter->signal.async_wait(use_tuple);
    }
    auto inv = waiter->assigned;
    if (!inv) {
        co_return false;
    }
    http::response<http::string_body> response{http::status::ok, 11};
    response.set(http::field::content_type, "application/json");
    response.set("Lambda-Runtime-Aws-Request-Id", inv->id);
    auto deadline = std::chrono::system_clock::now() + self->config_.timeout;
    response.set("Lambda-Runtime-Deadline-Ms",
                 std::to_string(duration_cast<milliseconds>(deadline.time_since_epoch()).count()));
    response.set("Lambda-Runtime-Invoked-Function-Arn", self->function_arn());
    response.set("Lambda-Runtime-Trace-Id", inv->trace_id);
    if (!inv->client_context.empty()) {
        response.set("Lambda-Runtime-Client-Context", inv->client_context);
    }
    response.keep_alive(keep_alive);
    response.body() = inv->payload;
    auto ec = co_await write_answer(stream, std::move(response));
    if (ec) {
        // The poll's connection went away before it got its event (not
        // the runtime's fault if the runtime is alive): hand the event to
        // the next poll instead.
        self->requeue(inv);
        co_return false;
    }
    co_return keep_alive;
}

net::awaitable<bool> emulator_state::post(std::shared_ptr<emulator_state> self,
                                          beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                          body_parser& parser, std::vector<char>& scratch,
                                          bool keep_alive, std::string id, bool is_error) {
    auto found = self->active_.find(id);
    if (found == self->active_.end()) {
        co_return co_await self->answer_without_body(
            stream, buffer, parser, scratch, http::status::bad_request,
            error_document("InvalidRequestID", "Invalid request ID: " + id), keep_alive);
    }
    auto inv = found->second;
    if (inv->state != invocation::phase::running) {
        co_return co_await self->answer_without_body(
            stream, buffer, parser, scratch, http::status::forbidden,
            error_document("InvalidStateTransition",
                           "the invocation " + id + " has already been answered"),
            keep_alive);
    }
    inv->state = invocation::phase::receiving;

    const auto& req = parser.get();
    bool streaming = false;
    if (auto mode = req.find("Lambda-Runtime-Function-Response-Mode"); mode != req.end()) {
        streaming = !is_error && beast::iequals(mode->value(), "streaming");
    }
    std::string header_error_type;
    if (auto type = req.find("Lambda-Runtime-Function-Error-Type"); type != req.end()) {
        header_error_type = std::string(type->value());
    }
    std::size_t limit =
        streaming ? self->config_.max_streamed_response_bytes : self->config_.max_response_bytes;
    bool too_big = false;
    std::uint64_t size = 0;  // of the body, declared or received
    // The declared Content-Length (the message's own payload_size()
    // is the body's, which is empty here).
    if (auto length = parser.content_length(); length && *length > limit) {
        too_big = true;
        size = *length;
    }

    if (too_big && wants_continue(parser)) {
        keep_alive = false;  // the body will not come
    } else {
        if (auto ec = co_await send_continue(stream, parser)) {
            self->return_to_running(inv);
            co_return false;
        }
        auto collected = std::make_shared<std::string>();
        auto total = std::make_shared<std::size_t>(0);
        bool forward = streaming && static_cast<bool>(inv->on_chunk);
        std::string content_type(req[http::field::content_type]);
        std::function<void(std::string_view)> sink = [inv, collected, total, limit, forward,
                                                      content_type = std::move(content_type),
                                                      &too_big](std::string_view piece) {
            *total += piece.size();
            if (too_big || *total > limit) {
                too_big = true;
                return;
            }
            if (forward && inv->state == invocation::phase::receiving) {
                if (inv->on_stream_start) std::exchange(inv->on_stream_start, {})(content_type);
                inv->on_chunk(piece);
            } else {
                collected->append(piece);
            }
        };
        auto ec = co_await read_body(stream, buffer, parser, scratch, std::move(sink));
        size = std::max<std::uint64_t>(size, *total);
        if (ec) {
            self->log("muster: RequestId: " + id +
                      " the runtime's connection broke while posting its " +
                      (is_error ? "error" : "response") + " (" + ec.message() + ")");
            self->return_to_running(inv);
            co_return false;
        }
        if (inv->state != invocation::phase::receiving) {
            // Timed out or killed while the body was on its way.
            auto answer = make_answer(
                http::status::forbidden,
                error_document("InvalidStateTransition", "the invocation " + id + " has ended"),
                keep_alive);
            auto wec = co_await write_answer(stream, std::move(answer));
            co_return !wec && keep_alive;
        }
        if (!too_big) {
            self->accept_post(inv, is_error, streaming, forward, std::move(*collected),
                              header_error_type, parser.get());
            auto answer = make_answer(http::status::accepted, R"({"status":"OK"})", keep_alive);
            self->after_post(inv);
            auto wec = co_await write_answer(stream, std::move(answer));
            co_return !wec && keep_alive;
        }
    }

    // Over the limit: the invocation fails; the runtime is told with 413
    // and must not post /error after it (a post would get 403). The
    // texts are Lambda's.
    std::string limit_text = std::to_string(limit);
    std::string message = "Response payload size (" + std::to_string(size) +
                          " bytes) exceeded maximum allowed payload size (" + limit_text +
                          " bytes).";
    invoke_result result;
    result.request_id = id;
    result.status = invoke_status::function_error;
    result.error_type = "Function.ResponseSizeTooLarge";
    result.streamed = streaming;
    result.payload = error_document(result.error_type, message);
    result.duration = duration_cast<microseconds>(steady::now() - inv->delivered_at);
    self->log("RequestId: " + id + " Error: " + message);
    self->complete(inv, std::move(result));
    inv->state = invocation::phase::responded;
    self->after_post(inv);
    auto answer = make_answer(
        http::status::payload_too_large,
        error_document("RequestEntityTooLarge",
                       "Exceeded maximum allowed payload size (" + limit_text + " bytes)."),
        keep_alive);
    auto wec = co_await write_answer(stream, std::move(answer));
    co_return !wec && keep_alive;
}

net::awaitable<bool> emulator_state::init_error(std::shared_ptr<emulator_state> self,
                                                beast::tcp_stream& stream,
                                                beast::flat_buffer& buffer, body_parser& parser,
                                                std::vector<char>& scratch, bool keep_alive) {
    std::string header_error_type;
    if (auto type = parser.get().find("Lambda-Runtime-Function-Error-Type");
        type != parser.get().end()) {
        header_error_type = std::string(type->value());
    }
    if (auto ec = co_await send_continue(stream, parser)) {
        co_return false;
    }
    auto body = std::make_shared<std::string>();
    std::size_t limit = self->config_.max_response_bytes;
    std::function<void(std::string_view)> sink = [body, limit](std::string_view piece) {
        if (body->size() + piece.size() <= limit) {
            body->append(piece);
        }
    };
    if (auto ec = co_await read_body(stream, buffer, parser, scratch, std::move(sink))) {
        co_return false;
    }
    if (self->phase_ != runtime_phase::initializing) {
        auto answer = make_answer(
            http::status::forbidden,
            error_document("InvalidStateTransition", "the runtime is already initialised"),
            keep_alive);
        auto wec = co_await write_answer(stream, std::move(answer));
        co_return !wec && keep_alive;
    }
    auto answer = make_answer(http::status::accepted, R"({"status":"OK"})", false);
    co_await write_answer(stream, std::move(answer));
    self->on_init_error(std::move(*body), std::move(header_error_type));
    co_return false;
}

}  // namespace detail
}  // namespace muster::emulator
