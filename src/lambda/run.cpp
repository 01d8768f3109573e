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

#include <muster/core/ledger.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/time_source.hpp>
#include <muster/core/trace.hpp>
#include <muster/lambda/errors.hpp>

#include "backoff.hpp"
#include "config.hpp"
#include "error_report.hpp"
#include "invocation_reader.hpp"
#include "metrics.hpp"
#include "output.hpp"
#include "post_answer.hpp"
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
using detail::invocation_reader;
using detail::runtime_api_client;
using detail::runtime_config;
using detail::streamed_response;

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
          time_(time),
          reader_(config_.deadline_margin, log_, time) {}

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

    /// One invocation: the handler in the invocation's scope, its answer
    /// posted, its after-response work, then its trace and metrics.
    asio::awaitable<void> handle(runtime_api_client& client, http_response next) {
        const auto received = now();
        std::optional<invocation_info> info = reader_.read(next, received);
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
        if (!posted) {  // The Runtime API failed or stayed unreachable.
            stop(2);
            co_return;
        }
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
            co_return co_await detail::finish_stream(inv.log(), *streamed, result.failure);
        }
        if (result.returned) {
            const response& r = *result.returned;
            co_return co_await detail::post_with_retries(
                io_.get_executor(), time_, inv.log(), detail::response_path(id), r.body.size(),
                [&] { return client.post_response(id, r.body, r.content_type); });
        }
        inv.log().error("Invoke Error " + error_body(*result.failure));
        co_return co_await detail::post_with_retries(
            io_.get_executor(), time_, inv.log(), detail::error_path(id), 0,
            [&] { return client.post_error(id, *result.failure); });
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
    invocation_reader reader_;
    std::optional<int> exit_code_;
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
