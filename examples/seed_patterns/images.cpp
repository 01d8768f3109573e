// Seed pattern 1, `asyncio.gather(*tasks, return_exceptions=True)`, on muster.
//
// What the seed lacked and muster adds: a concurrency limit (the seed opens
// every connection at once), a per-task timeout (one slow origin held the
// whole invocation), retries of transient errors only, typed errors instead
// of strings, and a task list created lazily as slots free up instead of one
// coroutine per URL up front.

#include <chrono>
#include <memory>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <muster/muster.hpp>

#include "handlers.hpp"
#include "stand_in_fetch.hpp"

namespace seed_patterns {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// How the collection runs; see muster::options.
muster::options image_options() {
    muster::options o;
    o.limit = 3;             // at most three fetches in flight
    o.task_timeout = 400ms;  // per image, from admission, covering its retries
    o.retry.attempts = 3;
    o.retry.initial_backoff = 20ms;
    o.retry.max_backoff = 200ms;
    // A 503 may be gone in a moment; a 404 will not be, and neither will a
    // bug in processing: retry only what the origin says is transient.
    o.retry.retry_if = [](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const http_error& h) {
            return h.transient();
        } catch (...) {
            return false;
        }
    };
    return o;
}

/// Simulated processing time, as the seed's `asyncio.sleep(1)`, shorter.
constexpr auto processing_time = 15ms;

struct processed_image {
    int http_status = 0;
    std::size_t bytes = 0;
};

/// One task: fetch, then process. Every retry runs it again from the start.
asio::awaitable<processed_image> fetch_and_process(std::shared_ptr<stand_in_origin> origin,
                                                   std::string url) {
    const fetched f = co_await stand_in_fetch(std::move(origin), std::move(url));
    asio::steady_timer processing(co_await asio::this_coro::executor, processing_time);
    co_await processing.async_wait(asio::use_awaitable);
    co_return processed_image{f.http_status, f.bytes};
}

asio::awaitable<json::value> run(json::value event) {
    const auto begin = muster::clock::now();
    const json::array& input = event_array(event, "imageUrls", "images");
    std::vector<std::string> urls;
    urls.reserve(input.size());
    for (std::size_t i = 0; i < input.size(); ++i) {
        if (!input[i].is_string()) {
            throw bad_event("images: imageUrls[" + std::to_string(i) + "] must be a string, not " +
                            json_type(input[i]));
        }
        urls.emplace_back(input[i].as_string());
    }

    // The simulated server: one per invocation, like every other piece of
    // state here.
    auto origin = std::make_shared<stand_in_origin>();

    // Lazy: each awaitable is made when a slot frees up (and made again for
    // a retry), so a thousand URLs never mean a thousand frames at once.
    auto tasks = urls | std::views::transform([origin](const std::string& url) {
                     return fetch_and_process(origin, url);
                 });
    const muster::options options = image_options();
    const muster::results<processed_image> r = co_await muster::gather(tasks, options);

    json::array entries;
    entries.reserve(r.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
        entries.push_back(make_entry(i, input[i], r[i], [](const processed_image& p) {
            return json::object{{"http_status", p.http_status}, {"bytes", p.bytes}};
        }));
    }
    co_return make_response(std::move(entries), r.completion_order(), muster::clock::now() - begin);
}

}  // namespace

asio::awaitable<json::value> images(const json::value& event) {
    // Not a coroutine itself: the copy is taken now, so the caller's event
    // may go away while the handler runs.
    return run(event);
}

}  // namespace seed_patterns
