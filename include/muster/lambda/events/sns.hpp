/// @file
/// `sns_event`: Amazon SNS notifications delivered to a subscribed function.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda/events/event_error.hpp>

namespace muster::lambda {

/// One message attribute (`Sns.MessageAttributes.<name>`): `Type` (`String`, `Number`,
/// `Binary`, `String.Array`) and `Value` as sent.
struct sns_message_attribute {
    std::string type;   ///< `Type`
    std::string value;  ///< `Value`

    friend bool operator==(const sns_message_attribute&, const sns_message_attribute&) = default;
};

/// The `Sns` object of a record. Required: `MessageId` and `Message`.
struct sns_message {
    std::string type;                    ///< `Type` (`Notification`)
    std::string message_id;              ///< `MessageId`
    std::string topic_arn;               ///< `TopicArn`
    std::optional<std::string> subject;  ///< `Subject`; SNS sends null when none was given
    std::string message;                 ///< `Message`, the published text
    std::string timestamp;               ///< `Timestamp`, ISO-8601 as sent
    std::string signature_version;       ///< `SignatureVersion`
    std::string signature;               ///< `Signature`
    std::string signing_cert_url;        ///< `SigningCertUrl`
    std::string unsubscribe_url;         ///< `UnsubscribeUrl`
    std::map<std::string, sns_message_attribute, std::less<>> message_attributes;

    friend bool operator==(const sns_message&, const sns_message&) = default;
};

/// One record (`Records[i]`). Required: `Sns`.
struct sns_record {
    std::string event_version;           ///< `EventVersion`
    std::string event_subscription_arn;  ///< `EventSubscriptionArn`
    std::string event_source;            ///< `EventSource` (`aws:sns`)
    sns_message sns;                     ///< `Sns`

    friend bool operator==(const sns_record&, const sns_record&) = default;
};

/// `{"Records": [...]}` (SNS delivers one record per invocation, but the shape is a list).
///
/// @code
/// auto e = boost::json::value_to<muster::lambda::sns_event>(payload);
/// for (const auto& r : e.records) handle(r.sns.subject.value_or(""), r.sns.message);
/// @endcode
struct sns_event {
    std::vector<sns_record> records;  ///< `Records` (required)

    friend bool operator==(const sns_event&, const sns_event&) = default;
};

/// Boost.JSON conversions; `value_to` throws `event_error` naming the field.
sns_record tag_invoke(boost::json::value_to_tag<sns_record>, const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const sns_record& r);
sns_event tag_invoke(boost::json::value_to_tag<sns_event>, const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const sns_event& e);

}  // namespace muster::lambda
