// Seed pattern 3, threads + `queue.Queue` + `threading.Event`, on muster.
//
// The seed's flaws: the Event was set by the *first* thread to finish, so
// the handler returned with results still missing, and its queue and Event
// were globals, so late results and a set Event leaked into the next warm
// invocation. Here each task's thread (standing for an SDK's callback
// thread) completes a `muster::from_callback` handle; `muster::with_group`
// collects one outcome per task by counting, not by a signal; the threads,
// the group and every result belong to this invocation, and the handler
// returns only once every thread it started has been joined.

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>

#include <muster/core/from_callback.hpp>
#include <muster/core/offload.hpp>
#include <muster/muster.hpp>

#include "handlers.hpp"
#include "numbers.hpp"

namespace seed_patterns {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// The threads one invocation started. Started on the io_context thread;
/// joined once, after the group has finished.
class thread_set {
  public:
    thread_set() = default;
    thread_set(const thread_set&) = delete;
    thread_set& operator=(const thread_set&) = delete;
    ~thread_set() { join_all(); }

    template <class Fn>
    void start(Fn fn) {
        std::lock_guard lock(mutex_);
        threads_.emplace_back(std::move(fn));
    }

    void join_all() {
        std::lock_guard lock(mutex_);
        for (std::thread& t : threads_) {
            if (t.joinable()) t.join();
        }
        threads_.clear();
    }

  private:
    std::mutex mutex_;
    std::vector<std::thread> threads_;
};

muster::options task_options() {
    muster::options o;
    o.limit = 4;  // at most four threads alive at once; spawn waits for a slot
    o.task_timeout = 1s;
    return o;
}

/// One task: a thread computes `data * 2` and hands it over the way an SDK
/// callback would, from its own thread.
asio::awaitable<json::value> run_task(std::shared_ptr<thread_set> threads, json::value data) {
    // Named, never a lambda written inside the co_await expression: GCC 12
    // destroys such a temporary twice (here: one reference too few).
    auto start = [threads, data = std::move(data)](muster::completion<json::value> done) mutable {
        threads->start([done = std::move(done), data = std::move(data)] {
            try {
                done.set_value(times_two(data));
            } catch (...) {
                done.set_exception(std::current_exception());
            }
        });
    };
    co_return co_await muster::from_callback<json::value>(std::move(start));
}

/// The group's body: spawns one task per input, in order. `spawn` waits
/// while `limit` tasks run; the group, not the body, collects the results.
asio::awaitable<void> spawn_all(muster::group<json::value> g,
                                std::shared_ptr<const json::value> event,
                                std::shared_ptr<thread_set> threads) {
    for (const json::value& data : event->as_object().at("tasks").as_array()) {
        co_await g.spawn(run_task(threads, data));
    }
}

asio::awaitable<json::value> run(json::value event) {
    const auto begin = muster::clock::now();
    const auto shared = std::make_shared<const json::value>(std::move(event));
    const json::array& items = event_array(*shared, "tasks", "tasks");
    auto threads = std::make_shared<thread_set>();

    auto body = [shared, threads](muster::group<json::value>& g) {
        return spawn_all(g, shared, threads);
    };
    const muster::results<json::value> r =
        co_await muster::with_group<json::value>(task_options(), std::move(body));

    // Every task has delivered (or was abandoned at its timeout); its thread
    // may still be returning. Join them all on the CPU pool, so the event
    // loop is never blocked, and before the response: no thread of this
    // invocation runs into the next one.
    auto join_all = [threads] { threads->join_all(); };
    co_await muster::offload(std::move(join_all));

    json::array results;
    results.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i < r.size()) {
            results.push_back(
                make_entry(i, items[i], r[i], [](const json::value& v) { return v; }));
            continue;
        }
        // The body was stopped (the deadline) before it spawned this one.
        entry_header never;
        never.status = muster::status::not_started;
        never.error = std::make_exception_ptr(
            muster::not_started_error("muster: not started, the group stopped before its spawn"));
        results.push_back(make_entry(i, items[i], never, nullptr));
    }
    co_return make_response(std::move(results), r.completion_order(), muster::clock::now() - begin);
}

}  // namespace

task_list tasks_tasks(json::value event) {
    const auto shared = std::make_shared<const json::value>(std::move(event));
    auto threads = std::make_shared<thread_set>();
    task_list t;
    t.size = event_array(*shared, "tasks", "tasks").size();
    t.make = [shared, threads](std::size_t i) {
        return run_task(threads, shared->as_object().at("tasks").as_array()[i]);
    };
    t.options = task_options();
    // As in the handler: no thread of this invocation runs into the next.
    t.finish = [threads]() -> asio::awaitable<void> {
        auto join_all = [threads] { threads->join_all(); };
        co_await muster::offload(std::move(join_all));
    };
    return t;
}

asio::awaitable<json::value> tasks(const json::value& event) {
    // Not a coroutine itself: the copy is taken now, so the caller's event
    // may go away while the handler runs.
    return run(event);
}

}  // namespace seed_patterns
