#include <muster/lambda/events/eventbridge.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "samples.hpp"

namespace eventbridge_test {

namespace {

namespace json = boost::json;
using muster::lambda::eventbridge_event;
using namespace muster_test_events;

TEST(EventBridgeEventTest, ParsesAScheduledEvent) {
    const auto e = json::value_to<eventbridge_event>(sample("eventbridge_scheduled.json"));
    EXPECT_EQ(e.detail_type, "Scheduled Event");
    EXPECT_EQ(e.source, "aws.events");
    EXPECT_EQ(e.account, "123456789012");
    EXPECT_EQ(e.region, "us-east-2");
    EXPECT_EQ(e.time, "2019-03-01T01:23:45Z");
    EXPECT_EQ(e.id, "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c");
    ASSERT_EQ(e.resources.size(), 1u);
    EXPECT_EQ(e.resources[0], "arn:aws:events:us-east-2:123456789012:rule/my-schedule");
    EXPECT_EQ(e.detail, json::object{});
}

TEST(EventBridgeEventTest, KeepsTheDetailAsJson) {
    const auto e = json::value_to<eventbridge_event>(sample("eventbridge_s3_object_created.json"));
    EXPECT_EQ(e.detail_type, "Object Created");
    EXPECT_EQ(e.source, "aws.s3");
    EXPECT_EQ(e.detail.at("object").at("key"), "example-key");
    EXPECT_EQ(e.detail.at("object").at("size"), 5);
    EXPECT_EQ(e.detail.at("reason"), "PutObject");
}

TEST(EventBridgeEventTest, RoundTripsThroughJson) {
    for (const char* name : {"eventbridge_scheduled.json", "eventbridge_s3_object_created.json"}) {
        const auto e = json::value_to<eventbridge_event>(sample(name));
        EXPECT_EQ(round_trip(e), e) << name;
        EXPECT_EQ(json::value_from(e).at("detail-type"), json::value(e.detail_type));
    }
}

TEST(EventBridgeEventTest, MissingDetailTypeNamesTheField) {
    auto v = sample("eventbridge_scheduled.json");
    v.as_object().erase("detail-type");
    EXPECT_EQ(conversion_error<eventbridge_event>(v), "detail-type: missing");
    v = sample("eventbridge_scheduled.json");
    v.as_object()["resources"] = json::array{1};
    EXPECT_EQ(conversion_error<eventbridge_event>(v),
              "resources[0]: expected a string, got number");
}

}  // namespace

}  // namespace eventbridge_test
