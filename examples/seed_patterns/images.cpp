// Seed pattern 1, `asyncio.gather(*tasks, return_exceptions=True)`, on muster.
//
// What the seed lacked and muster adds: a concurrency limit (the seed opens
// every connection at once), a per-task timeout (one slow origin held the
// whole invocation), retries of transient errors only, typed errors instead
// of strings, and a task list created lazily as slots free up instead of one
// coroutine per URL up front. Fetches go over real sockets through
// muster::http (see fetch.hpp for where they go).

#include <atomic>
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

#include <muster/http.hpp>
#include <muster/muster.hpp>

#include "fetch.hpp"
#include "handlers.hpp"

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
    // bug in processing: retry only what the origin says is transient, and
    // connections that failed or broke.
    o.retry.retry_if = [](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const http_error& h) {
            return h.transient();
        } catch (const muster::http::error& h) {
            using k = muster::http::error_kind;
            return h.kind() == k::connect || h.kind() == k::closed || h.kind() == k::timeout;
        } catch (...) {
            return false;
        }
    };
    return o;
}

/// The HTTP client's settings: the collection's limit is what bounds
/// concurrency; the client's own timeouts are backstops behind the task
/// timeout.
muster::http::options client_options() {
    muster::http::options o;
    o.connect_timeout = 2s;
    o.request_timeout = 5s;
    return o;
}

/// Tells one invocation's requests from another's at the image host.
std::string next_invocation_tag() {
    static std::atomic<unsigned long> count{0};
    return std::to_string(count.fetch_add(1) + 1);
}

/// Simulated processing time, as the seed's `asyncio.sleep(1)`, shorter.
constexpr auto processing_time = 15ms;

struct processed_image {
    int http_status = 0;
    std::size_t bytes = 0;
};

/// One task: fetch, then process. Every retry runs it again from the start.
asio::awaitable<processed_image> fetch_and_process(muster::http::client client,
                                                   const image_source& source, std::string url,
                                                   std::string invocation) {
    const fetched f =
        co_await fetch(std::move(client), source, std::move(url), std::move(invocation));
    asio::steady_timer processing(co_await asio::this_coro::executor, processing_time);
    co_await processing.async_wait(asio::use_awaitable);
    co_return processed_image{f.http_status, f.bytes};
}

/// The event's URLs; `bad_event` when one is not a string.
std::vector<std::string> urls_of(const json::value& event) {
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
    return urls;
}

json::value to_json(const processed_image& p) {
    return json::object{{"http_status", p.http_status}, {"bytes", p.bytes}};
}

asio::awaitable<json::value> run(json::value event) {
    const auto begin = muster::clock::now();
    const json::array& input = event_array(event, "imageUrls", "images");
    const std::vector<std::string> urls = urls_of(event);

    // One client per invocation, like every other piece of state here: its
    // pool keeps connections alive across the tasks (and their retries).
    const image_source& source = configured_image_source();
    const auto ex = co_await asio::this_coro::executor;
    const muster::http::client client{ex, client_options()};
    const std::string invocation = next_invocation_tag();

    // Lazy: each awaitable is made when a slot frees up (and made again for
    // a retry), so a thousand URLs never mean a thousand frames at once.
    auto tasks = urls | std::views::transform([&](const std::string& url) {
                     return fetch_and_process(client, source, url, invocation);
                 });
    const muster::options options = image_options();
    const muster::results<processed_image> r = co_await muster::gather(tasks, options);

    json::array entries;
    entries.reserve(r.size());
    for (std::size_t i = 0; i < r.size(); ++i) {
        entries.push_back(make_entry(i, input[i], r[i], to_json));
    }
    co_return make_response(std::move(entries), r.completion_order(), muster::clock::now() - begin);
}

/// What the streamed mode's tasks share: the URLs, the one client.
struct image_tasks_state {
    std::vector<std::string> urls;
    muster::http::client client;
    const image_source* source;
    std::string invocation;
};

asio::awaitable<json::value> image_task(std::shared_ptr<const image_tasks_state> state,
                                        std::size_t i) {
    const processed_image p = co_await fetch_and_process(state->client, *state->source,
                                                         state->urls[i], state->invocation);
    co_return to_json(p);
}

}  // namespace

asio::awaitable<task_list> images_tasks(json::value event) {
    std::vector<std::string> urls = urls_of(event);
    const auto ex = co_await asio::this_coro::executor;
    auto state = std::make_shared<const image_tasks_state>(
        image_tasks_state{std::move(urls), muster::http::client{ex, client_options()},
                          &configured_image_source(), next_invocation_tag()});
    task_list t;
    t.size = state->urls.size();
    t.make = [state](std::size_t i) { return image_task(state, i); };
    t.options = image_options();
    co_return t;
}

asio::awaitable<json::value> images(const json::value& event) {
    // Not a coroutine itself: the copy is taken now, so the caller's event
    // may go away while the handler runs.
    return run(event);
}

}  // namespace seed_patterns
