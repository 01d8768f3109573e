// thumbnails: the image pipeline of the seed as a Lambda function. An SQS batch of image
// locations in; thumbnails, their metadata and the partial batch response out. Or, invoked
// directly with {"imageUrls": [...]}, one streamed NDJSON line per image as it completes.
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda.hpp>
#include <muster/process_pool.hpp>

#include "function.hpp"
#include "image.hpp"

namespace lambda = muster::lambda;

namespace {

// The work function of the process pool's workers (THUMBNAILS_DECODER=processes), registered
// before main so a worker, this same program started again, knows it.
const muster::work_registrar thumbnail_work_registration{thumbnails::thumbnail_work_name,
                                                         thumbnails::thumbnail_work};

boost::asio::awaitable<void> init(std::shared_ptr<thumbnails::thumbnail_function> function) {
    auto started = function->init();
    co_await std::move(started);
}

boost::asio::awaitable<void> handle(std::shared_ptr<thumbnails::thumbnail_function> function,
                                    lambda::invocation& inv, lambda::response_stream& out) {
    boost::system::error_code ec;
    boost::json::value event = boost::json::parse(inv.payload(), ec);
    if (ec) {
        throw lambda::invalid_event_error("the event is not valid JSON: " + ec.message() + " (" +
                                          std::to_string(inv.payload().size()) + " bytes)");
    }
    auto handling = function->handle_stream(std::move(event), inv, out);
    co_await std::move(handling);
}

}  // namespace

int main(int argc, char** argv) {
    // In a worker process this serves decode tasks until the pool closes it.
    if (auto code = muster::process_pool::worker_main_if_requested(argc, argv)) return *code;

    auto function = std::make_shared<thumbnails::thumbnail_function>();
    lambda::run_options options;
    options.init = [function] { return init(function); };
    // The streaming form: a direct invocation streams a line per image; an SQS batch's
    // response is the stream's one write, which Lambda buffers for the event source mapping.
    auto handler = [function](lambda::invocation& inv, lambda::response_stream& out) {
        return handle(function, inv, out);
    };
    // From here the runtime's copies own the function: they go before the runtime's
    // io_context does, as the HTTP client and the worker pool on it require.
    function.reset();
    return lambda::run(std::move(handler), std::move(options));
}
