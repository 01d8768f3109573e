#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace muster::emulator {

/// The largest request payload Lambda's Invoke accepts: 6 MiB, 6,291,456
/// bytes ("Request must be smaller than 6291456 bytes for the
/// InvokeFunction operation").
inline constexpr std::size_t lambda_payload_limit = 6 * 1024 * 1024;

/// The largest buffered response Lambda accepts from a function: 6,291,556
/// bytes, 100 more than the request limit ("Response payload size (N bytes)
/// exceeded maximum allowed payload size (6291556 bytes).").
inline constexpr std::size_t lambda_response_limit = 6 * 1024 * 1024 + 100;

/// The largest streamed response the emulator accepts: 20 MiB, Lambda's
/// documented default for response streaming.
inline constexpr std::size_t lambda_streamed_payload_limit = 20 * 1024 * 1024;

/// Receives one platform line (`START …`, `END …`, `REPORT …`, timeouts,
/// init errors), without its trailing newline. Called on the emulator's
/// executor; it must not block for long.
using platform_log_sink = std::function<void(std::string_view line)>;

/// How to run one function, the local equivalent of a Lambda function's
/// configuration.
///
/// Only `command` is required. Everything else defaults to what Lambda uses
/// for a new function (3 s timeout, 128 MB, 10 s init timeout, frozen between
/// invocations).
///
/// Environment given to the bootstrap: it does not inherit the caller's
/// environment (so no credentials leak into it), only `PATH`.
/// `LD_LIBRARY_PATH` is Lambda's
/// (`/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib`)
/// as far as it exists on this machine, with the task root for `/var/task`:
/// `/lib64:/usr/lib64:<task root>:<task root>/lib:/opt/lib`, never the
/// caller's, so a function that finds a library only through the caller's
/// search path fails here as it would on Lambda. On top come Lambda's variables
/// (`AWS_LAMBDA_RUNTIME_API`,
/// `_HANDLER`, `LAMBDA_TASK_ROOT`, `LAMBDA_RUNTIME_DIR`,
/// `AWS_LAMBDA_FUNCTION_NAME/VERSION/MEMORY_SIZE`, `AWS_REGION`,
/// `AWS_DEFAULT_REGION`, `AWS_LAMBDA_LOG_GROUP_NAME/STREAM_NAME`,
/// `AWS_LAMBDA_INITIALIZATION_TYPE`, `TZ`, `LANG`, and
/// `AWS_LAMBDA_MAX_CONCURRENCY` when `concurrency` > 1), then `environment`,
/// which overrides any of them.
///
/// Example:
/// ```
/// muster::emulator::function_config config;
/// config.command = {"./bootstrap"};
/// config.timeout = std::chrono::seconds(10);
/// ```
struct function_config {
    /// The bootstrap and its arguments. A name without a `/` is looked up in
    /// `PATH`, like a shell does.
    std::vector<std::string> command;

    /// The bootstrap's working directory and `LAMBDA_TASK_ROOT`. Empty: the
    /// directory holding the bootstrap (or the current directory when the
    /// bootstrap was found through `PATH`).
    std::filesystem::path task_root;

    /// Extra environment variables, applied last (they override Lambda's).
    std::vector<std::pair<std::string, std::string>> environment;

    std::string handler = "function.handler";  ///< `_HANDLER`
    std::string function_name = "function";    ///< `AWS_LAMBDA_FUNCTION_NAME`
    std::string function_version = "$LATEST";  ///< `AWS_LAMBDA_FUNCTION_VERSION`
    std::string region = "us-east-1";          ///< `AWS_REGION`
    unsigned memory_mb = 128;                  ///< `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`

    /// Time an invocation may take, from its delivery on `/next` to the
    /// runtime's next `/next` (1 to 900 s on Lambda). When it passes, the
    /// process group is killed and the invocation fails with
    /// `Sandbox.Timedout` ("Task timed out after N.00 seconds").
    std::chrono::milliseconds timeout{3000};

    /// Time from starting the bootstrap to its first `/next` (10 s on Lambda).
    std::chrono::milliseconds init_timeout{10000};

    /// On shutdown the process group gets SIGTERM, then SIGKILL after this.
    std::chrono::milliseconds shutdown_grace{500};

    /// Lambda Managed Instances: more than 1 sets `AWS_LAMBDA_MAX_CONCURRENCY`
    /// and lets that many invocations run at once in the one process (each
    /// on its own `/next` poll); the process is then never frozen.
    unsigned concurrency = 1;

    /// Freeze the process group with SIGSTOP while it waits on `/next` with
    /// nothing to do, and resume it with SIGCONT for the next invocation, as
    /// Lambda does. Only with `concurrency` == 1.
    bool freeze = true;

    std::size_t max_request_bytes = lambda_payload_limit;
    std::size_t max_response_bytes = lambda_response_limit;
    std::size_t max_streamed_response_bytes = lambda_streamed_payload_limit;

    /// Where platform lines go; empty writes them to stderr.
    platform_log_sink platform_log;

    /// The descriptor the function's stdout and stderr are connected to.
    int function_output_fd = 2;
};

/// Checks that `command` names something that can be started: it exists, is
/// a regular file and is executable by this user. Returns a message for a
/// person (naming the file and what is wrong) or nothing when it looks fine.
/// Lambda reports the same problems as `Runtime.InvalidEntrypoint`.
std::optional<std::string> check_command(const std::vector<std::string>& command);

}  // namespace muster::emulator
