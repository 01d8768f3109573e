/// @file
/// The runtime's entry point: `muster::lambda::run(handler)` from `main`.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <muster/core/time_source.hpp>
#include <muster/lambda/invocation.hpp>
#include <muster/lambda/response.hpp>
#include <muster/lambda/response_stream.hpp>

namespace muster::lambda {

/// The handler the runtime runs, once per invocation.
using handler_function = std::function<boost::asio::awaitable<response>(invocation&)>;

/// The streaming handler: it writes the response to `out` as it goes (see
/// `response_stream`), and the runtime posts it to Lambda chunk by chunk.
using streaming_handler_function =
    std::function<boost::asio::awaitable<void>(invocation&, response_stream&)>;

/// How the runtime behaves beyond what the environment says.
struct run_options {
    /// How long before the platform's deadline `invocation::deadline()`
    /// falls, so the handler can stop its work, and the runtime can still
    /// post what was collected, before the platform kills the process. The
    /// margin never exceeds a tenth of the time the invocation had when it
    /// arrived, so short timeouts keep most of their time.
    /// `MUSTER_DEADLINE_MARGIN_MS` overrides it.
    std::chrono::milliseconds deadline_margin{250};

    /// Runs once before the first invocation, inside the runtime's
    /// io_context (open connections, read configuration). An exception is
    /// reported to `/init/error` and the process exits with 1.
    std::function<boost::asio::awaitable<void>()> init;

    /// Writes one CloudWatch Embedded Metric Format line per invocation
    /// (tasks by status, task latency, retries, work left pending) to
    /// standard output. `MUSTER_METRICS=off` turns it off.
    bool metrics = true;
    /// The CloudWatch namespace of those metrics
    /// (`MUSTER_METRICS_NAMESPACE` overrides it).
    std::string metrics_namespace = "muster";

    /// A directory for a trace of every invocation: once the response is
    /// posted and the `after_response` work has run, the runtime writes
    /// `<dir>/<request-id>.trace.json` (Chrome trace-event format, for
    /// Perfetto or chrome://tracing) and `<dir>/<request-id>.html` (a
    /// timeline), with one span per task collected in the invocation (see
    /// `muster::trace::recorder`). The directory is created if missing; a
    /// write that fails is logged and never fails the invocation. Empty (the
    /// default): nothing is recorded. `MUSTER_TRACE` overrides it.
    std::string trace_directory;

    /// The clock the runtime runs on, for tests of the runtime itself: the
    /// backoff between attempts to reach the Runtime API waits on it, the
    /// invocations' scopes and `invocation::remaining()` read it, and it
    /// runs the runtime's io_context (`time_source::run`). With a
    /// `muster::testing::manual_clock`, the backoff is instant and exact.
    /// Null (the default, and the only sensible value in production): the
    /// steady clock. It must outlive `run`.
    time_source* time = nullptr;
};

/// Runs the Lambda runtime loop until the platform ends the process.
///
/// Reads the environment (`AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_LOG_FORMAT`,
/// `AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_MAX_CONCURRENCY`, ...), runs
/// `options.init`, then asks the Runtime API for invocations: one at a time,
/// or `AWS_LAMBDA_MAX_CONCURRENCY` at once (Lambda Managed Instances), all on
/// one io_context thread. Each invocation runs `handler` in its own scope
/// with its own deadline.
///
/// Errors: an exception escaping the handler is posted to `/error` with
/// `errorType` (the exception's type, or `function_error::error_type()`) and
/// `errorMessage`, and the loop goes on. A bad environment or a failing
/// `init` is posted to `/init/error`. A Runtime API that answers 500, or that
/// stays unreachable through a bounded backoff, ends the loop.
///
/// Returns: the process exit code, never 0 (the platform ends a healthy
/// runtime by killing it): 1 after an init error, 2 when the Runtime API
/// failed. `main` returns it.
///
/// @code
/// int main() {
///     return muster::lambda::run([](muster::lambda::invocation& inv)
///                                    -> boost::asio::awaitable<muster::lambda::response> {
///         co_return muster::lambda::response::text("hello " + inv.request_id());
///     });
/// }
/// @endcode
int run(handler_function handler, run_options options = {});

/// The streaming form: `handler` writes the response to its
/// `response_stream` instead of returning it, and every write reaches the
/// caller at once (`InvokeWithResponseStream`, or a function URL with
/// `InvokeMode: RESPONSE_STREAM`). The runtime posts `/response` with
/// `Lambda-Runtime-Function-Response-Mode: streaming` and chunked transfer
/// encoding, opened by the handler's first write.
///
/// Errors: an exception before the first write is posted to `/error`, as in
/// the buffered form; after it, the stream ends with the trailers
/// `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body`
/// (the error document, base64), which Lambda passes to the caller after
/// the bytes already sent. A handler that writes nothing sends an empty
/// streamed response.
///
/// Scope and deadline: as in the buffered form. When the handler returns,
/// work it left pending is reported and dropped before the stream is ended,
/// and the stream refuses later writes.
///
/// @code
/// return muster::lambda::run([](muster::lambda::invocation& inv,
///                               muster::lambda::response_stream& out)
///                                -> boost::asio::awaitable<void> {
///     out.set_content_type("application/x-ndjson");
///     co_await out.write("{\"step\":1}\n");
///     co_await out.write("{\"step\":2}\n");
/// });
/// @endcode
int run(streaming_handler_function handler, run_options options = {});

namespace detail {

/// Parses the payload as JSON; `invalid_event_error` (with the position)
/// when it is not.
boost::json::value parse_event(const std::string& payload);

template <class Handler>
boost::asio::awaitable<response> call_json_handler(std::shared_ptr<Handler> handler,
                                                   invocation& inv) {
    const boost::json::value event = parse_event(inv.payload());
    boost::json::value result;
    if constexpr (std::is_invocable_v<Handler&, const boost::json::value&, invocation&>) {
        result = co_await (*handler)(event, inv);
    } else {
        result = co_await (*handler)(event);
    }
    co_return response::json(result);
}

template <class Handler>
inline constexpr bool is_json_handler_v =
    std::is_invocable_r_v<boost::asio::awaitable<boost::json::value>, Handler&,
                          const boost::json::value&, invocation&> ||
    std::is_invocable_r_v<boost::asio::awaitable<boost::json::value>, Handler&,
                          const boost::json::value&>;

}  // namespace detail

/// The JSON form: `handler` takes the event as a `boost::json::value`
/// (optionally with the invocation) and returns one, serialised as the
/// response. A payload that is not JSON is reported as
/// `Runtime.UnmarshalError` without calling the handler.
///
/// @code
/// return muster::lambda::run([](const boost::json::value& event)
///                                -> boost::asio::awaitable<boost::json::value> {
///     co_return boost::json::object{{"echo", event}};
/// });
/// @endcode
template <class Handler>
    requires detail::is_json_handler_v<Handler>
int run(Handler handler, run_options options = {}) {
    auto shared = std::make_shared<Handler>(std::move(handler));
    return run(handler_function([shared](invocation& inv) {
                   return detail::call_json_handler(shared, inv);
               }),
               std::move(options));
}

}  // namespace muster::lambda
