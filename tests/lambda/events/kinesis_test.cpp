#include <muster/lambda/events/kinesis.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "samples.hpp"

namespace kinesis_test {

namespace {

namespace json = boost::json;
using muster::lambda::kinesis_event;
using namespace muster_test_events;

TEST(KinesisEventTest, ParsesTheSampleAndDecodesData) {
    const auto e = json::value_to<kinesis_event>(sample("kinesis.json"));
    ASSERT_EQ(e.records.size(), 2u);
    const auto& r = e.records[0];
    EXPECT_EQ(r.kinesis.partition_key, "1");
    EXPECT_EQ(r.kinesis.sequence_number,
              "49590338271490256608559692538361571095921575989136588898");
    EXPECT_EQ(r.kinesis.data, "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==");
    EXPECT_EQ(r.decoded_data(), "Hello, this is a test.");
    EXPECT_DOUBLE_EQ(r.kinesis.approximate_arrival_timestamp.value(), 1545084650.987);
    EXPECT_EQ(r.event_source, "aws:kinesis");
    EXPECT_EQ(r.event_name, "aws:kinesis:record");
    EXPECT_EQ(r.event_source_arn, "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream");
    EXPECT_EQ(e.records[1].decoded_data(), "This is only a test.");
}

TEST(KinesisEventTest, RoundTripsThroughJson) {
    const auto e = json::value_to<kinesis_event>(sample("kinesis.json"));
    EXPECT_EQ(round_trip(e), e);
}

TEST(KinesisEventTest, MissingSequenceNumberNamesTheRecord) {
    auto v = sample("kinesis.json");
    v.at("Records").at(1).at("kinesis").as_object().erase("sequenceNumber");
    EXPECT_EQ(conversion_error<kinesis_event>(v), "Records[1].kinesis.sequenceNumber: missing");
}

}  // namespace

}  // namespace kinesis_test
