/// @file
/// `s3_event`: Amazon S3 event notifications (`ObjectCreated:*`, `ObjectRemoved:*`...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda/events/event_error.hpp>

namespace muster::lambda {

/// Decodes an S3 notification's object key: S3 sends keys URL-encoded, with `+` for a space
/// and `%XX` for other reserved bytes (`my+photo%281%29.jpg` is `my photo(1).jpg`).
///
/// Errors: `std::invalid_argument` for a `%` not followed by two hex digits.
std::string url_decode_s3_key(std::string_view key);

/// `s3.bucket` of a record.
struct s3_bucket {
    std::string name;                ///< `name` (required)
    std::string arn;                 ///< `arn`
    std::string owner_principal_id;  ///< `ownerIdentity.principalId`

    friend bool operator==(const s3_bucket&, const s3_bucket&) = default;
};

/// `s3.object` of a record. `size` and `e_tag` are absent for deletions; `version_id` only on
/// versioned buckets.
struct s3_object {
    std::string key;  ///< `key` (required), URL-encoded as S3 sent it; see `decoded_key()`
    std::optional<std::int64_t> size;       ///< `size` in bytes
    std::optional<std::string> e_tag;       ///< `eTag`
    std::optional<std::string> version_id;  ///< `versionId`
    std::string sequencer;  ///< `sequencer`: orders events of one key (hex, compare as such)

    /// `key` decoded (`url_decode_s3_key`): the name to pass to `GetObject`.
    std::string decoded_key() const { return url_decode_s3_key(key); }

    friend bool operator==(const s3_object&, const s3_object&) = default;
};

/// One notification (`Records[i]`). Required: `eventName`, `s3.bucket.name`, `s3.object.key`.
struct s3_event_record {
    std::string event_version;      ///< `eventVersion`
    std::string event_source;       ///< `eventSource` (`aws:s3`)
    std::string aws_region;         ///< `awsRegion`
    std::string event_time;         ///< `eventTime`, ISO-8601 as sent
    std::string event_name;         ///< `eventName`, e.g. `ObjectCreated:Put`
    std::string principal_id;       ///< `userIdentity.principalId`
    std::string source_ip_address;  ///< `requestParameters.sourceIPAddress`
    std::string request_id;         ///< `responseElements.x-amz-request-id`
    std::string host_id;            ///< `responseElements.x-amz-id-2`
    std::string schema_version;     ///< `s3.s3SchemaVersion`
    std::string configuration_id;   ///< `s3.configurationId`
    s3_bucket bucket;               ///< `s3.bucket`
    s3_object object;               ///< `s3.object`

    friend bool operator==(const s3_event_record&, const s3_event_record&) = default;
};

/// `{"Records": [...]}` as S3 sends it to Lambda (directly, or inside an SQS/SNS body).
///
/// @code
/// auto e = boost::json::value_to<muster::lambda::s3_event>(payload);
/// for (const auto& r : e.records) co_await resize(r.bucket.name, r.object.decoded_key());
/// @endcode
struct s3_event {
    std::vector<s3_event_record> records;  ///< `Records` (required)

    friend bool operator==(const s3_event&, const s3_event&) = default;
};

/// Boost.JSON conversions; `value_to` throws `event_error` naming the field.
s3_event_record tag_invoke(boost::json::value_to_tag<s3_event_record>, const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const s3_event_record& r);
s3_event tag_invoke(boost::json::value_to_tag<s3_event>, const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const s3_event& e);

}  // namespace muster::lambda
