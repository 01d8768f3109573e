#include <muster/lambda/events/http_api.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "samples.hpp"

namespace http_api_test {

namespace {

namespace json = boost::json;
using muster::lambda::http_api_request;
using muster::lambda::http_api_response;
using namespace muster_test_events;

TEST(HttpApiRequestTest, ParsesThePayloadFormat2Sample) {
    const auto r = json::value_to<http_api_request>(sample("http_api_v2.json"));
    EXPECT_EQ(r.version, "2.0");
    EXPECT_EQ(r.route_key, "$default");
    EXPECT_EQ(r.raw_path, "/my/path");
    EXPECT_EQ(r.raw_query_string, "parameter1=value1&parameter1=value2&parameter2=value");
    EXPECT_EQ(r.cookies, (std::vector<std::string>{"cookie1", "cookie2"}));
    EXPECT_EQ(r.header("header2"), "value1,value2");
    EXPECT_EQ(r.header("missing"), std::nullopt);
    EXPECT_EQ(r.query_string_parameters.at("parameter1"), "value1,value2");
    EXPECT_EQ(r.path_parameters.at("parameter1"), "value1");
    EXPECT_EQ(r.stage_variables.at("stageVariable2"), "value2");
    const auto& c = r.request_context;
    EXPECT_EQ(c.account_id, "123456789012");
    EXPECT_EQ(c.api_id, "api-id");
    EXPECT_EQ(c.domain_name, "id.execute-api.us-east-1.amazonaws.com");
    EXPECT_EQ(c.http.method, "POST");
    EXPECT_EQ(c.http.path, "/my/path");
    EXPECT_EQ(c.http.protocol, "HTTP/1.1");
    EXPECT_EQ(c.http.source_ip, "192.0.2.1");
    EXPECT_EQ(c.http.user_agent, "agent");
    EXPECT_EQ(c.request_id, "id");
    EXPECT_EQ(c.time, "12/Mar/2020:19:03:58 +0000");
    EXPECT_EQ(c.time_epoch, 1583348638390);
    ASSERT_TRUE(c.authorizer.has_value());
    EXPECT_EQ(c.authorizer->at("jwt").at("claims").at("claim1"), "value1");
    ASSERT_TRUE(c.authentication.has_value());
    EXPECT_EQ(r.body, "Hello from Lambda");
    EXPECT_FALSE(r.is_base64_encoded);
    EXPECT_EQ(r.decoded_body(), "Hello from Lambda");
}

TEST(HttpApiRequestTest, ParsesAFunctionUrlRequestWithABase64Body) {
    const auto r = json::value_to<http_api_request>(sample("function_url.json"));
    EXPECT_EQ(r.request_context.domain_name, "<url-id>.lambda-url.us-west-2.on.aws");
    EXPECT_EQ(r.request_context.authentication, std::nullopt);  // null in the event
    EXPECT_TRUE(r.path_parameters.empty());                     // null in the event
    EXPECT_TRUE(r.stage_variables.empty());
    EXPECT_EQ(r.request_context.authorizer->at("iam").at("userArn"),
              "arn:aws:iam::111122223333:user/example-user");
    EXPECT_TRUE(r.is_base64_encoded);
    EXPECT_EQ(r.body, "SGVsbG8gZnJvbSBMYW1iZGEh");
    EXPECT_EQ(r.decoded_body(), "Hello from Lambda!");
}

TEST(HttpApiRequestTest, RoundTripsThroughJson) {
    for (const char* name : {"http_api_v2.json", "function_url.json"}) {
        const auto r = json::value_to<http_api_request>(sample(name));
        EXPECT_EQ(round_trip(r), r) << name;
    }
}

TEST(HttpApiRequestTest, MinimalRequestGetsDefaults) {
    const auto r = json::value_to<http_api_request>(
        json::parse(R"({"rawPath":"/","requestContext":{"http":{"method":"GET"}}})"));
    EXPECT_EQ(r.body, std::nullopt);
    EXPECT_EQ(r.decoded_body(), "");
    EXPECT_TRUE(r.headers.empty());
    EXPECT_EQ(r.request_context.time_epoch, 0);
}

TEST(HttpApiRequestTest, ErrorsNameTheField) {
    auto v = sample("http_api_v2.json");
    v.at("requestContext").at("http").as_object().erase("method");
    EXPECT_EQ(conversion_error<http_api_request>(v), "requestContext.http.method: missing");
    v = sample("http_api_v2.json");
    v.at("headers").as_object()["x-count"] = 3;
    EXPECT_EQ(conversion_error<http_api_request>(v),
              "headers.x-count: expected a string, got number");
    v = sample("http_api_v2.json");
    v.as_object()["isBase64Encoded"] = "false";
    EXPECT_EQ(conversion_error<http_api_request>(v),
              "isBase64Encoded: expected a bool, got string");
    v = sample("http_api_v2.json");
    v.as_object()["cookies"] = json::array{"a", nullptr};
    EXPECT_EQ(conversion_error<http_api_request>(v), "cookies[1]: expected a string, got null");
}

TEST(HttpApiResponseTest, ConvertsToTheAwsShape) {
    http_api_response res;
    res.status_code = 201;
    res.headers["content-type"] = "application/json";
    res.cookies = {"session=abc; Secure"};
    res.body = R"({"id":42})";
    EXPECT_EQ(json::value_from(res), json::parse(R"({
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "cookies": ["session=abc; Secure"],
        "body": "{\"id\":42}",
        "isBase64Encoded": false})"));
}

TEST(HttpApiResponseTest, OmitsEmptyHeadersAndCookies) {
    http_api_response res;
    EXPECT_EQ(json::value_from(res),
              json::parse(R"({"statusCode":200,"body":"","isBase64Encoded":false})"));
}

TEST(HttpApiResponseTest, RoundTripsThroughJson) {
    http_api_response res;
    res.status_code = 404;
    res.headers["x-a"] = "1";
    res.cookies = {"a=1", "b=2"};
    res.set_binary_body(std::string("\x00\xff\x10", 3));
    EXPECT_TRUE(res.is_base64_encoded);
    EXPECT_EQ(res.body, "AP8Q");
    EXPECT_EQ(round_trip(res), res);
    EXPECT_EQ(round_trip(res).decoded_body(), std::string("\x00\xff\x10", 3));
}

TEST(HttpApiResponseTest, StatusCodeIsRequiredAndAnInteger) {
    EXPECT_EQ(conversion_error<http_api_response>(json::parse(R"({"body":"x"})")),
              "statusCode: missing");
    EXPECT_EQ(conversion_error<http_api_response>(json::parse(R"({"statusCode":"200"})")),
              "statusCode: expected an integer, got string");
    EXPECT_EQ(conversion_error<http_api_response>(json::parse(R"({"statusCode":20})")),
              "statusCode: not an HTTP status: 20");
}

}  // namespace

}  // namespace http_api_test
