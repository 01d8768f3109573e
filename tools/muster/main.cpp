// muster: run a Lambda function on this machine the way Lambda runs it.
//
//   muster invoke [--event FILE|-] [options] -- ./bootstrap [args]
//   muster serve  [--port P]       [options] -- ./bootstrap [args]
//
// A thin main over muster::emulator: it parses arguments (CLI11), reads the
// event, and prints. Responses go to stdout, platform lines and the
// function's own output to stderr.

#include <muster/emulator/emulator.hpp>
#include <muster/emulator/event_file.hpp>
#include <muster/emulator/invoke_server.hpp>

#include <CLI/CLI.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <signal.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace emu = muster::emulator;
namespace net = boost::asio;

// Exit codes: 0 every invocation succeeded, 1 the function failed at least
// once, 2 bad usage or input (nothing was invoked, or not all of it).
constexpr int exit_ok = 0;
constexpr int exit_function_error = 1;
constexpr int exit_usage = 2;

struct common_options {
    std::vector<std::string> command;
    double timeout_s = 3;
    double init_timeout_s = 10;
    double shutdown_grace_s = 0.5;
    unsigned memory_mb = 128;
    unsigned concurrency = 1;
    std::vector<std::string> env;
    bool no_freeze = false;
    std::string handler = "function.handler";
    std::string function_name = "function";
    std::string region = "us-east-1";
    std::string task_root;
    std::string trace_dir;
};

void add_common(CLI::App& cmd, common_options& o) {
    cmd.add_option("--timeout", o.timeout_s, "Invocation timeout in seconds (Lambda: 1-900)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd.add_option("--memory", o.memory_mb, "Memory size in MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE)")
        ->check(CLI::Range(128u, 10240u))
        ->capture_default_str();
    cmd.add_option("--env", o.env, "An environment variable for the function, K=V (repeatable)")
        ->type_name("K=V")
        ->allow_extra_args(false);
    cmd.add_option("--concurrency", o.concurrency,
                   "Invocations at once in one process (Lambda Managed Instances when > 1; "
                   "sets AWS_LAMBDA_MAX_CONCURRENCY, disables freezing)")
        ->check(CLI::Range(1u, 1024u))
        ->capture_default_str();
    cmd.add_flag("--no-freeze", o.no_freeze,
                 "Do not freeze the process (SIGSTOP) between invocations");
    cmd.add_option("--init-timeout", o.init_timeout_s, "Init timeout in seconds")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd.add_option("--shutdown-grace", o.shutdown_grace_s,
                   "Seconds between SIGTERM and SIGKILL on shutdown")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd.add_option("--handler", o.handler, "_HANDLER")->capture_default_str();
    cmd.add_option("--function-name", o.function_name, "AWS_LAMBDA_FUNCTION_NAME")
        ->capture_default_str();
    cmd.add_option("--region", o.region, "AWS_REGION")->capture_default_str();
    cmd.add_option("--task-root", o.task_root,
                   "LAMBDA_TASK_ROOT and working directory (default: the bootstrap's directory)");
    cmd.add_option("--trace", o.trace_dir,
                   "Write a trace of each invocation into DIR: <request-id>.html (a timeline of "
                   "its tasks) and <request-id>.trace.json (for Perfetto); sets MUSTER_TRACE")
        ->type_name("DIR");
    cmd.add_option("bootstrap", o.command, "The bootstrap and its arguments (after --)")
        ->required();
}

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000.0)));
}

// Builds the emulator's configuration, or prints why it cannot and returns false.
bool make_config(const common_options& o, emu::function_config& config) {
    if (auto problem = emu::check_command(o.command)) {
        std::fprintf(stderr, "muster: %s\n", problem->c_str());
        return false;
    }
    config.command = o.command;
    config.timeout = to_ms(o.timeout_s);
    config.init_timeout = to_ms(o.init_timeout_s);
    config.shutdown_grace = to_ms(o.shutdown_grace_s);
    config.memory_mb = o.memory_mb;
    config.concurrency = o.concurrency;
    config.freeze = !o.no_freeze;
    config.handler = o.handler;
    config.function_name = o.function_name;
    config.region = o.region;
    config.task_root = o.task_root;
    for (const auto& kv : o.env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::fprintf(stderr, "muster: --env expects K=V, got '%s'\n", kv.c_str());
            return false;
        }
        config.environment.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    if (!o.trace_dir.empty()) {
        // Absolute: the function runs in its task root, not in our directory.
        std::error_code ec;
        const auto dir = std::filesystem::absolute(o.trace_dir, ec);
        if (ec) {
            std::fprintf(stderr, "muster: --trace %s: %s\n", o.trace_dir.c_str(),
                         ec.message().c_str());
            return false;
        }
        auto normal = dir.lexically_normal();
        if (!normal.has_filename() && normal != normal.root_path()) normal = normal.parent_path();
        config.environment.emplace_back("MUSTER_TRACE", normal.string());
        std::fprintf(stderr, "muster: traces go to %s/<request-id>.html and .trace.json\n",
                     normal.string().c_str());
    }
    return true;
}

bool read_event_text(const std::string& source, std::string& text) {
    if (source.empty()) {
        text.clear();
        return true;
    }
    if (source == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        return true;
    }
    std::ifstream in(source, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "muster: cannot read the event file '%s'\n", source.c_str());
        return false;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return true;
}

void write_stdout(std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

int run_invoke(const common_options& o, const std::string& event_source) {
    emu::function_config config;
    if (!make_config(o, config)) {
        return exit_usage;
    }
    std::string text;
    if (!read_event_text(event_source, text)) {
        return exit_usage;
    }
    std::vector<std::string> events;
    try {
        events = emu::events_from_json(text);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "muster: %s%s%s\n", e.what(), event_source.empty() ? "" : " in ",
                     event_source.c_str());
        return exit_usage;
    }

    net::io_context io;
    int code = exit_ok;
    emu::emulator function(io.get_executor(), config);
    auto session = [&function, &events, &code]() -> net::awaitable<void> {
        for (auto& event : events) {
            emu::invoke_request request;
            request.payload = std::move(event);
            bool streamed_any = false;
            request.on_stream_chunk = [&streamed_any](std::string_view chunk) {
                streamed_any = true;
                write_stdout(chunk);
            };
            emu::invoke_result result = co_await function.invoke(std::move(request));
            if (result.status == emu::invoke_status::ok) {
                if (!streamed_any) {
                    write_stdout(result.payload);
                }
                write_stdout("\n");
                continue;
            }
            if (streamed_any) {
                write_stdout("\n");
            }
            write_stdout(result.payload);
            write_stdout("\n");
            if (result.status == emu::invoke_status::rejected) {
                std::fprintf(stderr, "muster: the invocation was rejected: %s\n",
                             result.error_type.c_str());
                code = exit_usage;
            } else if (code == exit_ok) {
                code = exit_function_error;
            }
        }
        co_await function.shutdown();
    };
    net::co_spawn(io, session(), [&code](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& error) {
                std::fprintf(stderr, "muster: %s\n", error.what());
            }
            code = exit_usage;
        }
    });
    io.run();
    return code;
}

// What `muster serve` adds: where it listens and how it treats clients.
struct serve_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9000;
    double idle_timeout_s = 60;
    double header_timeout_s = 10;
    double body_timeout_s = 30;
    std::size_t max_connections = 256;
};

void add_serve(CLI::App& cmd, serve_options& s) {
    cmd.add_option("--port", s.port, "Port to listen on (0 picks a free one)")
        ->capture_default_str();
    cmd.add_option("--host", s.host, "Address to listen on")->capture_default_str();
    cmd.add_option("--idle-timeout", s.idle_timeout_s,
                   "Seconds a connection may wait for its next request before it is closed")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd.add_option("--header-timeout", s.header_timeout_s,
                   "Seconds a request header may take to arrive (then 408, closed)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd.add_option("--body-timeout", s.body_timeout_s,
                   "Seconds a request body may take to arrive (then 408, closed), and a client "
                   "may take to read an answer")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd.add_option("--max-connections", s.max_connections,
                   "Connections served at once; more wait in the listen backlog")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->capture_default_str();
}

int run_serve(const common_options& o, const serve_options& s) {
    const std::string& host = s.host;
    const std::uint16_t port = s.port;
    emu::invoke_server_options server_options;
    server_options.idle_timeout = to_ms(s.idle_timeout_s);
    server_options.header_timeout = to_ms(s.header_timeout_s);
    server_options.body_timeout = to_ms(s.body_timeout_s);
    server_options.max_connections = s.max_connections;
    emu::function_config config;
    if (!make_config(o, config)) {
        return exit_usage;
    }
    net::io_context io;
    emu::emulator function(io.get_executor(), config);
    std::optional<emu::invoke_server> server;
    try {
        server.emplace(io.get_executor(), function, host, port, emu::platform_log_sink{},
                       server_options);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "muster serve: cannot listen on %s:%u: %s\n", host.c_str(),
                     static_cast<unsigned>(port), e.what());
        return exit_usage;
    }
    std::fprintf(
        stderr,
        "muster serve: listening on http://%s:%u/2015-03-31/functions/function/invocations\n",
        host.c_str(), static_cast<unsigned>(server->port()));
    std::fflush(stderr);

    net::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) {
            return;
        }
        std::fprintf(stderr, "muster serve: shutting down\n");
        server->close();
        net::co_spawn(io, function.shutdown(), [&io](std::exception_ptr) { io.stop(); });
    });
    io.run();
    return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    // A client or a pipe that goes away must not kill the emulator.
    ::signal(SIGPIPE, SIG_IGN);

    CLI::App app{"muster: run a Lambda function (its bootstrap) locally, the way Lambda runs it"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Help for every command");

    common_options invoke_options;
    std::string event_source;
    auto* invoke = app.add_subcommand(
        "invoke",
        "Start the bootstrap, send it the event(s), print each response on stdout; "
        "exit 1 when the function failed");
    invoke->add_option("--event", event_source,
                       "Event JSON file, or - for stdin (default: {}); a JSON array invokes "
                       "once per element, warm, in sequence");
    add_common(*invoke, invoke_options);

    common_options serve_common;
    serve_options serve_only;
    auto* serve = app.add_subcommand("serve",
                                     "Keep the function warm behind AWS's invoke route, "
                                     "POST /2015-03-31/functions/function/invocations");
    add_serve(*serve, serve_only);
    add_common(*serve, serve_common);

    CLI11_PARSE(app, argc, argv);

    if (invoke->parsed()) {
        return run_invoke(invoke_options, event_source);
    }
    return run_serve(serve_common, serve_only);
}
