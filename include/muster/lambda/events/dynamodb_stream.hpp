/// @file
/// `dynamodb_stream_event`: a batch of Amazon DynamoDB Streams records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/conversion.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda/events/event_error.hpp>

namespace muster::lambda {

/// The `dynamodb` object of a record. Required: `SequenceNumber`. Items stay in DynamoDB's
/// attribute-value JSON (`{"Id": {"N": "101"}}`).
struct dynamodb_stream_data {
    std::optional<double> approximate_creation_date_time;  ///< `ApproximateCreationDateTime`
    boost::json::object keys;                              ///< `Keys`
    std::optional<boost::json::object> new_image;          ///< `NewImage` (not for REMOVE)
    std::optional<boost::json::object> old_image;          ///< `OldImage` (not for INSERT)
    std::string sequence_number;             ///< `SequenceNumber`: the batch item identifier
    std::optional<std::int64_t> size_bytes;  ///< `SizeBytes`
    std::string stream_view_type;            ///< `StreamViewType`, e.g. `NEW_AND_OLD_IMAGES`

    friend bool operator==(const dynamodb_stream_data&, const dynamodb_stream_data&) = default;
};

/// One record (`Records[i]`). Required: `eventName` and `dynamodb`.
struct dynamodb_stream_record {
    std::string event_id;           ///< `eventID`
    std::string event_name;         ///< `eventName`: `INSERT`, `MODIFY` or `REMOVE`
    std::string event_version;      ///< `eventVersion`
    std::string event_source;       ///< `eventSource` (`aws:dynamodb`)
    std::string aws_region;         ///< `awsRegion`
    dynamodb_stream_data dynamodb;  ///< `dynamodb`
    std::string event_source_arn;   ///< `eventSourceARN`: the stream
    /// `userIdentity` (set for TTL deletions) as sent; nullopt when absent.
    std::optional<boost::json::object> user_identity;

    friend bool operator==(const dynamodb_stream_record&, const dynamodb_stream_record&) = default;
};

/// `{"Records": [...]}` in shard order.
///
/// @code
/// auto e = boost::json::value_to<muster::lambda::dynamodb_stream_event>(payload);
/// for (const auto& r : e.records)
///     if (r.event_name == "INSERT") index(r.dynamodb.new_image.value());
/// @endcode
struct dynamodb_stream_event {
    std::vector<dynamodb_stream_record> records;  ///< `Records` (required)

    friend bool operator==(const dynamodb_stream_event&, const dynamodb_stream_event&) = default;
};

/// Boost.JSON conversions; `value_to` throws `event_error` naming the field.
dynamodb_stream_record tag_invoke(boost::json::value_to_tag<dynamodb_stream_record>,
                                  const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v,
                const dynamodb_stream_record& r);
dynamodb_stream_event tag_invoke(boost::json::value_to_tag<dynamodb_stream_event>,
                                 const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const dynamodb_stream_event& e);

}  // namespace muster::lambda
