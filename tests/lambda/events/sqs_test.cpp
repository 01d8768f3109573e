#include <muster/lambda/events/sqs.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "samples.hpp"

namespace sqs_test {

namespace {

namespace json = boost::json;
using muster::lambda::sqs_event;
using muster::lambda::sqs_message;
using namespace muster_test_events;

TEST(SqsEventTest, ParsesTheStandardQueueSample) {
    const auto e = json::value_to<sqs_event>(sample("sqs.json"));
    ASSERT_EQ(e.records.size(), 2u);
    const sqs_message& m = e.records[0];
    EXPECT_EQ(m.message_id, "059f36b4-87a3-44ab-83d2-661975830a7d");
    EXPECT_EQ(m.receipt_handle, "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...");
    EXPECT_EQ(m.body, "Test message.");
    EXPECT_EQ(m.approximate_receive_count(), 1u);
    EXPECT_EQ(m.attribute("SenderId"), "AIDAIENQZJOLO23YVJ4VO");
    EXPECT_EQ(m.attribute("SentTimestamp"), "1545082649183");
    EXPECT_EQ(m.message_group_id(), std::nullopt);
    ASSERT_EQ(m.message_attributes.count("myAttribute"), 1u);
    const auto& a = m.message_attributes.at("myAttribute");
    EXPECT_EQ(a.data_type, "String");
    EXPECT_EQ(a.string_value, "myValue");
    EXPECT_EQ(a.binary_value, std::nullopt);
    EXPECT_EQ(m.md5_of_body, "e4e68fb7bd0e697a0ae8f1bb342846b3");
    EXPECT_EQ(m.event_source, "aws:sqs");
    EXPECT_EQ(m.event_source_arn, "arn:aws:sqs:us-east-2:123456789012:my-queue");
    EXPECT_EQ(m.aws_region, "us-east-2");
    EXPECT_EQ(e.records[1].message_id, "2e1424d4-f796-459a-8184-9c92662be6da");
    EXPECT_TRUE(e.records[1].message_attributes.empty());
}

TEST(SqsEventTest, ParsesTheFifoSampleWithItsMessageGroup) {
    const auto e = json::value_to<sqs_event>(sample("sqs_fifo.json"));
    ASSERT_EQ(e.records.size(), 1u);
    EXPECT_EQ(e.records[0].message_group_id(), "1");
    EXPECT_EQ(e.records[0].attribute("MessageDeduplicationId"), "1");
    EXPECT_EQ(e.records[0].attribute("SequenceNumber"), "18849496460467696128");
}

TEST(SqsEventTest, RoundTripsThroughJson) {
    for (const char* name : {"sqs.json", "sqs_fifo.json"}) {
        const auto e = json::value_to<sqs_event>(sample(name));
        EXPECT_EQ(round_trip(e), e) << name;
    }
}

TEST(SqsEventTest, WritesTheAwsFieldNames) {
    const auto v = json::value_from(json::value_to<sqs_event>(sample("sqs.json")));
    const auto& m = v.at("Records").at(0);
    EXPECT_EQ(m.at("messageId"), "059f36b4-87a3-44ab-83d2-661975830a7d");
    EXPECT_EQ(m.at("eventSourceARN"), "arn:aws:sqs:us-east-2:123456789012:my-queue");
    EXPECT_EQ(m.at("attributes").at("ApproximateReceiveCount"), "1");
    EXPECT_EQ(m.at("messageAttributes").at("myAttribute").at("dataType"), "String");
}

TEST(SqsEventTest, MissingOptionalFieldsBecomeDefaults) {
    const auto e = json::value_to<sqs_event>(
        json::parse(R"({"Records":[{"messageId":"m1","body":"hi","attributes":null}]})"));
    ASSERT_EQ(e.records.size(), 1u);
    EXPECT_EQ(e.records[0].receipt_handle, "");
    EXPECT_TRUE(e.records[0].attributes.empty());
    EXPECT_EQ(e.records[0].approximate_receive_count(), std::nullopt);
}

TEST(SqsEventTest, MissingMessageIdNamesTheRecord) {
    const auto v =
        json::parse(R"({"Records":[{"messageId":"a","body":""},{"messageId":"b","body":""},
                                             {"body":"no id"}]})");
    EXPECT_EQ(conversion_error<sqs_event>(v), "Records[2].messageId: missing");
}

TEST(SqsEventTest, WrongTypesNameTheField) {
    EXPECT_EQ(conversion_error<sqs_event>(json::parse(R"({"Records":{}})")),
              "Records: expected an array, got object");
    EXPECT_EQ(conversion_error<sqs_event>(json::parse(R"({})")), "Records: missing");
    EXPECT_EQ(conversion_error<sqs_event>(json::parse(R"([])")), "expected an object, got array");
    EXPECT_EQ(
        conversion_error<sqs_event>(json::parse(R"({"Records":[{"messageId":7,"body":""}]})")),
        "Records[0].messageId: expected a string, got number");
    EXPECT_EQ(conversion_error<sqs_event>(json::parse(
                  R"({"Records":[{"messageId":"m","body":"","attributes":{"SenderId":1}}]})")),
              "Records[0].attributes.SenderId: expected a string, got number");
    EXPECT_EQ(
        conversion_error<sqs_event>(json::parse(
            R"({"Records":[{"messageId":"m","body":"","messageAttributes":{"a":{"stringValue":2}}}]})")),
        "Records[0].messageAttributes.a.stringValue: expected a string, got number");
}

TEST(SqsEventTest, ErrorCarriesPathAndReasonSeparately) {
    try {
        (void)json::value_to<sqs_event>(json::parse(R"({"Records":[{"messageId":"m"}]})"));
        FAIL() << "no error";
    } catch (const muster::lambda::event_error& e) {
        EXPECT_EQ(e.path(), "Records[0].body");
        EXPECT_EQ(e.reason(), "missing");
    }
}

TEST(SqsEventTest, NonNumericReceiveCountIsAnError) {
    sqs_message m;
    m.attributes["ApproximateReceiveCount"] = "x1";
    EXPECT_THROW((void)m.approximate_receive_count(), muster::lambda::event_error);
}

}  // namespace

}  // namespace sqs_test
