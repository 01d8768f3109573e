#include <muster/lambda/events/dynamodb_stream.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "samples.hpp"

namespace dynamodb_stream_test {

namespace {

namespace json = boost::json;
using muster::lambda::dynamodb_stream_event;
using namespace muster_test_events;

TEST(DynamoDbStreamEventTest, ParsesInsertModifyAndRemove) {
    const auto e = json::value_to<dynamodb_stream_event>(sample("dynamodb_stream.json"));
    ASSERT_EQ(e.records.size(), 3u);
    const auto& insert = e.records[0];
    EXPECT_EQ(insert.event_name, "INSERT");
    EXPECT_EQ(insert.dynamodb.sequence_number, "111");
    EXPECT_EQ(insert.dynamodb.keys, json::parse(R"({"Id":{"N":"101"}})").as_object());
    ASSERT_TRUE(insert.dynamodb.new_image.has_value());
    EXPECT_EQ(insert.dynamodb.new_image->at("Message").at("S"), "New item!");
    EXPECT_EQ(insert.dynamodb.old_image, std::nullopt);
    EXPECT_EQ(insert.dynamodb.size_bytes, 26);
    EXPECT_EQ(insert.dynamodb.stream_view_type, "NEW_AND_OLD_IMAGES");
    EXPECT_EQ(e.records[1].event_name, "MODIFY");
    EXPECT_EQ(e.records[1].dynamodb.old_image->at("Message").at("S"), "New item!");
    EXPECT_EQ(e.records[2].event_name, "REMOVE");
    EXPECT_EQ(e.records[2].dynamodb.new_image, std::nullopt);
    EXPECT_EQ(e.records[2].dynamodb.sequence_number, "333");
}

TEST(DynamoDbStreamEventTest, RoundTripsThroughJson) {
    const auto e = json::value_to<dynamodb_stream_event>(sample("dynamodb_stream.json"));
    EXPECT_EQ(round_trip(e), e);
}

TEST(DynamoDbStreamEventTest, ErrorsNameTheField) {
    auto v = sample("dynamodb_stream.json");
    v.at("Records").at(2).at("dynamodb").as_object().erase("SequenceNumber");
    EXPECT_EQ(conversion_error<dynamodb_stream_event>(v),
              "Records[2].dynamodb.SequenceNumber: missing");
    v = sample("dynamodb_stream.json");
    v.at("Records").at(0).at("dynamodb").as_object()["NewImage"] = "x";
    EXPECT_EQ(conversion_error<dynamodb_stream_event>(v),
              "Records[0].dynamodb.NewImage: expected an object, got string");
}

}  // namespace

}  // namespace dynamodb_stream_test
