// seed_patterns: the seed's three Lambda handlers on muster, as a plain
// program (lambda_main.cpp builds the same handlers as a Lambda function).
//
//   seed_patterns <images|datasets|tasks|auto> [--event FILE|-] [--deadline-ms N]
//   seed_patterns demo
//
// Prints the handler's JSON response on stdout. Exit codes: 0 done (task
// failures are part of the response, not of the exit code), 2 bad usage or a
// bad event (malformed JSON, wrong shape), 1 anything else.

#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>

#include <muster/core/scope.hpp>

#include "embedded_events.hpp"
#include "handlers.hpp"

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using seed_patterns::bad_event;

constexpr std::string_view usage_text =
    "usage: seed_patterns <images|datasets|tasks|auto> [--event FILE|-] [--deadline-ms N]\n"
    "       seed_patterns demo\n"
    "\n"
    "  --event FILE   read the event from FILE ('-': standard input); without it,\n"
    "                 a named pattern runs on its built-in example event\n"
    "  --deadline-ms  give the invocation a deadline N ms from now, as Lambda would\n"
    "  auto           choose the pattern from the event's key (imageUrls, dataSets, tasks)\n";

/// Wrong command line: exit 2 with the usage text.
class usage_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// ---- reading the event ------------------------------------------------------

/// Parses `text`; a syntax error names the line and column where it is.
json::value parse_event(std::string_view text, const std::string& source) {
    json::parser p;
    boost::system::error_code ec;
    // write() wants one complete JSON text: trailing data or a truncated
    // text is an error too. It returns how far it got, error or not.
    const std::size_t used = p.write(text.data(), text.size(), ec);
    if (!ec) return p.release();

    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < std::min(used, text.size()); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    std::ostringstream what;
    what << "malformed JSON in " << source << " at line " << line << ", column " << column << ": "
         << ec.message();
    throw bad_event(what.str());
}

json::value read_event(const std::string& path) {
    if (path == "-") {
        std::string text{std::istreambuf_iterator<char>(std::cin),
                         std::istreambuf_iterator<char>()};
        return parse_event(text, "standard input");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw bad_event("cannot read the event file " + path);
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return parse_event(text, path);
}

json::value embedded_event(std::string_view pattern) {
    if (pattern == "images")
        return parse_event(seed_patterns::embedded::images_event, "images.json");
    if (pattern == "datasets")
        return parse_event(seed_patterns::embedded::datasets_event, "datasets.json");
    return parse_event(seed_patterns::embedded::tasks_event, "tasks.json");
}

// ---- running a handler --------------------------------------------------------

/// Runs `handler(event)` on a fresh single-threaded io_context, as the
/// Lambda runtime does, and returns its response or rethrows its exception.
/// The handler runs in a root scope, as an invocation does: with a deadline,
/// every collection inside obeys it.
json::value invoke(seed_patterns::handler_fn handler, const json::value& event,
                   std::optional<std::chrono::milliseconds> deadline) {
    asio::io_context io;
    const muster::root_scope scope(deadline ? muster::clock::now() + *deadline
                                            : muster::clock::time_point::max());
    const auto ex = scope.executor(io.get_executor());
    std::optional<json::value> response;
    std::exception_ptr error;
    asio::co_spawn(ex, handler(event), [&](std::exception_ptr e, json::value v) {
        error = std::move(e);
        if (!error) response.emplace(std::move(v));
    });
    io.run();
    // io.run() returns only when nothing at all is left: no timer, no pool
    // job posting back, no callback pending. Were a handler to leak work,
    // run() would not return; the check below catches a handler that never
    // completed.
    if (error) std::rethrow_exception(error);
    if (!response) throw std::logic_error("the handler did not complete");
    return std::move(*response);
}

// ---- printing -----------------------------------------------------------------

/// The response with one result per line: readable, and still JSON.
std::string pretty(const json::value& response) {
    const json::object& r = response.as_object();
    std::string out = "{\n  \"results\": [";
    const json::array& results = r.at("results").as_array();
    for (std::size_t i = 0; i < results.size(); ++i) {
        out += i == 0 ? "\n    " : ",\n    ";
        out += json::serialize(results[i]);
    }
    out += results.empty() ? "],\n" : "\n  ],\n";
    out += "  \"summary\": " + json::serialize(r.at("summary")) + "\n}";
    return out;
}

std::string fixed(double v, int width, int precision = 1) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%*.*f", width, precision, v);
    return buf;
}

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

/// A one-line rendering of an input for the table, shortened when long.
std::string short_input(const json::value& v) {
    std::string s = v.is_string() ? std::string(v.as_string()) : json::serialize(v);
    constexpr std::size_t max = 58;
    if (s.size() > max) s = s.substr(0, max - 3) + "...";
    return s;
}

void print_table(const json::value& response) {
    const json::object& r = response.as_object();
    std::cout << "  #  status       tries  queued_ms  run_ms  input -> value | error\n";
    for (const json::value& e : r.at("results").as_array()) {
        const json::object& entry = e.as_object();
        const json::object& t = entry.at("timing_us").as_object();
        std::string outcome;
        if (const json::value* v = entry.if_contains("value")) {
            outcome = json::serialize(*v);
        } else {
            const json::object& err = entry.at("error").as_object();
            outcome = std::string(err.at("type").as_string()) + ": " +
                      std::string(err.at("message").as_string());
        }
        std::cout << "  " << pad(std::to_string(entry.at("index").to_number<std::size_t>()), 3)
                  << pad(std::string(entry.at("status").as_string()), 13)
                  << pad(std::to_string(entry.at("attempts").to_number<unsigned>()), 5)
                  << fixed(t.at("queued").to_number<double>() / 1000.0, 9)
                  << fixed(t.at("run").to_number<double>() / 1000.0, 8) << "  "
                  << short_input(entry.at("input")) << "\n"
                  << "       -> " << outcome << "\n";
    }
    const json::object& s = r.at("summary").as_object();
    std::cout << "  summary: " << s.at("ok").as_uint64() << " ok, " << s.at("failed").as_uint64()
              << " failed, " << s.at("timed_out").as_uint64() << " timed_out, "
              << s.at("cancelled").as_uint64() << " cancelled, " << s.at("not_started").as_uint64()
              << " not_started; " << s.at("attempts").as_uint64() << " attempts; "
              << fixed(s.at("elapsed_us").to_number<double>() / 1000.0, 0) << " ms\n"
              << "  completion order: " << json::serialize(s.at("completion_order")) << "\n";
}

// ---- demo -------------------------------------------------------------------

struct demo_case {
    std::string_view pattern;
    std::string_view title;
    std::string_view seed;
    std::string_view muster;
    std::optional<std::chrono::milliseconds> deadline;
};

/// The datasets demo prepends one large data set, so that it finishes last
/// and the completion order visibly differs from the input order.
json::value demo_event(std::string_view pattern) {
    json::value event = embedded_event(pattern);
    if (pattern == "datasets") {
        json::array big;
        constexpr std::int64_t n = 1'000'000;
        big.reserve(n);
        for (std::int64_t i = 1; i <= n; ++i) big.push_back(i);
        json::array& sets = event.as_object().at("dataSets").as_array();
        sets.insert(sets.begin(), std::move(big));
    }
    return event;
}

int run_demo() {
    const demo_case cases[] = {
        {"images", "images: fetch and process every URL",
         "asyncio.gather(return_exceptions=True): no limit, no timeout, errors become strings",
         "muster::gather(urls | views::transform(fetch_and_process), {limit 3, task_timeout "
         "400ms, retry 3x transient HTTP errors only})",
         std::nullopt},
        {"datasets", "datasets: sum(data) * 2 on the CPU pool",
         "ThreadPoolExecutor + as_completed: results appended in completion order, input "
         "position lost",
         "muster::as_completed(sets | views::transform(offload(sum*2))): read as they finish, "
         "each put back at its index (set 0 has 1,000,000 numbers, so it usually finishes last)",
         std::nullopt},
        {"tasks", "tasks: one thread per task, results through a callback",
         "threads + Queue + Event: the first thread to finish sets the Event, later results are "
         "lost; globals leak into the next warm invocation",
         "muster::with_group + muster::from_callback: every result collected, all state owned "
         "by the invocation, no thread outlives it",
         std::nullopt},
        {"images", "images again, inside a 75 ms invocation deadline",
         "the seed has no deadline: Lambda kills the process and every result is lost",
         "the same handler in a scope with a deadline: running fetches end timed_out, fetches "
         "never admitted are not_started, and the partial results are returned in time",
         std::chrono::milliseconds(75)},
    };
    for (const demo_case& c : cases) {
        std::cout << "=== " << c.title << " ===\n"
                  << "  seed:   " << c.seed << "\n"
                  << "  muster: " << c.muster << "\n\n";
        const json::value response =
            invoke(seed_patterns::find_handler(c.pattern), demo_event(c.pattern), c.deadline);
        print_table(response);
        std::cout << "\n" << pretty(response) << "\n\n";
    }
    return 0;
}

// ---- command line -------------------------------------------------------------

int run_command(const std::vector<std::string_view>& args) {
    if (args.empty()) throw usage_error("no pattern given");
    if (args[0] == "-h" || args[0] == "--help") {
        std::cout << usage_text;
        return 0;
    }
    if (args[0] == "demo") {
        if (args.size() > 1) throw usage_error("demo takes no arguments");
        return run_demo();
    }

    const std::string_view pattern_arg = args[0];
    if (pattern_arg != "auto" && !seed_patterns::find_handler(pattern_arg)) {
        throw usage_error("unknown pattern '" + std::string(pattern_arg) + "'");
    }
    std::optional<std::string> event_path;
    std::optional<std::chrono::milliseconds> deadline;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--event" && i + 1 < args.size()) {
            event_path = std::string(args[++i]);
        } else if (args[i] == "--deadline-ms" && i + 1 < args.size()) {
            const std::string text(args[++i]);
            std::size_t used = 0;
            long ms = -1;
            try {
                ms = std::stol(text, &used);
            } catch (const std::exception&) {
            }
            if (used != text.size() || ms < 0) {
                throw usage_error("--deadline-ms needs a number of milliseconds, not '" + text +
                                  "'");
            }
            deadline = std::chrono::milliseconds(ms);
        } else {
            throw usage_error("unexpected argument '" + std::string(args[i]) + "'");
        }
    }
    if (pattern_arg == "auto" && !event_path) throw usage_error("auto needs --event FILE|-");

    const json::value event = event_path ? read_event(*event_path) : embedded_event(pattern_arg);
    const std::string_view pattern =
        pattern_arg == "auto" ? seed_patterns::detect_pattern(event) : pattern_arg;
    const json::value response = invoke(seed_patterns::find_handler(pattern), event, deadline);
    std::cout << json::serialize(response) << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run_command(std::vector<std::string_view>(argv + 1, argv + argc));
    } catch (const usage_error& e) {
        std::cerr << "seed_patterns: " << e.what() << "\n" << usage_text;
        return 2;
    } catch (const bad_event& e) {
        std::cerr << "seed_patterns: bad event: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "seed_patterns: " << e.what() << "\n";
        return 1;
    } catch (...) {
        std::cerr << "seed_patterns: unknown error\n";
        return 1;
    }
}
