// seed_patterns_lambda: the seed's three handlers as one Lambda function on
// muster's runtime. `_HANDLER` names the pattern (images, datasets, tasks);
// `auto`, or no handler at all, picks it from each event's key.
//
// `stream.<pattern>` (or `stream.auto`) is the streamed mode: the response
// is streamed, one NDJSON line per task the moment it completes, then a
// summary line (`muster::lambda::stream_as_completed`), instead of one JSON
// document after the slowest task.
#include <cstdlib>
#include <ranges>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include <muster/lambda.hpp>

#include "handlers.hpp"

namespace lambda = muster::lambda;
namespace json = boost::json;

namespace {

constexpr std::string_view stream_prefix = "stream.";

/// The streamed mode: the pattern's tasks, each result written as it completes.
boost::asio::awaitable<void> stream_pattern(std::string name, lambda::invocation& inv,
                                            lambda::response_stream& out) {
    boost::system::error_code ec;
    const json::value event = json::parse(inv.payload(), ec);
    if (ec) throw lambda::invalid_event_error("the event is not valid JSON: " + ec.message());
    const std::string pattern =
        name == "auto" ? std::string(seed_patterns::detect_pattern(event)) : name;
    const seed_patterns::task_list tasks = co_await seed_patterns::pattern_tasks(pattern, event);
    auto range = std::views::iota(std::size_t{0}, tasks.size) | std::views::transform(tasks.make);
    const lambda::stream_summary summary =
        co_await lambda::stream_as_completed(out, range, tasks.options);
    if (tasks.finish) co_await tasks.finish();
    inv.log().info("streamed " + std::to_string(summary.total) + " results, " +
                   std::to_string(summary.count(muster::status::ok)) + " ok");
}

}  // namespace

int main() {
    const char* configured = std::getenv("_HANDLER");
    std::string name = configured && *configured ? configured : "auto";
    const bool streamed = name.starts_with(stream_prefix);
    if (streamed) name.erase(0, stream_prefix.size());

    lambda::run_options options;
    if (name != "auto" && !seed_patterns::find_handler(name)) {
        // An unknown handler is an init error, as on Lambda.
        options.init = [name]() -> boost::asio::awaitable<void> {
            throw lambda::function_error(
                "Runtime.HandlerNotFound",
                "no handler named '" + name +
                    "' (images, datasets, tasks or auto, each optionally prefixed with stream.)");
            co_return;
        };
    }
    if (streamed) {
        return lambda::run(
            [name](lambda::invocation& inv, lambda::response_stream& out) {
                return stream_pattern(name, inv, out);
            },
            std::move(options));
    }
    return lambda::run(
        [name](const boost::json::value& event) -> boost::asio::awaitable<boost::json::value> {
            auto handler = seed_patterns::find_handler(
                name == "auto" ? seed_patterns::detect_pattern(event) : std::string_view(name));
            co_return co_await handler(event);
        },
        std::move(options));
}
