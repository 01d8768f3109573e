#include <muster/emulator/emulator.hpp>

#include "base64.hpp"
#include "http_io.hpp"
#include "lambda_text.hpp"
#include "process.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <optional>
#include <unordered_map>

namespace muster::emulator {
namespace detail {

namespace {

using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr std::string_view runtime_prefix = "/2018-06-01/runtime";

std::string seconds_text(milliseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

std::string base64_decode(std::string_view in) { return detail::decode_base64(in); }

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
    emulator_state(net::any_io_executor ex, function_config config)
        : executor_(ex),
          config_(std::move(config)),
          acceptor_(ex),
          init_timer_(ex),
          exit_signal_(ex),
          idle_signal_(ex) {
        if (!config_.platform_log) {
            config_.platform_log = [](std::string_view line) {
                std::string text(line);
                text += '\n';
                std::fwrite(text.data(), 1, text.size(), stderr);
            };
        }
        tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen(net::socket_base::max_listen_connections);
        port_ = acceptor_.local_endpoint().port();
        log_stream_ = ids_.log_stream_name(config_.function_version);
    }

    void start() { spawn_logged(executor_, accept_loop(shared_from_this())); }

    std::uint16_t port() const noexcept { return port_; }
    int pid() const noexcept { return child_.pid(); }

    static net::awaitable<invoke_result> invoke(std::shared_ptr<emulator_state> self,
                                                invoke_request request);
    static net::awaitable<void> shutdown(std::shared_ptr<emulator_state> self);

    // Immediate end: kill, close everything, reject what waits.
    void close() {
        if (closed_) {
            return;
        }
        closed_ = true;
        shutting_down_ = true;
        beast::error_code ignored;
        acceptor_.close(ignored);
        for (auto& [id, socket] : connections_) {
            socket->close(ignored);
        }
        kill_runtime();
        child_.kill_and_reap();
        pidfd_watch_.reset();
        init_timer_.cancel();
        abandon_waiters();
        reject_queued("the emulator was closed");
        auto active = active_;
        for (auto& [id, inv] : active) {
            complete(inv, rejected_result("ServiceException", "the emulator was closed"));
            inv->deadline_timer.cancel();
            inv->state = invocation::phase::ended;
        }
        active_.clear();
        exit_signal_.cancel();
        idle_signal_.cancel();
    }

  private:
    // ---- the Runtime API --------------------------------------------------

    static net::awaitable<void> accept_loop(std::shared_ptr<emulator_state> self) {
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

    static net::awaitable<void> session(std::shared_ptr<emulator_state> self, tcp::socket socket) {
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
    static net::awaitable<bool> route(std::shared_ptr<emulator_state> self,
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
    net::awaitable<bool> answer_without_body(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                             body_parser& parser, std::vector<char>& scratch,
                                             http::status status, std::string body,
                                             bool keep_alive) {
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

    static net::awaitable<bool> next(std::shared_ptr<emulator_state> self,
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
        response.set(
            "Lambda-Runtime-Deadline-Ms",
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

    static net::awaitable<bool> post(std::shared_ptr<emulator_state> self,
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
        std::size_t limit = streaming ? self->config_.max_streamed_response_bytes
                                      : self->config_.max_response_bytes;
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

    static net::awaitable<bool> init_error(std::shared_ptr<emulator_state> self,
                                           beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                           body_parser& parser, std::vector<char>& scratch,
                                           bool keep_alive) {
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

    // ---- the state machine ------------------------------------------------

    enum class runtime_phase {
        stopped,       // no process
        initializing,  // started, has not polled /next yet
        ready,         // initialised
        dying,         // killed, not reaped yet
    };

    void log(const std::string& line) { config_.platform_log(line); }

    std::string function_arn() const {
        return "arn:aws:lambda:" + config_.region +
               ":000000000000:function:" + config_.function_name;
    }

    invoke_result rejected_result(std::string type, std::string message) {
        invoke_result result;
        result.status = invoke_status::rejected;
        result.error_type = type;
        result.payload = error_document(type, message);
        return result;
    }

    std::size_t in_flight() const {
        std::size_t n = 0;
        for (const auto& [id, inv] : active_) {
            if (inv->state != invocation::phase::queued && inv->state != invocation::phase::ended) {
                ++n;
            }
        }
        return n;
    }

    void complete(const std::shared_ptr<invocation>& inv, invoke_result result) {
        if (inv->done) {
            return;
        }
        result.request_id = inv->id;
        inv->result = std::move(result);
        inv->done = true;
        inv->done_signal.cancel();
    }

    void fail(const std::shared_ptr<invocation>& inv, std::string type, std::string message) {
        invoke_result result;
        result.status = invoke_status::function_error;
        result.error_type = type;
        result.payload = error_document(type, message);
        if (inv->state != invocation::phase::queued) {
            result.duration = duration_cast<microseconds>(steady::now() - inv->delivered_at);
        }
        complete(inv, std::move(result));
    }

    void accept_post(const std::shared_ptr<invocation>& inv, bool is_error, bool streaming,
                     bool forwarded, std::string body, const std::string& header_error_type,
                     const http::fields& fields) {
        invoke_result result;
        result.streamed = streaming;
        result.duration = duration_cast<microseconds>(steady::now() - inv->delivered_at);
        if (is_error) {
            result.status = invoke_status::function_error;
            std::string type = header_error_type;
            if (type.empty()) {
                type = error_type_of(body);
            }
            if (type.empty()) {
                type = "Unhandled";
            }
            result.error_type = type;
            if (json_problem(body)) {
                body = error_document(type, body);
            }
            result.payload = std::move(body);
        } else {
            result.status = invoke_status::ok;
            result.payload = std::move(body);
            if (streaming) {
                // Errors met mid-stream arrive as trailers.
                auto type = fields.find("Lambda-Runtime-Function-Error-Type");
                if (type != fields.end()) {
                    result.status = invoke_status::function_error;
                    result.error_type = std::string(type->value());
                    std::string error_body;
                    if (auto encoded = fields.find("Lambda-Runtime-Function-Error-Body");
                        encoded != fields.end()) {
                        error_body = base64_decode(encoded->value());
                    }
                    if (error_body.empty() || json_problem(error_body)) {
                        error_body = error_document(result.error_type, error_body);
                    }
                    log("RequestId: " + inv->id + " Error: the streamed response ended with " +
                        result.error_type);
                    // What was streamed before the error has reached the
                    // caller (forwarded) or is dropped: the answer is the error.
                    (void)forwarded;
                    result.payload = std::move(error_body);
                }
            }
        }
        complete(inv, std::move(result));
        inv->state = invocation::phase::responded;
    }

    // After a response or error was accepted: with several invocations at
    // once the invocation ends here; with one it ends at the next /next.
    void after_post(const std::shared_ptr<invocation>& inv) {
        if (config_.concurrency > 1) {
            end_invocation(inv, {});
            dispatch();
        }
    }

    void return_to_running(const std::shared_ptr<invocation>& inv) {
        if (inv->state == invocation::phase::receiving) {
            inv->state = invocation::phase::running;
        }
    }

    void end_invocation(const std::shared_ptr<invocation>& inv, std::string_view status) {
        if (inv->state == invocation::phase::ended) {
            return;
        }
        inv->state = invocation::phase::ended;
        inv->deadline_timer.cancel();
        auto duration = duration_cast<microseconds>(steady::now() - inv->delivered_at);
        // A scan of the process tree costs tens of microseconds (more with
        // many threads), so back-to-back short invocations share one taken
        // at most 20 ms ago. VmHWM only grows, so a skipped scan can only
        // miss a peak reached in those 20 ms; the next REPORT has it.
        if (auto now = steady::now(); now - last_rss_scan_ >= milliseconds(20)) {
            last_rss_scan_ = now;
            peak_rss_kib_ = std::max(peak_rss_kib_, child_.tree_peak_rss_kib());
        }
        std::size_t used_mb = (peak_rss_kib_ + 1023) / 1024;
        auto billed = duration;
        std::string report = "REPORT RequestId: " + inv->id + "\tDuration: " + format_ms(duration) +
                             " ms\tBilled Duration: ";
        std::string init_part;
        if (inv->generation == generation_ && init_to_report_) {
            init_to_report_ = false;
            init_part = "\tInit Duration: " + format_ms(init_duration_) + " ms";
            billed += init_duration_;  // custom runtimes bill their init
        }
        report += std::to_string((billed.count() + 999) / 1000) +
                  " ms\tMemory Size: " + std::to_string(config_.memory_mb) +
                  " MB\tMax Memory Used: " + std::to_string(used_mb) + " MB" + init_part;
        if (!status.empty()) {
            report += "\tStatus: " + std::string(status);
        }
        log("END RequestId: " + inv->id);
        log(report);
        active_.erase(inv->id);
        if (active_.empty()) {
            idle_signal_.cancel();
        }
    }

    void on_next_poll(const std::shared_ptr<next_waiter>& waiter) {
        if (phase_ == runtime_phase::initializing) {
            phase_ = runtime_phase::ready;
            init_timer_.cancel();
            init_duration_ = duration_cast<microseconds>(steady::now() - spawned_at_);
            init_to_report_ = true;
            last_rss_scan_ = steady::now();
            peak_rss_kib_ = child_.tree_peak_rss_kib();
        }
        if (config_.concurrency == 1) {
            // The runtime asks for more: the previous invocation is over.
            std::vector<std::shared_ptr<invocation>> finished;
            for (auto& [id, inv] : active_) {
                if (inv->state == invocation::phase::responded) {
                    finished.push_back(inv);
                }
            }
            for (auto& inv : finished) {
                end_invocation(inv, {});
            }
        }
        waiters_.push_back(waiter);
        dispatch();
    }

    void dispatch() {
        if (phase_ != runtime_phase::ready) {
            return;
        }
        while (!queue_.empty() && !waiters_.empty() && in_flight() < config_.concurrency) {
            if (frozen_) {
                child_.signal_group(SIGCONT);
                frozen_ = false;
            }
            auto inv = queue_.front();
            queue_.pop_front();
            auto waiter = waiters_.front();
            waiters_.pop_front();
            deliver(inv, waiter);
        }
        if (config_.concurrency == 1 && config_.freeze && !frozen_ && queue_.empty() &&
            !waiters_.empty() && in_flight() == 0) {
            // Idle and waiting on /next: freeze it, as Lambda does, so work
            // left running shows up only inside a later invocation.
            child_.signal_group(SIGSTOP);
            frozen_ = true;
        }
    }

    void deliver(const std::shared_ptr<invocation>& inv,
                 const std::shared_ptr<next_waiter>& waiter) {
        inv->state = invocation::phase::running;
        inv->delivered_at = steady::now();
        inv->generation = generation_;
        inv->trace_id = ids_.trace_id();
        log("START RequestId: " + inv->id + " Version: " + config_.function_version);
        inv->deadline_timer.expires_after(config_.timeout);
        std::weak_ptr<emulator_state> weak = shared_from_this();
        inv->deadline_timer.async_wait([weak, inv](beast::error_code ec) {
            auto self = weak.lock();
            if (!ec && self) {
                self->on_timeout(inv);
            }
        });
        waiter->assigned = inv;
        waiter->woken = true;
        waiter->signal.cancel();
    }

    void requeue(const std::shared_ptr<invocation>& inv) {
        if (inv->state != invocation::phase::running) {
            return;
        }
        inv->deadline_timer.cancel();
        inv->state = invocation::phase::queued;
        queue_.push_front(inv);
        dispatch();
    }

    void on_timeout(const std::shared_ptr<invocation>& inv) {
        if (inv->state == invocation::phase::ended || inv->state == invocation::phase::queued) {
            return;
        }
        std::string message = "RequestId: " + inv->id + " Error: Task timed out after " +
                              seconds_text(config_.timeout) + " seconds";
        log(message);
        fail(inv, "Sandbox.Timedout", message);
        end_invocation(inv, "timeout");
        kill_runtime();
    }

    void on_init_error(std::string body, std::string type) {
        if (type.empty()) {
            type = error_type_of(body);
        }
        if (type.empty()) {
            type = "Runtime.Unknown";
        }
        if (json_problem(body)) {
            body = error_document(type, body);
        }
        auto duration = duration_cast<microseconds>(steady::now() - spawned_at_);
        log("INIT_REPORT Init Duration: " + format_ms(duration) +
            " ms\tPhase: init\tStatus: error\tError Type: " + type);
        for (auto& inv : take_queue()) {
            invoke_result result;
            result.status = invoke_status::function_error;
            result.error_type = type;
            result.payload = body;
            complete(inv, std::move(result));
            active_.erase(inv->id);
        }
        kill_runtime();
    }

    std::deque<std::shared_ptr<invocation>> take_queue() {
        std::deque<std::shared_ptr<invocation>> taken;
        taken.swap(queue_);
        return taken;
    }

    void reject_queued(const std::string& why) {
        for (auto& inv : take_queue()) {
            complete(inv, rejected_result("ServiceException", why));
            active_.erase(inv->id);
        }
        if (active_.empty()) {
            idle_signal_.cancel();
        }
    }

    void abandon_waiters() {
        for (auto& waiter : waiters_) {
            waiter->woken = true;
            waiter->signal.cancel();
        }
        waiters_.clear();
    }

    std::vector<std::string> environment() const {
        std::vector<std::pair<std::string, std::string>> vars;
        if (const char* path = std::getenv("PATH")) {
            vars.emplace_back("PATH", path);
        }
        // Lambda's search path, with the task root for /var/task and
        // /var/runtime (LAMBDA_RUNTIME_DIR); never the caller's, so a library
        // found only through it fails here as it would on Lambda.
        const std::string root = task_root_.string();
        vars.emplace_back("LD_LIBRARY_PATH",
                          "/lib64:/usr/lib64:" + root + ":" + root + "/lib:/opt/lib");
        auto set = [&vars](std::string key, std::string value) {
            for (auto& [k, v] : vars) {
                if (k == key) {
                    v = std::move(value);
                    return;
                }
            }
            vars.emplace_back(std::move(key), std::move(value));
        };
        set("LANG", "en_US.UTF-8");
        set("TZ", ":UTC");
        set("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + std::to_string(port_));
        set("_HANDLER", config_.handler);
        set("LAMBDA_TASK_ROOT", task_root_.string());
        set("LAMBDA_RUNTIME_DIR", task_root_.string());
        set("AWS_LAMBDA_FUNCTION_NAME", config_.function_name);
        set("AWS_LAMBDA_FUNCTION_VERSION", config_.function_version);
        set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(config_.memory_mb));
        set("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + config_.function_name);
        set("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_);
        set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
        set("AWS_REGION", config_.region);
        set("AWS_DEFAULT_REGION", config_.region);
        if (config_.concurrency > 1) {
            set("AWS_LAMBDA_MAX_CONCURRENCY", std::to_string(config_.concurrency));
        }
        for (const auto& [k, v] : config_.environment) {
            set(k, v);
        }
        std::vector<std::string> out;
        out.reserve(vars.size());
        for (auto& [k, v] : vars) {
            out.push_back(k + "=" + v);
        }
        return out;
    }

    std::filesystem::path resolve_task_root() const {
        if (!config_.task_root.empty()) {
            return std::filesystem::absolute(config_.task_root);
        }
        const std::string& bootstrap = config_.command.front();
        if (bootstrap.find('/') != std::string::npos) {
            return std::filesystem::absolute(bootstrap).parent_path();
        }
        return std::filesystem::current_path();
    }

    void ensure_runtime() {
        if (phase_ != runtime_phase::stopped || queue_.empty() || shutting_down_) {
            return;
        }
        spawn_spec spec;
        spec.argv = config_.command;
        std::error_code ec;
        if (config_.command.empty()) {
            ec = std::make_error_code(std::errc::invalid_argument);
        } else {
            task_root_ = resolve_task_root();
            // A relative bootstrap path is relative to where muster runs,
            // not to the task root the child starts in.
            if (spec.argv[0].find('/') != std::string::npos) {
                spec.argv[0] = std::filesystem::absolute(spec.argv[0]).string();
            }
            spec.environment = environment();
            spec.working_directory = task_root_;
            spec.output_fd = config_.function_output_fd;
            child_ = child_process::spawn(spec, ec);
        }
        if (ec) {
            std::string what =
                config_.command.empty()
                    ? std::string("no bootstrap given")
                    : "cannot start the bootstrap " + config_.command.front() + ": " + ec.message();
            log("INIT_REPORT Init Duration: 0.00 ms\tPhase: init\tStatus: error\tError Type: "
                "Runtime.InvalidEntrypoint");
            log("muster: " + what);
            for (auto& inv : take_queue()) {
                fail(inv, "Runtime.InvalidEntrypoint", "RequestId: " + inv->id + " Error: " + what);
                active_.erase(inv->id);
            }
            return;
        }
        ++generation_;
        peak_rss_kib_ = 0;  // a new process is a new execution environment
        phase_ = runtime_phase::initializing;
        frozen_ = false;
        killed_ = false;
        spawned_at_ = steady::now();
        log("INIT_START Runtime Version: provided (muster emulator)\tPid: " +
            std::to_string(child_.pid()));
        watch_exit();
        init_timer_.expires_after(config_.init_timeout);
        std::weak_ptr<emulator_state> weak = shared_from_this();
        std::uint64_t generation = generation_;
        init_timer_.async_wait([weak, generation](beast::error_code ec) {
            auto self = weak.lock();
            if (!ec && self && self->generation_ == generation &&
                self->phase_ == runtime_phase::initializing) {
                self->on_init_timeout();
            }
        });
    }

    void on_init_timeout() {
        log("INIT_REPORT Init Duration: " +
            format_ms(duration_cast<microseconds>(config_.init_timeout)) +
            " ms\tPhase: init\tStatus: timeout");
        for (auto& inv : take_queue()) {
            fail(inv, "Sandbox.Timedout",
                 "RequestId: " + inv->id + " Error: Init timed out after " +
                     seconds_text(config_.init_timeout) + " seconds");
            active_.erase(inv->id);
        }
        kill_runtime();
    }

    void watch_exit() {
        int fd = ::dup(child_.pidfd());
        if (fd < 0) {
            return;
        }
        pidfd_watch_.emplace(executor_, fd);
        std::weak_ptr<emulator_state> weak = shared_from_this();
        std::uint64_t generation = generation_;
        pidfd_watch_->async_wait(net::posix::stream_descriptor::wait_read,
                                 [weak, generation](beast::error_code ec) {
                                     auto self = weak.lock();
                                     if (!ec && self && self->generation_ == generation) {
                                         self->on_exit();
                                     }
                                 });
    }

    void kill_runtime() {
        if (child_.running() && phase_ != runtime_phase::stopped) {
            child_.signal_group(SIGKILL);
            phase_ = runtime_phase::dying;
            killed_ = true;
        }
    }

    void on_exit() {
        int status = 0;
        if (!child_.try_reap(status)) {
            watch_exit();
            return;
        }
        pidfd_watch_.reset();
        init_timer_.cancel();
        auto was = phase_;
        bool killed = killed_;
        phase_ = runtime_phase::stopped;
        frozen_ = false;
        std::string reason = describe_wait_status(status);
        abandon_waiters();

        if (!killed && !shutting_down_) {
            if (was == runtime_phase::initializing) {
                auto duration = duration_cast<microseconds>(steady::now() - spawned_at_);
                log("INIT_REPORT Init Duration: " + format_ms(duration) +
                    " ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError");
                log("muster: the runtime exited during init: " + reason);
                for (auto& inv : take_queue()) {
                    fail(inv, "Runtime.ExitError",
                         "RequestId: " + inv->id + " Error: Runtime exited with error: " + reason);
                    active_.erase(inv->id);
                }
            }
        }
        std::vector<std::shared_ptr<invocation>> current;
        for (auto& [id, inv] : active_) {
            if (inv->state != invocation::phase::queued) {
                current.push_back(inv);
            }
        }
        for (auto& inv : current) {
            if (inv->state == invocation::phase::responded) {
                end_invocation(inv, {});
                continue;
            }
            std::string message =
                "RequestId: " + inv->id + " Error: Runtime exited with error: " + reason;
            log(message);
            log("Runtime.ExitError");
            fail(inv, "Runtime.ExitError", message);
            end_invocation(inv, "error");
        }
        exit_signal_.cancel();
        if (!shutting_down_) {
            ensure_runtime();
        }
    }

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

net::awaitable<invoke_result> emulator_state::invoke(std::shared_ptr<emulator_state> self,
                                                     invoke_request request) {
    if (self->shutting_down_) {
        co_return self->rejected_result("ServiceException", "the emulator is shutting down");
    }
    if (request.payload.empty()) {
        request.payload = "{}";
    }
    if (request.payload.size() > self->config_.max_request_bytes) {
        co_return self->rejected_result("RequestEntityTooLargeException",
                                        "Request must be smaller than " +
                                            std::to_string(self->config_.max_request_bytes) +
                                            " bytes for the InvokeFunction operation");
    }
    if (auto problem = json_problem(request.payload)) {
        co_return self->rejected_result("InvalidRequestContentException",
                                        "Could not parse request body into json: " + *problem);
    }
    auto inv = std::make_shared<invocation>(self->executor_);
    inv->id = self->ids_.request_id();
    inv->payload = std::move(request.payload);
    inv->client_context = std::move(request.client_context);
    inv->on_chunk = std::move(request.on_stream_chunk);
    inv->on_stream_start = std::move(request.on_stream_start);
    self->active_[inv->id] = inv;
    self->queue_.push_back(inv);
    self->ensure_runtime();
    self->dispatch();
    while (!inv->done) {
        inv->done_signal.expires_at(steady::time_point::max());
        co_await inv->done_signal.async_wait(use_tuple);
    }
    co_return inv->result;
}

net::awaitable<void> emulator_state::shutdown(std::shared_ptr<emulator_state> self) {
    if (self->closed_) {
        co_return;
    }
    self->shutting_down_ = true;
    self->reject_queued("the emulator is shutting down");
    while (!self->active_.empty() && !self->closed_) {
        self->idle_signal_.expires_at(steady::time_point::max());
        co_await self->idle_signal_.async_wait(use_tuple);
    }
    if (self->child_.running() && !self->closed_) {
        if (self->frozen_) {
            self->child_.signal_group(SIGCONT);
            self->frozen_ = false;
        }
        self->child_.signal_group(SIGTERM);
        auto deadline = steady::now() + self->config_.shutdown_grace;
        while (self->child_.running() && !self->closed_ && steady::now() < deadline) {
            self->exit_signal_.expires_at(deadline);
            co_await self->exit_signal_.async_wait(use_tuple);
        }
        if (self->child_.running() && !self->closed_) {
            self->log("muster: the runtime did not stop within " +
                      seconds_text(self->config_.shutdown_grace) + " seconds of SIGTERM; SIGKILL");
            self->kill_runtime();
            while (self->child_.running() && !self->closed_) {
                self->exit_signal_.expires_at(steady::time_point::max());
                co_await self->exit_signal_.async_wait(use_tuple);
            }
        }
    }
    self->close();
}

}  // namespace detail

emulator::emulator(boost::asio::any_io_executor executor, function_config config)
    : state_(std::make_shared<detail::emulator_state>(executor, std::move(config))) {
    state_->start();
}

emulator::~emulator() { state_->close(); }

boost::asio::awaitable<invoke_result> emulator::invoke(invoke_request request) {
    return detail::emulator_state::invoke(state_, std::move(request));
}

boost::asio::awaitable<void> emulator::shutdown() {
    return detail::emulator_state::shutdown(state_);
}

std::uint16_t emulator::runtime_api_port() const noexcept { return state_->port(); }

int emulator::bootstrap_pid() const noexcept { return state_->pid(); }

}  // namespace muster::emulator
