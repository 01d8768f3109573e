// seed_patterns_lambda: the seed's three handlers as one Lambda function on
// muster's runtime. `_HANDLER` names the pattern (images, datasets, tasks);
// `auto`, or no handler at all, picks it from each event's key.
#include <cstdlib>
#include <string>

#include <muster/lambda.hpp>

#include "handlers.hpp"

namespace lambda = muster::lambda;

int main() {
    const char* configured = std::getenv("_HANDLER");
    const std::string name = configured && *configured ? configured : "auto";

    lambda::run_options options;
    if (name != "auto" && !seed_patterns::find_handler(name)) {
        // An unknown handler is an init error, as on Lambda.
        options.init = [name]() -> boost::asio::awaitable<void> {
            throw lambda::function_error(
                "Runtime.HandlerNotFound",
                "no handler named '" + name + "' (images, datasets, tasks or auto)");
            co_return;
        };
    }
    return lambda::run(
        [name](const boost::json::value& event) -> boost::asio::awaitable<boost::json::value> {
            auto handler = seed_patterns::find_handler(
                name == "auto" ? seed_patterns::detect_pattern(event) : std::string_view(name));
            co_return co_await handler(event);
        },
        std::move(options));
}
