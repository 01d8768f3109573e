// The run loop: ask for an invocation, run the handler in the invocation's
// own scope, post what it returned (or threw), run its after-response work,
// account for what it left behind, and ask again. One loop per poller; all
// of them on one io_context thread.
#include <muster/lambda/run.hpp>

#include <cxxabi.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
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
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/detail/timer.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/time_source.hpp>
#include <muster/core/trace.hpp>
#include <muster/core/trace_html.hpp>
#include <muster/core/trace_json.hpp>
#include <muster/lambda/errors.hpp>
#include <muster/lambda/events/base64.hpp>

#include "config.hpp"
#include "metrics.hpp"
#include "output.hpp"
#include "runtime_api.hpp"

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
namespace http = boost::beast::http;
using detail::http_response;
using detail::runtime_api_client;
using detail::runtime_config;

/// What Lambda is told about a failure.
struct error_report {
    std::string type;
    std::string message;
};

std::string demangle(const char* name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                               std::free);
    return status == 0 && out ? std::string(out.get()) : std::string(name);
}

/// Describes the exception being handled (call from a catch block).
error_report describe_current_exception() {
    error_report r;
    const std::type_info* type = abi::__cxa_current_exception_type();
    r.type = type ? demangle(type->name()) : "unknown";
    try {
        throw;
    } catch (const function_error& e) {
        r.type = e.error_type();
        r.message = e.what();
    } catch (const std::exception& e) {
        r.message = e.what();
    } catch (...) {
        r.message = "an exception of type " + r.type + " (not derived from std::exception)";
    }
    return r;
}

std::string error_body(const error_report& e) {
    return boost::json::serialize(boost::json::object{
        {"errorMessage", e.message}, {"errorType", e.type}, {"stackTrace", boost::json::array{}}});
}

std::vector<detail::header> error_headers(const error_report& e) {
    return {{"Lambda-Runtime-Function-Error-Type", e.type}};
}

/// A request id as a file name: anything but letters, digits, '.', '-'
/// and '_' becomes '_', so an id can never leave the trace directory.
std::string file_name_for(std::string_view request_id) {
    std::string name;
    for (char c : request_id) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        name += plain ? c : '_';
    }
    if (name.empty() || name.find_first_not_of('.') == std::string::npos) name = "_" + name;
    return name;
}

/// Writes `path` through a temporary file renamed into place, so a reader
/// never sees half a trace. Returns what went wrong, or an empty string.
template <class Write>
std::string write_atomically(const std::filesystem::path& path, Write write) {
    std::filesystem::path temporary = path;
    temporary += ".partial";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) return "cannot open " + temporary.string() + " for writing";
        write(out);
        out.flush();
        if (!out) return "cannot write " + temporary.string();
    }
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    if (ec) {
        std::filesystem::remove(temporary, ec);
        return "cannot rename " + temporary.string() + " to " + path.string();
    }
    return {};
}

/// Writes the invocation's trace files; failures are logged, never thrown.
void write_trace(const std::string& directory, const trace::recorder& rec, const invocation& inv) {
    namespace fs = std::filesystem;
    try {
        const fs::path dir(directory);
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) {
            inv.log().error("MUSTER_TRACE: cannot create the directory " + directory + ": " +
                            ec.message() + "; no trace written");
            return;
        }
        const std::string base = file_name_for(inv.request_id());
        const fs::path json = dir / (base + ".trace.json");
        const fs::path html = dir / (base + ".html");
        std::string problem =
            write_atomically(json, [&rec](std::ostream& os) { trace::write_chrome_json(rec, os); });
        if (problem.empty()) {
            problem =
                write_atomically(html, [&rec](std::ostream& os) { trace::write_html(rec, os); });
        }
        if (!problem.empty()) {
            inv.log().error("MUSTER_TRACE: " + problem + "; the trace is incomplete");
            return;
        }
        inv.log().debug("trace written to " + html.string() + " and " + json.string());
    } catch (const std::exception& e) {
        inv.log().error(std::string("MUSTER_TRACE: writing the trace failed: ") + e.what());
    }
}

std::string header_value(const http_response& r, std::string_view name) {
    auto it = r.find(name);
    return it == r.end() ? std::string() : std::string(it->value());
}

/// Epoch milliseconds this early are not an epoch deadline (some emulators
/// send a constant such as 5000): 2001-09-09.
constexpr long long earliest_epoch_ms = 1'000'000'000'000LL;

/// The bounded backoff between failed attempts to reach the Runtime API:
/// 20 ms, 80 ms, 320 ms, then 1 s, six retries in all (about 3.4 s).
constexpr int max_retries = 6;
std::chrono::milliseconds backoff(int retry) {
    const long long ms = 20LL << (2 * std::min(retry, 6));
    return std::chrono::milliseconds(std::min(ms, 1000LL));
}

/// Posts `error` to `/init/error`; failures to do so are logged.
asio::awaitable<void> report_init_error(detail::endpoint api, logger log, error_report error) {
    runtime_api_client client(co_await asio::this_coro::executor, std::move(api));
    try {
        auto r = co_await client.post("/2018-06-01/runtime/init/error", error_body(error),
                                      "application/json", error_headers(error));
        if (r.result_int() / 100 != 2) {
            log.error("the Runtime API answered " + std::to_string(r.result_int()) +
                      " to /init/error: " + r.body());
        }
    } catch (const boost::system::system_error& e) {
        log.error(std::string("could not report the init error to the Runtime API: ") + e.what());
    }
}

/// A streamed response on its way to `/response`: the handler's
/// `response_stream` writes through it to the poller's connection.
class streamed_response final : public response_stream::sink {
  public:
    streamed_response(runtime_api_client& client, std::string path)
        : client_(client), path_(std::move(path)) {}

    asio::awaitable<void> open(std::string content_type) override {
        broken_ = true;
        std::vector<detail::header> headers{{"Lambda-Runtime-Function-Response-Mode", "streaming"}};
        co_await client_.begin_stream(
            path_, std::move(content_type), std::move(headers),
            "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body");
        opened_ = true;
        broken_ = false;
    }

    asio::awaitable<void> write(std::string bytes) override {
        broken_ = true;
        co_await client_.write_chunk(std::move(bytes));
        broken_ = false;
    }

    const std::string& path() const noexcept { return path_; }
    bool opened() const noexcept { return opened_; }
    /// An operation on the connection failed (or never completed): the
    /// post cannot be finished.
    bool broken() const noexcept { return broken_; }

    response_stream out{*this};

  private:
    runtime_api_client& client_;
    std::string path_;
    bool opened_ = false;
    bool broken_ = false;
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

    /// `/next`, retried with a bounded backoff. `std::nullopt` once the
    /// runtime must stop (the reason is logged).
    asio::awaitable<std::optional<http_response>> next_invocation(runtime_api_client& client) {
        std::string last_error;
        const clock::time_point first = now();
        for (int retry = 0; retry <= max_retries; ++retry) {
            if (retry > 0) co_await sleep(backoff(retry - 1));
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
                last_error = "it answered " + std::to_string(r.result_int()) + ": " + r.body();
            } catch (const boost::system::system_error& e) {
                last_error = e.what();
            }
            if (retry < max_retries) {
                log_.warn("/next failed (" + last_error + "); retrying in " +
                          std::to_string(backoff(retry).count()) + " ms");
            }
        }
        log_.fatal("the Runtime API at " + config_.api.host + ":" + config_.api.port +
                   " could not be reached for /next after " + std::to_string(max_retries + 1) +
                   " attempts over " + std::to_string(milliseconds_since(first)) +
                   " ms (last: " + last_error + "); the runtime exits");
        stop(2);
        co_return std::nullopt;
    }

    invocation_info read_invocation(http_response& next, clock::time_point received) {
        invocation_info info;
        info.request_id = header_value(next, "Lambda-Runtime-Aws-Request-Id");
        info.function_arn = header_value(next, "Lambda-Runtime-Invoked-Function-Arn");
        info.trace_id = header_value(next, "Lambda-Runtime-Trace-Id");
        info.client_context = header_value(next, "Lambda-Runtime-Client-Context");
        info.cognito_identity = header_value(next, "Lambda-Runtime-Cognito-Identity");
        info.tenant_id = header_value(next, "Lambda-Runtime-Aws-Tenant-Id");
        info.payload = std::move(next.body());

        const std::string raw = header_value(next, "Lambda-Runtime-Deadline-Ms");
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
            return info;
        }
        const std::chrono::system_clock::time_point platform{std::chrono::milliseconds(ms)};
        info.platform_deadline = platform;
        const auto left = std::chrono::duration_cast<clock::duration>(
            platform - std::chrono::system_clock::now());
        const clock::duration margin =
            std::min<clock::duration>(config_.deadline_margin, std::max(left, {}) / 10);
        info.deadline = received + left - margin;
        return info;
    }

    asio::awaitable<void> handle(runtime_api_client& client, http_response next) {
        const auto received = now();
        invocation_info info = read_invocation(next, received);
        info.time = time_;
        if (info.request_id.empty()) {
            log_.error(
                "/next answered without a Lambda-Runtime-Aws-Request-Id; the invocation "
                "cannot be answered and is skipped");
            co_return;
        }
        if (config_.concurrency == 1) {
            // With one invocation at a time the process environment is the
            // invocation's; with several it would be shared, so it is not set.
            if (info.trace_id.empty())
                ::unsetenv("_X_AMZN_TRACE_ID");
            else
                ::setenv("_X_AMZN_TRACE_ID", info.trace_id.c_str(), 1);
        }

        // With MUSTER_TRACE, the invocation's scope records a span per task.
        std::shared_ptr<trace::recorder> recorder;
        if (!config_.trace_directory.empty()) {
            recorder = std::make_shared<trace::recorder>(info.request_id, received);
            recorder->set_attribute("request_id", info.request_id);
            if (!config_.function_name.empty())
                recorder->set_attribute("function", config_.function_name);
        }
        root_scope scope(info.deadline, info.trace_id, recorder, time_);
        invocation inv(std::move(info), log_);
        const std::string id_segment = detail::encode_path_segment(inv.request_id());
        const auto ex = scope.executor(io_.get_executor());

        std::optional<response> result;
        std::optional<error_report> failure;
        // The streaming handler's response, opened by its first write.
        std::unique_ptr<streamed_response> streamed;
        if (streaming_) {
            streamed = std::make_unique<streamed_response>(
                client, "/2018-06-01/runtime/invocation/" + id_segment + "/response");
        }
        try {
            if (streamed) {
                auto call = [this, &inv, out = &streamed->out] { return streaming_(inv, *out); };
                co_await asio::co_spawn(ex, std::move(call), asio::use_awaitable);
            } else {
                auto call = [this, &inv] { return handler_(inv); };
                result = co_await asio::co_spawn(ex, std::move(call), asio::use_awaitable);
            }
        } catch (...) {
            failure = describe_current_exception();
        }
        if (streamed) streamed->out.close();

        // The handler is done: whatever of it is still pending now was left
        // behind. Account for it before the response goes out, since a
        // platform may freeze the process as soon as it has the response.
        if (recorder) recorder->mark("handler returned");
        std::size_t pending = co_await settle(scope, inv, "the handler returned");

        bool posted = false;
        if (streamed && (!failure || streamed->out.started())) {
            // Once a byte went out, an error can only end the stream.
            posted = co_await finish_stream(client, inv, *streamed, failure);
        } else if (result) {
            const std::size_t size = result->body.size();
            posted = co_await post(
                client, inv, "/2018-06-01/runtime/invocation/" + id_segment + "/response",
                std::move(result->body), std::move(result->content_type), {}, size);
        } else {
            inv.log().error("Invoke Error " + error_body(*failure));
            posted = co_await post(
                client, inv, "/2018-06-01/runtime/invocation/" + id_segment + "/error",
                error_body(*failure), "application/json", error_headers(*failure), 0);
        }
        const auto duration = now() - received;
        if (!posted) co_return;  // The runtime is stopping.
        if (recorder) recorder->mark(failure ? "error posted" : "response posted");

        // After-response work gets a scope of its own (same deadline): the
        // handler's is closed, and this one is accounted for the same way.
        task_stats stats = scope.ledger().stats();
        auto after = detail::invocation_access::take_after_response(inv);
        if (!after.empty()) {
            root_scope after_scope(inv.deadline(), std::string(scope.trace_id()), recorder, time_);
            const auto after_ex = after_scope.executor(io_.get_executor());
            for (auto& fn : after) {
                try {
                    co_await asio::co_spawn(after_ex, std::move(fn), asio::use_awaitable);
                } catch (...) {
                    const error_report r = describe_current_exception();
                    inv.log().error("after_response failed: " + r.type + ": " + r.message);
                }
            }
            pending += co_await settle(after_scope, inv, "its after_response work returned");
            const task_stats more = after_scope.ledger().stats();
            for (std::size_t i = 0; i < status_count; ++i) stats.by_status[i] += more.by_status[i];
            stats.retries += more.retries;
            stats.latencies.insert(stats.latencies.end(), more.latencies.begin(),
                                   more.latencies.end());
        }

        // Written only now, so tracing adds nothing to the response's latency
        // and the trace includes the after_response work.
        if (recorder) write_trace(config_.trace_directory, *recorder, inv);

        if (config_.metrics) {
            detail::invocation_metrics m;
            m.namespace_name = config_.metrics_namespace;
            m.function_name = config_.function_name;
            m.request_id = inv.request_id();
            m.tasks = &stats;
            m.pending_work = pending;
            m.duration = duration;
            m.failed = failure.has_value();
            detail::write_all(STDOUT_FILENO, detail::emf_line(m) + '\n');
        }
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

    /// Ends a streamed response: opens it if the handler wrote nothing,
    /// then sends the last chunk, with the error trailers when the handler
    /// failed after its first write. A broken stream cannot be resent (its
    /// bytes are gone): it is logged and the invocation fails on the
    /// platform's side. False once the runtime must stop.
    asio::awaitable<bool> finish_stream(runtime_api_client& client, const invocation& inv,
                                        streamed_response& stream,
                                        const std::optional<error_report>& failure) {
        const std::size_t sent = stream.out.bytes_written();
        std::vector<detail::header> trailers;
        if (failure) {
            inv.log().error("Invoke Error " + error_body(*failure) + " (after " +
                            std::to_string(sent) +
                            " bytes of the streamed response; sent as its trailers)");
            trailers = {
                {"Lambda-Runtime-Function-Error-Type", failure->type},
                {"Lambda-Runtime-Function-Error-Body", base64_encode(error_body(*failure))}};
        }
        http_response r;
        try {
            if (!stream.broken() && !stream.opened())
                co_await stream.open(stream.out.content_type());
            if (stream.broken()) {
                inv.log().error("the streamed response broke after " + std::to_string(sent) +
                                " bytes (the connection to the Runtime API failed); the "
                                "invocation fails");
                client.abandon_stream();
                co_return true;
            }
            r = co_await client.finish_stream(std::move(trailers));
        } catch (const boost::system::system_error& e) {
            inv.log().error("the streamed response could not be ended after " +
                            std::to_string(sent) + " bytes (" + e.what() +
                            "); the invocation fails");
            co_return true;
        }
        const unsigned code = r.result_int();
        if (code / 100 == 2) co_return true;
        if (code == 413) {
            inv.log().error("the streamed response is too large for Lambda (" +
                            std::to_string(sent) +
                            " bytes), which reports it to the caller: " + r.body());
        } else if (code >= 500) {
            inv.log().fatal("the Runtime API failed on " + stream.path() + " (" +
                            std::to_string(code) + "): " + r.body() + "; the runtime exits");
            stop(2);
            co_return false;
        } else {
            inv.log().error("the Runtime API answered " + std::to_string(code) +
                            " to the streamed " + stream.path() + ": " + r.body());
        }
        co_return true;
    }

    /// Posts to `/response` or `/error`, retrying transport failures with
    /// the bounded backoff. False once the runtime must stop.
    asio::awaitable<bool> post(runtime_api_client& client, const invocation& inv, std::string path,
                               std::string body, std::string content_type,
                               std::vector<detail::header> headers, std::size_t response_size) {
        std::string last_error;
        for (int retry = 0; retry <= max_retries; ++retry) {
            if (retry > 0) co_await sleep(backoff(retry - 1));
            http_response r;
            try {
                r = co_await client.post(path, body, content_type, headers);
            } catch (const boost::system::system_error& e) {
                last_error = e.what();
                if (retry < max_retries) {
                    inv.log().warn("posting to " + path + " failed (" + last_error +
                                   "); retrying in " + std::to_string(backoff(retry).count()) +
                                   " ms");
                }
                continue;
            }
            const unsigned code = r.result_int();
            if (code / 100 == 2) co_return true;
            if (code == 413) {
                // Lambda reports the oversized response to the caller itself;
                // posting /error now would be refused.
                inv.log().error("the response is too large for Lambda (" +
                                std::to_string(response_size) +
                                " bytes; the limit is 6,291,556), which reports it to the caller "
                                "as an error: " +
                                r.body());
            } else if (code == 400) {
                inv.log().error("the Runtime API refused " + path +
                                " as a bad request (400): " + r.body());
            } else if (code == 403) {
                inv.log().error(
                    "the Runtime API refused " + path +
                    " (403: the invocation was already answered or has ended): " + r.body());
            } else if (code >= 500) {
                inv.log().fatal("the Runtime API failed on " + path + " (" + std::to_string(code) +
                                "): " + r.body() + "; the runtime exits");
                stop(2);
                co_return false;
            } else {
                inv.log().error("the Runtime API answered " + std::to_string(code) + " to " + path +
                                ": " + r.body());
            }
            co_return true;
        }
        inv.log().fatal("could not post to " + path + " after " + std::to_string(max_retries + 1) +
                        " attempts (last: " + last_error + "); the runtime exits");
        stop(2);
        co_return false;
    }

    /// The time on the runtime's clock.
    clock::time_point now() const noexcept { return muster::detail::now(time_); }
    long long milliseconds_since(clock::time_point t) const noexcept {
        return std::chrono::duration_cast<std::chrono::milliseconds>(now() - t).count();
    }
    /// Waits `d` on the runtime's clock (the backoff between attempts).
    asio::awaitable<void> sleep(clock::duration d) {
        muster::detail::timer t(io_.get_executor(), time_);
        t.expires_after(d);
        co_await t.async_wait(asio::use_awaitable);
    }

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
