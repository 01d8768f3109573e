/// @file
/// The seed's three Lambda handlers, rewritten on muster. Each one is the
/// function a Lambda runtime will call with the invocation's event; each
/// returns `{"results": [...], "summary": {...}}` (see response.hpp) with
/// exactly one entry per input, in input order.
///
/// Completion: once every task the handler started has finished; nothing a
/// handler starts outlives it (no timer, no pool job, no thread).
///
/// Errors: `bad_event` when the event lacks the pattern's key or it has the
/// wrong type. A task's failure is never an error of the handler: it is that
/// task's entry.
///
/// Deadline: each handler obeys the deadline of the scope it runs in (the
/// invocation's, once the Lambda runtime provides it): tasks still running
/// then are `timed_out`, tasks not yet admitted are `not_started`.
///
/// Thread-safety: run on a single-threaded io_context. Each handler copies
/// the event when it is called (it is not itself a coroutine), so the
/// caller's reference need not outlive the returned awaitable.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <muster/core/options.hpp>

#include "response.hpp"

namespace seed_patterns {

using handler_fn = boost::asio::awaitable<boost::json::value> (*)(const boost::json::value&);

/// Seed pattern 1 (`asyncio.gather`): `{"imageUrls": ["https://...", ...]}`.
/// Fetches every URL (`fetch`, through `muster::http`) and processes it, through
/// `muster::gather` over a lazy view with a limit, a per-task timeout and
/// retries of transient HTTP errors.
boost::asio::awaitable<boost::json::value> images(const boost::json::value& event);

/// Seed pattern 2 (thread pool + `as_completed`): `{"dataSets": [[1, 2], ...]}`.
/// Computes `sum(data) * 2` for every data set on the CPU pool
/// (`muster::offload`), reads them with `muster::as_completed`, and puts each
/// back at its input position. A data set that is not an array of numbers
/// fails alone.
boost::asio::awaitable<boost::json::value> datasets(const boost::json::value& event);

/// Seed pattern 3 (threads + queue + Event): `{"tasks": [1, 2, ...]}`.
/// One `std::thread` per task delivers `data * 2` through a callback
/// (`muster::from_callback`), all inside `muster::with_group`, so every
/// result is collected and all state belongs to this invocation.
boost::asio::awaitable<boost::json::value> tasks(const boost::json::value& event);

/// A pattern's tasks, uncollected: what its handler runs, for a caller that
/// collects them itself (the Lambda function's streamed mode writes each
/// result as it completes, with `muster::lambda::stream_as_completed`).
struct task_list {
    std::size_t size = 0;
    /// Makes input `i`'s task, whose value is what the handler's entry would
    /// hold as `value`. Called again for a retry.
    std::function<boost::asio::awaitable<boost::json::value>(std::size_t)> make;
    /// The limit, timeouts and retries the handler uses.
    muster::options options;
    /// Runs once every task has finished (the tasks pattern joins its
    /// threads there), or empty.
    std::function<boost::asio::awaitable<void>()> finish;
};

/// The tasks of `pattern` (`images`, `datasets`, `tasks`) over `event`.
/// Errors: `bad_event` as the handler would throw. Await it on the
/// executor the tasks will run on (the images pattern opens its HTTP client
/// there).
boost::asio::awaitable<task_list> pattern_tasks(std::string pattern, boost::json::value event);

boost::asio::awaitable<task_list> images_tasks(boost::json::value event);
task_list datasets_tasks(boost::json::value event);
task_list tasks_tasks(boost::json::value event);

/// The handler named `pattern` (`images`, `datasets`, `tasks`), or null.
handler_fn find_handler(std::string_view pattern);

/// The pattern whose key the event has. Throws `bad_event` when it has none
/// of them, or more than one.
std::string_view detect_pattern(const boost::json::value& event);

/// The array under `key` in the object `event`; throws `bad_event` naming
/// the pattern when there is none.
const boost::json::array& event_array(const boost::json::value& event, std::string_view key,
                                      std::string_view pattern);

}  // namespace seed_patterns
