// The run loop: ask for an invocation, run the handler in the invocation's
// own scope, post what it returned (or threw), run its after-response work,
// account for what it left behind, and ask again. One loop per poller; all
// of them on one io_context thread.
#include <muster/lambda/run.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/detail/timer.hpp>
#include <muster/core/ledger.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/time_source.hpp>
#include <muster/core/trace.hpp>
#include <muster/lambda/errors.hpp>

#include "backoff.hpp"
#include "config.hpp"
#include "error_report.hpp"
#include "metrics.hpp"
#include "output.hpp"
#include "runtime_api.hpp"
#include "streamed_response.hpp"
#include "trace_files.hpp"

namespace muster::lambda {

namespace detail {

boost::json::value parse_event(const std::string& payload) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(payload, ec);
    if (ec) {
        throw invalid_event_error("the event is not valid JSON: " + ec.message() + " (" +
                                  std::to_string(payload.size()) + " bytes)");
    }
    return v;
}

}  // namespace detail

namespace {

namespace asio = boost::asio;
using detail::backoff;
using detail::describe_current_exception;
using detail::error_body;
using detail::error_report;
using detail::http_response;
using detail::runtime_api_client;
using detail::runtime_config;
using detail::streamed_response;

std::string header_value(const http_response& r, std::string_view name) {
    auto it = r.find(name);
    return it == r.end() ? std::string() : std::string(it->value());
}

/// Epoch milliseconds this early are not an epoch deadline (some emulators
/// send a constant such as 5000): 2001-09-09.
constexpr long long earliest_epoch_ms = 1'000'000'000'000LL;

/// With one invocation at a time the process environment is the
/// invocation's; with several it would be shared, so it is not set.
void set_trace_id_environment(const std::string& trace_id) {
    if (trace_id.empty())
        ::unsetenv("_X_AMZN_TRACE_ID");
    else
        ::setenv("_X_AMZN_TRACE_ID", trace_id.c_str(), 1);
}

/// Posts `error` to `/init/error`; failures to do so are logged.
asio::awaitable<void> report_init_error(detail::endpoint api, logger log, error_report error) {
    runtime_api_client client(co_await asio::this_coro::executor, std::move(api));
    try {
        auto r = co_await client.post_init_error(std::move(error));
        if (r.result_int() / 100 != 2) {
            log.error("the Runtime API answered " + std::to_string(r.result_int()) +
                      " to /init/error: " + r.body());
        }
    } catch (const boost::system::system_error& e) {
        log.error(std::string("could not report the init error to the Runtime API: ") + e.what());
    }
}

/// What the handler left: its response, or what it threw; for a streaming
/// handler, the stream it wrote to as well.
struct handler_result {
    std::optional<response> returned;
    std::optional<error_report> failure;
    std::unique_ptr<streamed_response> streamed;
};

class runtime {
  public:
    runtime(asio::io_context& io, runtime_config config, handler_function handler,
            streaming_handler_function streaming, logger log, time_source* time)
        : io_(io),
          config_(std::move(config)),
          handler_(std::move(handler)),
          streaming_(std::move(streaming)),
          log_(std::move(log)),
          time_(time) {}

    std::optional<int> exit_code() const noexcept { return exit_code_; }

    /// Init, then the pollers.
    asio::awaitable<void> start(std::function<asio::awaitable<void>()> init) {
        if (init) {
            std::optional<error_report> failed;
            try {
                co_await init();
            } catch (...) {
                failed = describe_current_exception();
            }
            if (failed) {
                log_.fatal("init failed: " + failed->type + ": " + failed->message);
                co_await report_init_error(config_.api, log_, *failed);
                stop(1);
                co_return;
            }
        }
        for (std::size_t i = 0; i < config_.concurrency; ++i) {
            asio::co_spawn(io_, poll(), [this](std::exception_ptr e) {
                if (!e) return;
                try {
                    std::rethrow_exception(e);
                } catch (...) {
                    const error_report r = describe_current_exception();
                    log_.fatal("the runtime loop failed: " + r.type + ": " + r.message);
                }
                stop(2);
            });
        }
    }

  private:
    void stop(int code) {
        if (!exit_code_) exit_code_ = code;
        io_.stop();
    }

    asio::awaitable<void> poll() {
        runtime_api_client client(io_.get_executor(), config_.api);
        while (!exit_code_) {
            std::optional<http_response> next = co_await next_invocation(client);
            if (!next) co_return;
            co_await handle(client, std::move(*next));
        }
    }

    /// `/next`, retried with the backoff. `std::nullopt` once the runtime
    /// must stop (the reason is logged).
    asio::awaitable<std::optional<http_response>> next_invocation(runtime_api_client& client) {
        backoff attempts(io_.get_executor(), time_);
        while (co_await attempts.next()) {
            try {
                http_response r = co_await client.next();
                if (r.result_int() == 200) co_return r;
                if (r.result_int() >= 500) {
                    log_.fatal("the Runtime API failed on /next (" +
                               std::to_string(r.result_int()) + "): " + r.body() +
                               "; the runtime exits");
                    stop(2);
                    co_return std::nullopt;
                }
                attempts.failed(log_, "/next",
                                "it answered " + std::to_string(r.result_int()) + ": " + r.body());
            } catch (const boost::system::system_error& e) {
                attempts.failed(log_, "/next", e.what());
            }
        }
        log_.fatal("the Runtime API at " + config_.api.host + ":" + config_.api.port +
                   " could not be reached for /next after " + std::to_string(attempts.made()) +
                   " attempts over " + std::to_string(attempts.elapsed().count()) +
                   " ms (last: " + attempts.last_error() + "); the runtime exits");
        stop(2);
        co_return std::nullopt;
    }

    /// The invocation `/next` announced; `std::nullopt` (logged) when it
    /// has no request id, so it cannot be answered.
    std::optional<invocation_info> read_invocation(http_response& next,
                                                   clock::time_point received) {
        invocation_info info;
        info.request_id = header_value(next, "Lambda-Runtime-Aws-Request-Id");
        info.function_arn = header_value(next, "Lambda-Runtime-Invoked-Function-Arn");
        info.trace_id = header_value(next, "Lambda-Runtime-Trace-Id");
        info.client_context = header_value(next, "Lambda-Runtime-Client-Context");
        info.cognito_identity = header_value(next, "Lambda-Runtime-Cognito-Identity");
        info.tenant_id = header_value(next, "Lambda-Runtime-Aws-Tenant-Id");
        info.payload = std::move(next.body());
        info.time = time_;
        read_deadline(header_value(next, "Lambda-Runtime-Deadline-Ms"), received, info);
        if (info.request_id.empty()) {
            log_.error(
                "/next answered without a Lambda-Runtime-Aws-Request-Id; the invocation "
                "cannot be answered and is skipped");
            return std::nullopt;
        }
        return info;
    }

    /// Sets `info`'s deadlines from `Lambda-Runtime-Deadline-Ms`: `raw`,
    /// in epoch milliseconds, less the safety margin. Anything else means
    /// no deadline (warned about once).
    void read_deadline(const std::string& raw, clock::time_point received, invocation_info& info) {
        long long ms = -1;
        if (!raw.empty() && raw.size() <= 18 &&
            raw.find_first_not_of("0123456789") == std::string::npos) {
            ms = std::stoll(raw);
        }
        if (ms < earliest_epoch_ms) {
            if (!warned_deadline_) {
                warned_deadline_ = true;
                log_.warn(raw.empty()
                              ? "the Runtime API sent no Lambda-Runtime-Deadline-Ms; "
                                "invocations run without a deadline"
                              : "Lambda-Runtime-Deadline-Ms: " + raw +
                                    " is not an epoch time in milliseconds; invocations run "
                                    "without a deadline");
            }
            return;
        }
        const std::chrono::system_clock::time_point platform{std::chrono::milliseconds(ms)};
        info.platform_deadline = platform;
        const auto left = std::chrono::duration_cast<clock::duration>(
            platform - std::chrono::system_clock::now());
        const clock::duration margin =
            std::min<clock::duration>(config_.deadline_margin, std::max(left, {}) / 10);
        info.deadline = received + left - margin;
    }

    /// One invocation: the handler in the invocation's scope, its answer
    /// posted, its after-response work, then its trace and metrics.
    asio::awaitable<void> handle(runtime_api_client& client, http_response next) {
        const auto received = now();
        std::optional<invocation_info> info = read_invocation(next, received);
        if (!info) co_return;
        if (config_.concurrency == 1) set_trace_id_environment(info->trace_id);
        // With MUSTER_TRACE, the invocation's scopes record a span per task.
        const auto recorder = detail::start_trace(config_, info->request_id, received);
        root_scope scope(info->deadline, info->trace_id, recorder, time_);
        invocation inv(std::move(*info), log_);

        handler_result result = co_await call_handler(client, scope, inv);
        // The handler is done: whatever of it is still pending now was left
        // behind. Account for it before the response goes out, since a
        // platform may freeze the process as soon as it has the response.
        if (recorder) recorder->mark("handler returned");
        std::size_t pending = co_await settle(scope, inv, "the handler returned");
        const bool posted = co_await post(client, inv, result);
        const auto duration = now() - received;
        if (!posted) co_return;  // The runtime is stopping.
        if (recorder) recorder->mark(result.failure ? "error posted" : "response posted");

        task_stats stats = scope.ledger().stats();
        pending += co_await run_after_response(inv, scope, recorder, stats);
        // Written only now, so tracing adds nothing to the response's latency
        // and the trace includes the after_response work.
        if (recorder) detail::write_trace(config_.trace_directory, *recorder, inv);
        if (config_.metrics)
            write_metrics(inv, stats, pending, duration, result.failure.has_value());
    }

    /// Runs the handler in `scope`; for a streaming handler, with a stream
    /// on `client`'s connection, closed to writes once the handler returns.
    asio::awaitable<handler_result> call_handler(runtime_api_client& client,
                                                 const root_scope& scope, invocation& inv) {
        handler_result result;
        const auto ex = scope.executor(io_.get_executor());
        if (streaming_) {
            result.streamed =
                std::make_unique<streamed_response>(client, std::string(inv.request_id()));
        }
        try {
            if (result.streamed) {
                auto call = [this, &inv, out = &result.streamed->out] {
                    return streaming_(inv, *out);
                };
                co_await asio::co_spawn(ex, std::move(call), asio::use_awaitable);
            } else {
                auto call = [this, &inv] { return handler_(inv); };
                result.returned = co_await asio::co_spawn(ex, std::move(call), asio::use_awaitable);
            }
        } catch (...) {
            result.failure = describe_current_exception();
        }
        if (result.streamed) result.streamed->out.close();
        co_return result;
    }

    /// Posts what the handler left: the end of its stream, its response or
    /// its error. False once the runtime must stop.
    asio::awaitable<bool> post(runtime_api_client& client, const invocation& inv,
                               handler_result& result) {
        const std::string id(inv.request_id());
        auto& streamed = result.streamed;
        if (streamed && (!result.failure || streamed->out.started())) {
            // Once a byte went out, an error can only end the stream.
            co_return co_await finish_stream(inv, *streamed, result.failure);
        }
        if (result.returned) {
            const response& r = *result.returned;
            co_return co_await post_with_retries(
                inv, detail::response_path(id), r.body.size(),
                [&] { return client.post_response(id, r.body, r.content_type); });
        }
        inv.log().error("Invoke Error " + error_body(*result.failure));
        co_return co_await post_with_retries(
            inv, detail::error_path(id), 0, [&] { return client.post_error(id, *result.failure); });
    }

    /// Posts with `send` (one route-named call), retrying transport
    /// failures with the backoff; the answer is judged by `accepted`.
    /// False once the runtime must stop.
    template <class Send>
    asio::awaitable<bool> post_with_retries(const invocation& inv, std::string path,
                                            std::size_t response_size, Send send) {
        backoff attempts(io_.get_executor(), time_);
        while (co_await attempts.next()) {
            std::optional<http_response> r;
            try {
                r = co_await send();
            } catch (const boost::system::system_error& e) {
                attempts.failed(inv.log(), "posting to " + path, e.what());
                continue;
            }
            co_return accepted(*r, inv, path, response_size, false);
        }
        inv.log().fatal("could not post to " + path + " after " + std::to_string(attempts.made()) +
                        " attempts (last: " + attempts.last_error() + "); the runtime exits");
        stop(2);
        co_return false;
    }

    /// Ends a streamed response, with the error trailers when the handler
    /// failed after its first write. A broken stream cannot be resent (its
    /// bytes are gone): it is logged and the invocation fails on the
    /// platform's side. False once the runtime must stop.
    asio::awaitable<bool> finish_stream(const invocation& inv, streamed_response& stream,
                                        std::optional<error_report> failure) {
        const std::size_t sent = stream.out.bytes_written();
        if (failure) {
            inv.log().error("Invoke Error " + error_body(*failure) + " (after " +
                            std::to_string(sent) +
                            " bytes of the streamed response; sent as its trailers)");
        }
        std::optional<http_response> r;
        try {
            r = co_await stream.finish(std::move(failure));
        } catch (const boost::system::system_error& e) {
            inv.log().error("the streamed response could not be ended after " +
                            std::to_string(sent) + " bytes (" + e.what() +
                            "); the invocation fails");
            co_return true;
        }
        if (!r) {
            inv.log().error("the streamed response broke after " + std::to_string(sent) +
                            " bytes (the connection to the Runtime API failed); the "
                            "invocation fails");
            co_return true;
        }
        co_return accepted(*r, inv, stream.path(), sent, true);
    }

    /// Logs what the Runtime API's answer to a posted response (`streamed`
    /// or not) or error says. False once the runtime must stop.
    bool accepted(const http_response& r, const invocation& inv, const std::string& path,
                  std::size_t response_size, bool streamed) {
        const unsigned code = r.result_int();
        const std::string size = std::to_string(response_size);
        const std::string route = (streamed ? "the streamed " : "") + path;
        if (code / 100 == 2) return true;
        if (code == 413) {
            // Lambda reports the oversized response to the caller itself;
            // posting /error now would be refused.
            inv.log().error(streamed ? "the streamed response is too large for Lambda (" + size +
                                           " bytes), which reports it to the caller: " + r.body()
                                     : "the response is too large for Lambda (" + size +
                                           " bytes; the limit is 6,291,556), which reports it to "
                                           "the caller as an error: " +
                                           r.body());
        } else if (code == 400) {
            inv.log().error("the Runtime API refused " + route +
                            " as a bad request (400): " + r.body());
        } else if (code == 403) {
            inv.log().error(
                "the Runtime API refused " + route +
                " (403: the invocation was already answered or has ended): " + r.body());
        } else if (code >= 500) {
            inv.log().fatal("the Runtime API failed on " + path + " (" + std::to_string(code) +
                            "): " + r.body() + "; the runtime exits");
            stop(2);
            return false;
        } else {
            inv.log().error("the Runtime API answered " + std::to_string(code) + " to " + route +
                            ": " + r.body());
        }
        return true;
    }

    /// Runs `inv`'s after-response work in a scope of its own (the
    /// handler's `scope` is closed; same deadline and trace), accounted for
    /// the same way: its tasks are added to `stats`. Returns what it left
    /// pending.
    asio::awaitable<std::size_t> run_after_response(invocation& inv, const root_scope& scope,
                                                    std::shared_ptr<trace::recorder> recorder,
                                                    task_stats& stats) {
        auto after = detail::invocation_access::take_after_response(inv);
        if (after.empty()) co_return 0;
        root_scope after_scope(inv.deadline(), std::string(scope.trace_id()), recorder, time_);
        const auto ex = after_scope.executor(io_.get_executor());
        for (auto& fn : after) {
            try {
                co_await asio::co_spawn(ex, std::move(fn), asio::use_awaitable);
            } catch (...) {
                const error_report r = describe_current_exception();
                inv.log().error("after_response failed: " + r.type + ": " + r.message);
            }
        }
        const std::size_t pending =
            co_await settle(after_scope, inv, "its after_response work returned");
        stats += after_scope.ledger().stats();
        co_return pending;
    }

    /// Closes `scope` once what finished in it has unwound, reporting what
    /// it still had pending (which is then dropped, never run). Returns that
    /// count.
    asio::awaitable<std::size_t> settle(const root_scope& scope, const invocation& inv,
                                        const char* when) {
        // One turn of the event loop lets the frames of finished coroutines
        // unwind (a co_spawn completes before its frame is gone).
        co_await asio::post(io_.get_executor(), asio::use_awaitable);
        const std::size_t pending = scope.ledger().pending_work();
        scope.ledger().close();
        if (pending > 0) {
            inv.log().error(std::to_string(pending) +
                            " piece(s) of work started by this invocation were still pending "
                            "when " +
                            when +
                            " (a detached coroutine, timer or callback on its executor); they "
                            "are dropped and will not run in a later invocation");
        }
        co_return pending;
    }

    /// The invocation's Embedded Metric Format line, on stdout.
    void write_metrics(const invocation& inv, const task_stats& stats, std::size_t pending,
                       clock::duration duration, bool failed) const {
        detail::invocation_metrics m;
        m.namespace_name = config_.metrics_namespace;
        m.function_name = config_.function_name;
        m.request_id = inv.request_id();
        m.tasks = &stats;
        m.pending_work = pending;
        m.duration = duration;
        m.failed = failed;
        detail::write_all(STDOUT_FILENO, detail::emf_line(m) + '\n');
    }

    /// The time on the runtime's clock.
    clock::time_point now() const noexcept { return muster::detail::now(time_); }

    asio::io_context& io_;
    runtime_config config_;
    handler_function handler_;
    streaming_handler_function streaming_;
    logger log_;
    time_source* time_;
    std::optional<int> exit_code_;
    bool warned_deadline_ = false;
};

/// Reports an environment that keeps the runtime from starting, when the
/// Runtime API's address itself is usable.
void report_environment_error(detail::endpoint api, const logger& log, std::string message) {
    asio::io_context io(1);
    asio::co_spawn(
        io,
        report_init_error(std::move(api), log, {"Runtime.InvalidEnvironment", std::move(message)}),
        asio::detached);
    io.run();
}

/// The loop, for either form of handler (exactly one is set).
int run_loop(handler_function handler, streaming_handler_function streaming, run_options options) {
    const detail::log_settings logs = detail::read_log_settings();
    const logger log(logs.format, logs.level);
    if (!logs.warning.empty()) log.warn(logs.warning);

    runtime_config config;
    try {
        config = detail::read_config(options, logs);
        if (!handler && !streaming) {
            throw std::invalid_argument("muster::lambda::run was given no handler");
        }
    } catch (const std::exception& e) {
        log.fatal(std::string("cannot start: ") + e.what());
        if (auto api = detail::env("AWS_LAMBDA_RUNTIME_API")) {
            try {
                report_environment_error(detail::parse_endpoint(*api), log, e.what());
            } catch (const std::invalid_argument&) {
                // The address itself is what is wrong: nowhere to report to.
            }
        }
        return 1;
    }

    asio::io_context io(1);
    runtime rt(io, std::move(config), std::move(handler), std::move(streaming), log, options.time);
    asio::co_spawn(io, rt.start(std::move(options.init)), asio::detached);
    if (options.time)
        options.time->run(io);
    else
        io.run();
    return rt.exit_code().value_or(2);
}

}  // namespace

int run(handler_function handler, run_options options) {
    return run_loop(std::move(handler), {}, std::move(options));
}

int run(streaming_handler_function handler, run_options options) {
    return run_loop({}, std::move(handler), std::move(options));
}

}  // namespace muster::lambda
