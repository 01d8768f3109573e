/// @file
/// `kinesis_event`: a batch of Amazon Kinesis Data Streams records.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda/events/event_error.hpp>

namespace muster::lambda {

/// The `kinesis` object of a record. Required: `sequenceNumber`, `partitionKey`, `data`.
struct kinesis_data {
    std::string schema_version;   ///< `kinesisSchemaVersion`
    std::string partition_key;    ///< `partitionKey`
    std::string sequence_number;  ///< `sequenceNumber`: the batch item identifier
    std::string data;             ///< `data`, base64 as sent; see `kinesis_record::decoded_data`
    /// `approximateArrivalTimestamp`, seconds since the epoch (fractional).
    std::optional<double> approximate_arrival_timestamp;

    friend bool operator==(const kinesis_data&, const kinesis_data&) = default;
};

/// One record (`Records[i]`).
struct kinesis_record {
    kinesis_data kinesis;             ///< `kinesis`
    std::string event_source;         ///< `eventSource` (`aws:kinesis`)
    std::string event_version;        ///< `eventVersion`
    std::string event_id;             ///< `eventID`, `shardId-...:sequenceNumber`
    std::string event_name;           ///< `eventName` (`aws:kinesis:record`)
    std::string invoke_identity_arn;  ///< `invokeIdentityArn`
    std::string aws_region;           ///< `awsRegion`
    std::string event_source_arn;     ///< `eventSourceARN`: the stream

    /// The record's payload bytes (`kinesis.data` base64-decoded). Errors:
    /// `std::invalid_argument` for invalid base64.
    std::string decoded_data() const;

    friend bool operator==(const kinesis_record&, const kinesis_record&) = default;
};

/// `{"Records": [...]}` in shard order.
///
/// @code
/// auto e = boost::json::value_to<muster::lambda::kinesis_event>(payload);
/// for (const auto& r : e.records) ingest(r.kinesis.partition_key, r.decoded_data());
/// @endcode
struct kinesis_event {
    std::vector<kinesis_record> records;  ///< `Records` (required)

    friend bool operator==(const kinesis_event&, const kinesis_event&) = default;
};

/// Boost.JSON conversions; `value_to` throws `event_error` naming the field.
kinesis_record tag_invoke(boost::json::value_to_tag<kinesis_record>, const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const kinesis_record& r);
kinesis_event tag_invoke(boost::json::value_to_tag<kinesis_event>, const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const kinesis_event& e);

}  // namespace muster::lambda
