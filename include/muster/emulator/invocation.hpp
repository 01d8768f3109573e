#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace muster::emulator {

/// One invocation to run: what AWS's `Invoke` API would receive.
struct invoke_request {
    /// The event, as JSON text. Empty means `{}`. Anything else that is not
    /// valid JSON is rejected (`InvalidRequestContentException`), as Lambda
    /// does, without reaching the function.
    std::string payload;

    /// `Lambda-Runtime-Client-Context` for the runtime (JSON text), if any.
    std::string client_context;

    /// When set and the function streams its response
    /// (`Lambda-Runtime-Function-Response-Mode: streaming`), each piece of
    /// the body is passed here as it arrives instead of being collected in
    /// `invoke_result::payload`. Called on the emulator's executor.
    std::function<void(std::string_view chunk)> on_stream_chunk;

    /// With `on_stream_chunk`: called once, before the first piece, with the
    /// `Content-Type` the function posted its streamed response with (empty
    /// when it sent none), e.g. `application/x-ndjson`. Called on the
    /// emulator's executor.
    std::function<void(std::string_view content_type)> on_stream_start;
};

/// How an invocation ended.
enum class invoke_status {
    /// The function posted a response; `payload` is it.
    ok,
    /// The function failed: it posted `/error`, crashed, timed out, failed to
    /// initialise, streamed an error trailer or answered too much.
    /// `payload` is the error document Lambda would return
    /// (`{"errorMessage":…,"errorType":…}`), `error_type` its type.
    function_error,
    /// The platform refused the request before it reached the function (too
    /// large, not JSON, emulator shutting down). `error_type` is the name of
    /// AWS's exception, e.g. `RequestEntityTooLargeException`.
    rejected,
};

/// The outcome of one invocation.
struct invoke_result {
    std::string request_id;  ///< Empty when rejected.
    invoke_status status = invoke_status::ok;
    std::string payload;                    ///< Response or error document (see status).
    std::string error_type;                 ///< Empty when ok.
    bool streamed = false;                  ///< The function used response streaming.
    std::chrono::microseconds duration{0};  ///< Delivery to response.

    /// True when the function answered without error.
    bool ok() const noexcept { return status == invoke_status::ok; }
};

}  // namespace muster::emulator
