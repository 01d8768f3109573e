/// @file
/// `sqs_event`: the batch of Amazon SQS messages Lambda's event source mapping delivers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda/events/event_error.hpp>

namespace muster::lambda {

/// One user-defined message attribute (`messageAttributes.<name>`). SQS sends `stringValue` for
/// `String`/`Number` types and `binaryValue` (base64) for `Binary`; the list fields are
/// reserved by SQS and usually empty.
struct sqs_message_attribute {
    std::string data_type;                    ///< `dataType`: `String`, `Number`, `Binary`...
    std::optional<std::string> string_value;  ///< `stringValue`
    std::optional<std::string> binary_value;  ///< `binaryValue`, still base64
    std::vector<std::string> string_list_values;
    std::vector<std::string> binary_list_values;

    friend bool operator==(const sqs_message_attribute&, const sqs_message_attribute&) = default;
};

/// One SQS message of a batch (`Records[i]`).
///
/// Required in JSON: `messageId` and `body`. Every other field defaults to empty when absent.
/// `attributes` holds SQS's system attributes exactly as sent (SQS sends them all as strings);
/// the accessors below read the common ones.
///
/// @code
/// for (const auto& m : event.records)
///     if (m.message_group_id()) log("FIFO group ", *m.message_group_id());
/// @endcode
struct sqs_message {
    std::string message_id;      ///< `messageId`: the batch item identifier
    std::string receipt_handle;  ///< `receiptHandle`
    std::string body;            ///< `body`, as sent (SQS bodies are text)
    /// `attributes`: `ApproximateReceiveCount`, `SentTimestamp`, `MessageGroupId`...
    std::map<std::string, std::string, std::less<>> attributes;
    /// `messageAttributes`: the sender's own attributes, by name.
    std::map<std::string, sqs_message_attribute, std::less<>> message_attributes;
    std::string md5_of_body;                               ///< `md5OfBody`
    std::optional<std::string> md5_of_message_attributes;  ///< `md5OfMessageAttributes`
    std::string event_source;                              ///< `eventSource` (`aws:sqs`)
    std::string event_source_arn;                          ///< `eventSourceARN`: the queue
    std::string aws_region;                                ///< `awsRegion`

    /// A system attribute by name (`"SenderId"`), or nullopt.
    std::optional<std::string_view> attribute(std::string_view name) const;
    /// `attributes.MessageGroupId`: present only for messages of a FIFO queue (and for fair
    /// queues, which also set it). `process_batch` runs the records of one group in order.
    std::optional<std::string_view> message_group_id() const { return attribute("MessageGroupId"); }
    /// `attributes.ApproximateReceiveCount` as a number; nullopt when absent. Throws
    /// `event_error` (`attributes.ApproximateReceiveCount: ...`) when it is not a decimal number.
    std::optional<std::uint64_t> approximate_receive_count() const;

    friend bool operator==(const sqs_message&, const sqs_message&) = default;
};

/// The whole batch: `{"Records": [...]}`. `Records` is required (an empty array is valid).
///
/// @code
/// auto event = boost::json::value_to<muster::lambda::sqs_event>(payload);
/// for (const auto& m : event.records) handle(m.body);
/// @endcode
struct sqs_event {
    std::vector<sqs_message> records;  ///< `Records`, in delivery order

    friend bool operator==(const sqs_event&, const sqs_event&) = default;
};

/// Boost.JSON conversions. `value_to` throws `event_error` naming the field
/// (`Records[2].messageId: missing`); `value_from` writes the AWS field names back, omitting
/// absent optionals.
sqs_message_attribute tag_invoke(boost::json::value_to_tag<sqs_message_attribute>,
                                 const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const sqs_message_attribute& a);
sqs_message tag_invoke(boost::json::value_to_tag<sqs_message>, const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const sqs_message& m);
sqs_event tag_invoke(boost::json::value_to_tag<sqs_event>, const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const sqs_event& e);

}  // namespace muster::lambda
