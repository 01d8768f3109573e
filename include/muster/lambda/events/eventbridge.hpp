/// @file
/// `eventbridge_event`: an Amazon EventBridge (CloudWatch Events) event, including scheduled
/// rules.
#pragma once

#include <string>
#include <vector>

#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda/events/event_error.hpp>

namespace muster::lambda {

/// One EventBridge event. Required: `detail-type` and `source`; `detail` is kept as JSON
/// (null when absent) because its shape depends on the source.
///
/// @code
/// auto e = boost::json::value_to<muster::lambda::eventbridge_event>(payload);
/// if (e.detail_type == "Object Created")
///     key = e.detail.at("object").at("key").as_string();
/// @endcode
struct eventbridge_event {
    std::string version;                 ///< `version`
    std::string id;                      ///< `id`
    std::string detail_type;             ///< `detail-type`
    std::string source;                  ///< `source`, e.g. `aws.s3`, `aws.events`
    std::string account;                 ///< `account`
    std::string time;                    ///< `time`, ISO-8601 as sent
    std::string region;                  ///< `region`
    std::vector<std::string> resources;  ///< `resources`: ARNs
    boost::json::value detail;           ///< `detail`, as sent
    std::string replay_name;             ///< `replay-name`, set only for replayed events

    friend bool operator==(const eventbridge_event&, const eventbridge_event&) = default;
};

/// Boost.JSON conversions; `value_to` throws `event_error` naming the field.
eventbridge_event tag_invoke(boost::json::value_to_tag<eventbridge_event>,
                             const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const eventbridge_event& e);

}  // namespace muster::lambda
