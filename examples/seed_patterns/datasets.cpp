// Seed pattern 2, `ThreadPoolExecutor` + `as_completed`, on muster.
//
// The seed appended each result as it completed, so `results[i]` was not
// the result of `data_sets[i]`, and its pool was the only thing waiting for
// the work. Here each data set's `sum * 2` runs on muster's CPU pool
// (`offload`), the results are read as they complete (`as_completed`), and
// each is put back at its input index. The handler cannot return while a
// pool job of its own still runs.

#include <chrono>
#include <memory>
#include <optional>
#include <ranges>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <muster/core/offload.hpp>
#include <muster/muster.hpp>

#include "handlers.hpp"
#include "numbers.hpp"

namespace seed_patterns {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

muster::options dataset_options() {
    muster::options o;
    // More than the pool's threads, so the pool always has the next one
    // queued, but not every data set at once.
    o.limit = 8;
    // A data set that takes this long is asked to stop (its stop_token);
    // the handler still waits until it has.
    o.task_timeout = 2s;
    return o;
}

asio::awaitable<json::value> run(json::value event) {
    const auto begin = muster::clock::now();
    // Shared, not on this frame: the offloaded jobs read their data set on a
    // pool thread, and the view that makes them keeps this alive.
    const auto shared = std::make_shared<const json::value>(std::move(event));
    const json::array& sets = event_array(*shared, "dataSets", "datasets");

    auto work = sets | std::views::transform([shared](const json::value& data) {
                    return muster::offload([shared, set = &data](std::stop_token stop) {
                        return sum_times_two(*set, stop);
                    });
                });
    auto stream = muster::as_completed(work, dataset_options());

    std::vector<std::optional<json::object>> entries(sets.size());
    std::vector<std::size_t> completion_order;
    completion_order.reserve(sets.size());
    // With (almost) no time left, queue no pool work at all: it could only
    // be abandoned. Every data set is then reported not_started below.
    if (co_await muster::remaining() >= 1ms) {
        while (auto done = co_await stream.next()) {
            // The seed's `results.append(...)`, but at the task's own position.
            entries[done->index] = make_entry(done->index, sets[done->index], done->result,
                                              [](const json::value& v) { return v; });
            completion_order.push_back(done->index);
        }
    }

    json::array results;
    results.reserve(sets.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i]) {
            results.push_back(std::move(*entries[i]));
            continue;
        }
        // as_completed yields only tasks that ran; one never admitted (the
        // deadline came first) still gets its entry.
        entry_header never;
        never.status = muster::status::not_started;
        never.error = std::make_exception_ptr(
            muster::not_started_error("muster: not started, the deadline was reached first"));
        results.push_back(make_entry(i, sets[i], never, nullptr));
    }
    co_return make_response(std::move(results), completion_order, muster::clock::now() - begin);
}

}  // namespace

task_list datasets_tasks(json::value event) {
    const auto shared = std::make_shared<const json::value>(std::move(event));
    task_list t;
    t.size = event_array(*shared, "dataSets", "datasets").size();
    t.make = [shared](std::size_t i) {
        auto job = [shared, i](std::stop_token stop) {
            return sum_times_two(shared->as_object().at("dataSets").as_array()[i], stop);
        };
        return muster::offload(std::move(job));
    };
    t.options = dataset_options();
    return t;
}

asio::awaitable<json::value> datasets(const json::value& event) {
    // Not a coroutine itself: the copy is taken now, so the caller's event
    // may go away while the handler runs.
    return run(event);
}

}  // namespace seed_patterns
