#include <muster/lambda/events/sns.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "samples.hpp"

namespace sns_test {

namespace {

namespace json = boost::json;
using muster::lambda::sns_event;
using namespace muster_test_events;

TEST(SnsEventTest, ParsesTheSample) {
    const auto e = json::value_to<sns_event>(sample("sns.json"));
    ASSERT_EQ(e.records.size(), 1u);
    const auto& r = e.records[0];
    EXPECT_EQ(r.event_source, "aws:sns");
    EXPECT_EQ(r.event_version, "1.0");
    const auto& m = r.sns;
    EXPECT_EQ(m.message_id, "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
    EXPECT_EQ(m.message, "Hello from SNS!");
    EXPECT_EQ(m.subject, "TestInvoke");
    EXPECT_EQ(m.type, "Notification");
    EXPECT_EQ(m.topic_arn, "arn:aws:sns:us-east-1:123456789012:sns-lambda");
    EXPECT_EQ(m.timestamp, "2019-01-02T12:45:07.000Z");
    ASSERT_EQ(m.message_attributes.size(), 2u);
    EXPECT_EQ(m.message_attributes.at("Test").type, "String");
    EXPECT_EQ(m.message_attributes.at("Test").value, "TestString");
}

TEST(SnsEventTest, NullSubjectIsAbsent) {
    auto v = sample("sns.json");
    v.at("Records").at(0).at("Sns").as_object()["Subject"] = nullptr;
    const auto e = json::value_to<sns_event>(v);
    EXPECT_EQ(e.records[0].sns.subject, std::nullopt);
    EXPECT_EQ(round_trip(e), e);
}

TEST(SnsEventTest, RoundTripsThroughJson) {
    const auto e = json::value_to<sns_event>(sample("sns.json"));
    EXPECT_EQ(round_trip(e), e);
}

TEST(SnsEventTest, MissingMessageNamesTheField) {
    auto v = sample("sns.json");
    v.at("Records").at(0).at("Sns").as_object().erase("Message");
    EXPECT_EQ(conversion_error<sns_event>(v), "Records[0].Sns.Message: missing");
}

}  // namespace

}  // namespace sns_test
