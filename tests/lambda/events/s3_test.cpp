#include <muster/lambda/events/s3.hpp>

#include <stdexcept>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "samples.hpp"

namespace s3_test {

namespace {

namespace json = boost::json;
using muster::lambda::s3_event;
using namespace muster_test_events;

TEST(S3EventTest, ParsesAPutNotification) {
    const auto e = json::value_to<s3_event>(sample("s3_put.json"));
    ASSERT_EQ(e.records.size(), 1u);
    const auto& r = e.records[0];
    EXPECT_EQ(r.event_name, "ObjectCreated:Put");
    EXPECT_EQ(r.event_time, "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(r.aws_region, "us-east-1");
    EXPECT_EQ(r.principal_id, "EXAMPLE");
    EXPECT_EQ(r.source_ip_address, "127.0.0.1");
    EXPECT_EQ(r.request_id, "EXAMPLE123456789");
    EXPECT_EQ(r.configuration_id, "testConfigRule");
    EXPECT_EQ(r.bucket.name, "amzn-s3-demo-bucket");
    EXPECT_EQ(r.bucket.arn, "arn:aws:s3:::amzn-s3-demo-bucket");
    EXPECT_EQ(r.bucket.owner_principal_id, "EXAMPLE");
    EXPECT_EQ(r.object.key, "holiday+photos/beach%281%29.jpg");
    EXPECT_EQ(r.object.decoded_key(), "holiday photos/beach(1).jpg");
    EXPECT_EQ(r.object.size, 1024);
    EXPECT_EQ(r.object.e_tag, "0123456789abcdef0123456789abcdef");
    EXPECT_EQ(r.object.version_id, std::nullopt);
    EXPECT_EQ(r.object.sequencer, "0A1B2C3D4E5F678901");
}

TEST(S3EventTest, ADeleteHasNoSizeOrETagButAVersion) {
    const auto e = json::value_to<s3_event>(sample("s3_delete.json"));
    ASSERT_EQ(e.records.size(), 1u);
    const auto& o = e.records[0].object;
    EXPECT_EQ(e.records[0].event_name, "ObjectRemoved:Delete");
    EXPECT_EQ(o.size, std::nullopt);
    EXPECT_EQ(o.e_tag, std::nullopt);
    EXPECT_EQ(o.version_id, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo");
}

TEST(S3EventTest, RoundTripsThroughJson) {
    for (const char* name : {"s3_put.json", "s3_delete.json"}) {
        const auto e = json::value_to<s3_event>(sample(name));
        EXPECT_EQ(round_trip(e), e) << name;
    }
}

TEST(S3EventTest, UrlDecodesKeys) {
    using muster::lambda::url_decode_s3_key;
    EXPECT_EQ(url_decode_s3_key("a+b%2Bc%2fd"), "a b+c/d");
    EXPECT_EQ(url_decode_s3_key("caf%C3%A9.txt"), "caf\xC3\xA9.txt");
    EXPECT_EQ(url_decode_s3_key("plain"), "plain");
    EXPECT_THROW(url_decode_s3_key("bad%2"), std::invalid_argument);
    EXPECT_THROW(url_decode_s3_key("bad%zz"), std::invalid_argument);
}

TEST(S3EventTest, ErrorsNameTheField) {
    auto v = sample("s3_put.json");
    v.at("Records").at(0).at("s3").at("object").as_object()["size"] = "1024";
    EXPECT_EQ(conversion_error<s3_event>(v),
              "Records[0].s3.object.size: expected an integer, got string");
    v = sample("s3_put.json");
    v.at("Records").at(0).at("s3").at("bucket").as_object().erase("name");
    EXPECT_EQ(conversion_error<s3_event>(v), "Records[0].s3.bucket.name: missing");
    v = sample("s3_put.json");
    v.at("Records").at(0).as_object().erase("s3");
    EXPECT_EQ(conversion_error<s3_event>(v), "Records[0].s3: missing");
}

}  // namespace

}  // namespace s3_test
