// The function of the streaming benchmark: the same tasks, the same NDJSON
// results (stream_as_completed), once streamed to the caller and once
// buffered and returned whole; `each` streams them too, but writes every
// line as a chunk of its own (stream_as_completed puts the lines that
// finished together in one chunk), for the cost of one chunk. `_HANDLER` is
// `streamed`, `buffered` or `each`; the event is {"ms": [task durations]}.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <muster/lambda.hpp>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace lambda = muster::lambda;

asio::awaitable<std::int64_t> task(std::int64_t ms) {
    if (ms > 0) {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
        co_await t.async_wait(asio::use_awaitable);
    }
    co_return ms;
}

/// Keeps what is written, for the buffered response.
class string_sink final : public lambda::response_stream::sink {
  public:
    asio::awaitable<void> open(std::string) override { co_return; }
    asio::awaitable<void> write(std::string bytes) override {
        text += bytes;
        co_return;
    }
    std::string text;
};

std::vector<std::int64_t> durations(const lambda::invocation& inv) {
    const json::value event = json::parse(inv.payload());
    std::vector<std::int64_t> ms;
    for (const auto& v : event.at("ms").as_array()) ms.push_back(v.as_int64());
    return ms;
}

/// The lines of stream_as_completed, one write each.
asio::awaitable<void> write_each(lambda::invocation& inv, lambda::response_stream& out) {
    const std::vector<std::int64_t> ms = durations(inv);
    auto stream = muster::as_completed(ms | std::views::transform(task));
    lambda::stream_summary summary;
    const auto begin = muster::clock::now();
    while (auto done = co_await stream.next()) {
        const json::value value = done->result.value();
        ++summary.by_status[static_cast<std::size_t>(done->result.status())];
        ++summary.total;
        co_await out.write(lambda::detail::completion_line(done->index, done->result, &value));
    }
    summary.elapsed = muster::clock::now() - begin;
    co_await out.write(lambda::detail::summary_line(summary));
}

asio::awaitable<void> write_results(lambda::invocation& inv, lambda::response_stream& out) {
    const std::vector<std::int64_t> ms = durations(inv);
    auto tasks = ms | std::views::transform(task);
    co_await lambda::stream_as_completed(out, tasks);
}

}  // namespace

int main() {
    const char* handler = std::getenv("_HANDLER");
    if (handler && std::string(handler) == "buffered") {
        return lambda::run([](lambda::invocation& inv) -> asio::awaitable<lambda::response> {
            string_sink sink;
            lambda::response_stream out(sink);
            co_await write_results(inv, out);
            co_return lambda::response{std::move(sink.text), "application/x-ndjson"};
        });
    }
    if (handler && std::string(handler) == "each") return lambda::run(write_each);
    return lambda::run(write_results);
}
