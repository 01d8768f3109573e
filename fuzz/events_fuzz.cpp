// The Lambda event parsers (Boost.JSON conversions of every event type) and
// the partial-batch responses of SQS, Kinesis and DynamoDB-stream batches.
// Input: a JSON document, tried as every event type.
#include <muster/lambda/batch.hpp>
#include <muster/lambda/events/dynamodb_stream.hpp>
#include <muster/lambda/events/event_error.hpp>
#include <muster/lambda/events/eventbridge.hpp>
#include <muster/lambda/events/http_api.hpp>
#include <muster/lambda/events/kinesis.hpp>
#include <muster/lambda/events/s3.hpp>
#include <muster/lambda/events/sns.hpp>
#include <muster/lambda/events/sqs.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <exception>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "fuzz_check.hpp"

namespace json = boost::json;
namespace lambda = muster::lambda;
using muster_fuzz::check;

namespace {

/// Parses `v` as `Event`; what parses converts back to JSON that parses to
/// the same event.
template <class Event>
std::optional<Event> round_trip(const json::value& v) {
    std::optional<Event> e;
    try {
        e = json::value_to<Event>(v);
    } catch (const lambda::event_error&) {
        return std::nullopt;
    } catch (const std::invalid_argument&) {  // e.g. a bad base64 or percent escape
        return std::nullopt;
    }
    const json::value back = json::value_from(*e);
    check(json::value_to<Event>(back) == *e, "an event does not survive value_from/value_to");
    return e;
}

/// Runs the batch, failing every other record run, and checks the response
/// names exactly the failed records, none with an empty identifier.
template <class Event>
void batch(Event e) {
    std::set<std::string> ids;
    try {
        for (auto& id : lambda::detail::plan_for(e).ids) ids.insert(id);
    } catch (const lambda::event_error&) {
        return;  // a record without an identifier: refused before anything runs
    }
    using record = typename decltype(Event::records)::value_type;
    boost::asio::io_context io;
    std::optional<lambda::batch_response> response;
    int calls = 0;
    auto fn = [&calls](const record&) -> boost::asio::awaitable<void> {
        if (++calls % 2 == 0) throw std::runtime_error("failed on purpose");
        co_return;
    };
    boost::asio::co_spawn(io, lambda::process_batch(std::move(e), fn),
                          [&](std::exception_ptr ex, lambda::batch_response r) {
                              if (!ex) response = std::move(r);
                          });
    io.run();
    if (!response) return;
    const auto failed = response->failed_item_identifiers();
    check(failed.size() == response->failure_count(), "failures and identifiers disagree");
    const json::value v = json::value_from(*response);
    const auto& items = v.as_object().at("batchItemFailures").as_array();
    check(items.size() == failed.size(), "the JSON lists another number of failures");
    for (const auto& item : items) {
        const auto& id = item.as_object().at("itemIdentifier").as_string();
        check(!id.empty(), "an empty itemIdentifier");
        check(ids.count(std::string(id)) == 1, "an itemIdentifier of no record");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    boost::system::error_code ec;
    const json::value v = json::parse(muster_fuzz::text(data, size), ec);
    if (ec) return 0;
    if (auto e = round_trip<lambda::sqs_event>(v)) batch(std::move(*e));
    if (auto e = round_trip<lambda::kinesis_event>(v)) batch(std::move(*e));
    if (auto e = round_trip<lambda::dynamodb_stream_event>(v)) batch(std::move(*e));
    round_trip<lambda::s3_event>(v);
    round_trip<lambda::sns_event>(v);
    round_trip<lambda::eventbridge_event>(v);
    round_trip<lambda::http_api_request>(v);
    round_trip<lambda::http_api_response>(v);
    return 0;
}
