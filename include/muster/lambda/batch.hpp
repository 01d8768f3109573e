/// @file
/// `process_batch`: run the records of an SQS, Kinesis or DynamoDB-stream batch through
/// muster's collector and build the partial-batch response
/// `{"batchItemFailures":[{"itemIdentifier":"..."}]}`.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>

#include <muster/core/group.hpp>
#include <muster/core/options.hpp>
#include <muster/core/outcome.hpp>
#include <muster/core/status.hpp>
#include <muster/lambda/events/dynamodb_stream.hpp>
#include <muster/lambda/events/kinesis.hpp>
#include <muster/lambda/events/sqs.hpp>

namespace muster::lambda {

/// One record of a processed batch: the identifier Lambda knows it by (SQS `messageId`,
/// Kinesis `sequenceNumber`, DynamoDB `SequenceNumber`) and how its processing ended.
struct batch_item {
    std::string item_identifier;
    /// `ok` when the record's function succeeded; anything else (`failed`, `timed_out`,
    /// `cancelled`, `not_started`) makes the record a batch item failure. The error says why,
    /// also for records never run (a FIFO predecessor failed, the deadline came first).
    outcome<void> result;
};

/// The result of `process_batch`: every record's identifier and outcome in record order, and
/// the partial-batch response to return to Lambda.
///
/// Converted with `boost::json::value_from`, it is `{"batchItemFailures": [{"itemIdentifier":
/// "<id>"}, ...]}` listing every record whose outcome is not `ok`, in record order, and an empty
/// array when all succeeded. (The function's event source mapping must have
/// `ReportBatchItemFailures` enabled, or Lambda ignores it.)
///
/// Invariant: no item has an empty identifier (the constructor rejects them), so the response
/// never reports a failure Lambda cannot match: Lambda would fail the whole batch for that.
///
/// @code
/// auto r = co_await muster::lambda::process_batch(std::move(event), handle_message);
/// for (const auto& item : r.items())
///     if (!item.result.ok()) inv.log().warn(item.item_identifier + ": " + item.result.message());
/// co_return boost::json::value_from(r);
/// @endcode
class batch_response {
  public:
    /// An empty batch: nothing failed.
    batch_response() = default;

    /// Errors: `std::invalid_argument` naming the position of an item whose identifier is
    /// empty.
    explicit batch_response(std::vector<batch_item> items);

    /// Every record, in record order.
    std::span<const batch_item> items() const noexcept { return items_; }
    /// The identifiers to report, in record order (views into `items()`).
    std::vector<std::string_view> failed_item_identifiers() const;
    /// How many records are reported failed.
    std::size_t failure_count() const noexcept;
    /// True when every record succeeded (also for an empty batch).
    bool all_ok() const noexcept { return failure_count() == 0; }
    /// How many records have status `s`.
    std::size_t count(status s) const noexcept;

  private:
    std::vector<batch_item> items_;
};

/// `{"batchItemFailures":[{"itemIdentifier":"..."}, ...]}`.
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const batch_response& r);

namespace detail {

/// A not_started outcome whose error (`muster::not_started_error`) says why.
outcome<void> not_run(std::string why);

/// How the records of one batch are identified and ordered.
struct batch_plan {
    std::vector<std::string> ids;  ///< per record
    /// Per record: the key of its ordered group (FIFO message group, partition key, item key);
    /// nullopt for a record that runs independently.
    std::vector<std::optional<std::string>> groups;
    std::string id_field;     ///< e.g. "messageId", for messages
    std::string group_field;  ///< e.g. "message group", for messages
};

batch_plan plan_for(const sqs_event& e);
batch_plan plan_for(const kinesis_event& e);
batch_plan plan_for(const dynamodb_stream_event& e);

/// The scheduling state of one batch, shared by the group's body and the result assembly.
/// Lives in `run_batch`'s frame, which outlives the group.
struct batch_schedule {
    explicit batch_schedule(batch_plan p);

    batch_plan plan;
    std::vector<std::ptrdiff_t> next_in_group;        ///< record -> next record of its group, or -1
    std::vector<bool> group_head;                     ///< first record of its group (or ungrouped)
    std::vector<std::size_t> record_of_spawn;         ///< spawn index -> record index
    std::vector<std::optional<std::string>> skipped;  ///< record -> why it was never run

    /// A record finished with `ok`: returns the next record of its group to run, if any. When
    /// it did not succeed, marks every later record of its group skipped and returns -1.
    std::ptrdiff_t after(std::size_t record, bool ok);
    /// Assembles the response from the group's results (in spawn order).
    batch_response finish(results<void> r);
};

template <class Event, class Fn>
boost::asio::awaitable<batch_response> run_batch(Event event, Fn fn, options o) {
    using record = typename decltype(Event::records)::value_type;
    static_assert(std::is_invocable_v<Fn&, const record&>,
                  "process_batch: fn must be callable with the record (const R& or R)");
    static_assert(
        std::is_same_v<std::invoke_result_t<Fn&, const record&>, boost::asio::awaitable<void>>,
        "process_batch: fn must return boost::asio::awaitable<void>");
    // Throws before anything runs when a record has no identifier.
    batch_schedule s(plan_for(event));
    // The body waits in spawn() at the limit while results queue up; a bound on unread
    // results would stop admission for good.
    o.max_unread = options::unlimited;
    const auto* records = &event.records;
    auto* f = &fn;
    auto body = [st = &s, records, f](group<void>& g) -> boost::asio::awaitable<void> {
        // Not a coroutine: it returns g.spawn's awaitable, which owns the factory.
        auto spawn = [st, records, f, &g](std::size_t i) {
            // Every awaited spawn makes exactly one slot, in order, so the spawn index is the
            // position here. Only a body already cancelled can throw at `co_await` before the
            // slot exists; that is its last spawn, and `finish` ignores the unmatched tail.
            st->record_of_spawn.push_back(i);
            // A factory (not an awaitable) so the retry policy can run the record again.
            auto make = [f, rec = &(*records)[i]] { return std::invoke(*f, *rec); };
            return g.spawn(std::move(make));
        };
        for (std::size_t i = 0; i < records->size(); ++i) {
            if (st->group_head[i]) co_await spawn(i);
        }
        while (auto done = co_await g.next()) {
            const std::size_t rec = st->record_of_spawn[done->index];
            const std::ptrdiff_t next = st->after(rec, done->result.ok());
            if (next >= 0) co_await spawn(static_cast<std::size_t>(next));
        }
    };
    auto r = co_await with_group<void>(std::move(o), std::move(body));
    co_return s.finish(std::move(r));
}

}  // namespace detail

/// Runs `fn(message)` for every message of an SQS batch and returns which failed.
///
/// `fn` is a callable `(const sqs_message&) -> awaitable<void>` (or taking the message by
/// value); a record fails when `fn` throws. The event is taken by value (pass
/// `std::move(event)` to avoid a copy): the reference `fn` receives points into this
/// coroutine's own copy, which lives until the last record finished, so `fn` may keep it across
/// suspensions. `fn` itself is kept alive as long, so a capturing lambda coroutine is safe as
/// long as what it captures by reference outlives the `co_await`.
///
/// Scheduling: records run concurrently through `muster::with_group` with `o` (`limit`,
/// `task_timeout` per record, `retry` per record, `policy`; `max_unread` is ignored).
/// Messages with `attributes.MessageGroupId` (FIFO queues) run in order, one at a time per
/// group; different groups and messages without a group run concurrently. Once a message of a
/// group did not succeed, the later messages of that group are not run and are reported failed
/// (`not_started`), so SQS redelivers them in order.
///
/// Deadline: the collection obeys the enclosing scope's deadline (the invocation's, when
/// called from a handler) and `o.deadline`. At the deadline, records still running are
/// cancelled and reported failed (`timed_out`), records not yet started are reported failed
/// (`not_started`): they are retried, never lost.
///
/// Completion: once every started record has finished. Errors: an `event_error`
/// (`Records[3].messageId: empty ...`) before anything runs when a message has no `messageId`:
/// such a failure could not be reported, so the whole batch must fail and be retried;
/// `std::invalid_argument` for invalid options; `operation_aborted` when the caller is already
/// cancelled. A record's failure is never an exception of `process_batch`.
///
/// @code
/// auto handler = [](muster::lambda::invocation& inv) -> awaitable<boost::json::value> {
///     auto event = boost::json::value_to<muster::lambda::sqs_event>(
///         boost::json::parse(inv.payload()));
///     muster::options o;
///     o.limit = 32;
///     auto r = co_await muster::lambda::process_batch(std::move(event), store_message, o);
///     co_return boost::json::value_from(r);
/// };
/// @endcode
template <class Fn>
boost::asio::awaitable<batch_response> process_batch(sqs_event event, Fn fn, options o = {}) {
    return detail::run_batch(std::move(event), std::move(fn), std::move(o));
}

/// Runs `fn(record)` for every record of a Kinesis batch; the item identifier is
/// `kinesis.sequenceNumber`. Records with the same `partitionKey` run in order, one at a time,
/// and once one fails the later ones of that key are reported failed without running (Lambda
/// resumes the shard from the lowest failed sequence number, so they come again). Otherwise
/// as the SQS form.
template <class Fn>
boost::asio::awaitable<batch_response> process_batch(kinesis_event event, Fn fn, options o = {}) {
    return detail::run_batch(std::move(event), std::move(fn), std::move(o));
}

/// Runs `fn(record)` for every record of a DynamoDB stream batch; the item identifier is
/// `dynamodb.SequenceNumber`. Records of the same item (equal `dynamodb.Keys`) run in order,
/// one at a time, and once one fails the later ones of that item are reported failed without
/// running. Otherwise as the SQS form.
template <class Fn>
boost::asio::awaitable<batch_response> process_batch(dynamodb_stream_event event, Fn fn,
                                                     options o = {}) {
    return detail::run_batch(std::move(event), std::move(fn), std::move(o));
}

}  // namespace muster::lambda
