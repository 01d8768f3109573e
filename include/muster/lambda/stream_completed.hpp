/// @file
/// `stream_as_completed`: a collection's results written to a streamed
/// response as they complete, one NDJSON line per task, then a summary.
#pragma once

#include <array>
#include <cstddef>
#include <exception>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>

#include <muster/core/as_completed.hpp>
#include <muster/core/options.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/sleep.hpp>
#include <muster/core/status.hpp>
#include <muster/lambda/response_stream.hpp>

namespace muster::lambda {

/// What `stream_as_completed` wrote: the counts its summary line states.
struct stream_summary {
    /// The tasks of the range (those yielded, when its size is unknown).
    std::size_t total = 0;
    /// Tasks by `status`, indexed by the enumerator.
    std::array<std::size_t, status_count> by_status{};
    /// From the first `next()` to the end of the collection.
    clock::duration elapsed{};

    std::size_t count(status s) const noexcept { return by_status[static_cast<std::size_t>(s)]; }
};

/// Turns a task's value into JSON with `boost::json::value_from` (the
/// default of `stream_as_completed`).
struct value_from_json {
    template <class T>
    boost::json::value operator()(const T& value) const {
        return boost::json::value_from(value);
    }
};

namespace detail {

/// `{"index":…,"status":"ok","value":…,"attempts":…}`, or with
/// `"error":{"type":…,"message":…}` instead of the value, and a newline.
std::string completion_line(std::size_t index, const muster::detail::outcome_base& o,
                            const boost::json::value* value);
/// `{"summary":{"total":…,"ok":…,"failed":…,"timed_out":…,"cancelled":…,
/// "not_started":…,"elapsed_us":…}}` and a newline.
std::string summary_line(const stream_summary& s);
/// The line of a task the collection never started.
std::string not_started_line(std::size_t index);

/// Lines that finished together are written as one chunk up to about this size.
inline constexpr std::size_t max_chunk_bytes = 64 * 1024;

template <class T, class ToJson>
boost::asio::awaitable<stream_summary> stream_completions(response_stream* out,
                                                          completion_stream<T> stream,
                                                          std::optional<std::size_t> size,
                                                          ToJson to_json) {
    if (!out->started()) out->set_content_type("application/x-ndjson");
    const auto begin = co_await muster::now();  // the scope's clock
    stream_summary summary;
    std::vector<bool> seen(size.value_or(0), false);
    const auto line_of = [&summary, &seen, &to_json](const completed<T>& done) {
        const outcome<T>& o = done.result;
        ++summary.by_status[static_cast<std::size_t>(o.status())];
        ++summary.total;
        if (done.index < seen.size()) seen[done.index] = true;
        if constexpr (std::is_void_v<T>) {
            const boost::json::value null;
            return completion_line(done.index, o, o.ok() ? &null : nullptr);
        } else if (const T* v = o.get_if()) {
            const boost::json::value json = to_json(*v);
            return completion_line(done.index, o, &json);
        } else {
            return completion_line(done.index, o, nullptr);
        }
    };
    while (auto done = co_await stream.next()) {
        std::string lines = line_of(*done);
        // What else finished meanwhile (while the last write waited for the
        // socket) goes in the same chunk: one write per burst, not per line.
        while (lines.size() < max_chunk_bytes) {
            auto more = stream.try_next();
            if (!more) break;
            lines += line_of(*more);
        }
        // Tasks go on finishing while this write waits for the socket.
        co_await out->write(std::move(lines));
    }
    // Tasks the deadline (or the policy) kept from starting have no
    // completion; each still gets its line, so every input is accounted for.
    std::string rest;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        if (seen[i]) continue;
        ++summary.by_status[static_cast<std::size_t>(status::not_started)];
        ++summary.total;
        rest += not_started_line(i);
    }
    summary.elapsed = co_await muster::now() - begin;
    rest += summary_line(summary);
    co_await out->write(std::move(rest));
    co_return summary;
}

}  // namespace detail

/// Runs the tasks of `range` as `as_completed(range, o)` does and writes
/// each result to `out` the moment its task finishes (results that finished
/// while the previous write was under way go out together, in one chunk),
/// as one line of newline-delimited JSON (content type `application/x-ndjson`, unless the
/// response already started):
///
///     {"index":2,"status":"ok","value":42,"attempts":1}
///     {"index":0,"status":"failed","error":{"type":"std::runtime_error","message":"…"},"attempts":3}
///
/// then, for a sized range, a `not_started` line for each task that never
/// ran (the deadline came first), and last a summary line:
///
///     {"summary":{"total":3,"ok":1,"failed":1,"timed_out":0,"cancelled":0,"not_started":1,"elapsed_us":12503}}
///
/// `to_json(const T&)` turns a value into a `boost::json::value`
/// (`boost::json::value_from` by default); a `void` task's value is `null`.
/// The error's `type` is the exception's demangled C++ type, or
/// `function_error::error_type()`.
///
/// Completion: once every task has finished and every line was handed to
/// the socket; with the counts written in the summary.
///
/// Deadline: the collection obeys the invocation's deadline like any other
/// (running tasks end `timed_out`, the rest `not_started`), so the summary
/// line goes out in time.
///
/// Errors: those of `response_stream::write` (the collection is then
/// stopped and its tasks cancelled, as when a `completion_stream` is
/// destroyed early); `std::invalid_argument` for invalid options.
///
/// Lifetime: `out` must outlive the returned awaitable; `range` is taken
/// as `as_completed` takes it.
///
/// @code
/// co_return co_await muster::lambda::stream_as_completed(
///     out, urls | std::views::transform(fetch), {.limit = 16});
/// @endcode
template <muster::detail::task_range R, class ToJson = value_from_json>
boost::asio::awaitable<stream_summary> stream_as_completed(response_stream& out, R&& range,
                                                           options o = {}, ToJson to_json = {}) {
    std::optional<std::size_t> size;
    if constexpr (std::ranges::sized_range<R>) size = std::ranges::size(range);
    auto stream = as_completed(std::forward<R>(range), std::move(o));
    return detail::stream_completions(&out, std::move(stream), size, std::move(to_json));
}

}  // namespace muster::lambda
