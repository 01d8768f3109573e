#include "event.hpp"

#include <gtest/gtest.h>

#include "failure.hpp"

namespace thumbnails {
namespace event_test {
namespace {

constexpr std::string_view base = "http://127.0.0.1:9000/s3";

reason reason_of_body(std::string_view body) {
    try {
        (void)parse_body(body, base);
    } catch (const record_error& e) {
        return e.reason();
    }
    ADD_FAILURE() << "accepted: " << body;
    return reason::internal;
}

std::string message_of_body(std::string_view body) {
    try {
        (void)parse_body(body, base);
    } catch (const record_error& e) {
        return e.what();
    }
    return "accepted";
}

std::string s3_body(std::string_view event_name, std::string_view bucket, std::string_view key) {
    return R"({"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":")" +
           std::string(event_name) + R"(","s3":{"bucket":{"name":")" + std::string(bucket) +
           R"("},"object":{"key":")" + std::string(key) + R"(","size":1024}}}]})";
}

TEST(EventTest, BareUrlIsOneImage) {
    const auto plan = parse_body("  https://images.example.com/a/b.jpg?v=2\n", base);
    ASSERT_EQ(plan.urls.size(), 1u);
    EXPECT_EQ(plan.urls[0], "https://images.example.com/a/b.jpg?v=2");
}

TEST(EventTest, JsonUrlIsOneImage) {
    const auto plan = parse_body(R"({"url": "http://127.0.0.1:8080/x.png"})", base);
    ASSERT_EQ(plan.urls.size(), 1u);
    EXPECT_EQ(plan.urls[0], "http://127.0.0.1:8080/x.png");
}

TEST(EventTest, S3KeyIsDecodedThenEncodedAsAPath) {
    // S3 sends "summer trip/beach (1).jpg" as "summer+trip/beach+%281%29.jpg".
    const auto plan =
        parse_body(s3_body("ObjectCreated:Put", "photos", "summer+trip/beach+%281%29.jpg"), base);
    ASSERT_EQ(plan.urls.size(), 1u);
    EXPECT_EQ(plan.urls[0], "http://127.0.0.1:9000/s3/photos/summer%20trip/beach%20%281%29.jpg");
}

TEST(EventTest, S3KeyWithEncodedPlusAndUnicode) {
    // A literal '+' arrives as %2B; UTF-8 bytes as %XX.
    const auto plan = parse_body(s3_body("ObjectCreated:Copy", "b", "a%2Bb/caf%C3%A9.png"), base);
    ASSERT_EQ(plan.urls.size(), 1u);
    EXPECT_EQ(plan.urls[0], "http://127.0.0.1:9000/s3/b/a%2Bb/caf%C3%A9.png");
}

TEST(EventTest, WithoutABaseS3ObjectsAreNamedByTheirS3Uri) {
    // THUMBNAILS_S3_SOURCES=signed: the function reads them with its own credentials.
    const auto plan =
        parse_body(s3_body("ObjectCreated:Put", "photos", "summer+trip/a%2Bb.jpg"), "");
    ASSERT_EQ(plan.urls.size(), 1u);
    EXPECT_EQ(plan.urls[0], "s3://photos/summer%20trip/a%2Bb.jpg");
}

TEST(EventTest, SeveralS3RecordsAreSeveralImages) {
    const std::string body =
        R"({"Records":[)"
        R"({"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"1.jpg"}}},)"
        R"({"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"2.jpg"}}},)"
        R"({"eventName":"ObjectCreated:Post","s3":{"bucket":{"name":"b"},"object":{"key":"3.jpg"}}}]})";
    const auto plan = parse_body(body, base);
    ASSERT_EQ(plan.urls.size(), 2u);
    EXPECT_EQ(plan.urls[0], "http://127.0.0.1:9000/s3/b/1.jpg");
    EXPECT_EQ(plan.urls[1], "http://127.0.0.1:9000/s3/b/3.jpg");
}

TEST(EventTest, S3TestEventIsNothingToDo) {
    const auto plan = parse_body(
        R"({"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-01T10:00:00.000Z",)"
        R"("Bucket":"photos","RequestId":"X","HostId":"Y"})",
        base);
    EXPECT_TRUE(plan.urls.empty());
    EXPECT_EQ(plan.note, "s3:TestEvent");
}

TEST(EventTest, S3RemovalsOnlyAreNothingToDo) {
    const auto plan = parse_body(s3_body("ObjectRemoved:Delete", "b", "k.jpg"), base);
    EXPECT_TRUE(plan.urls.empty());
    EXPECT_NE(plan.note.find("other than ObjectCreated"), std::string::npos);
}

TEST(EventTest, SnsWrappedS3NotificationIsUnwrapped) {
    std::string inner = s3_body("ObjectCreated:Put", "b", "k.jpg");
    std::string escaped;
    for (char c : inner) {
        if (c == '"') escaped += '\\';
        escaped += c;
    }
    const auto plan =
        parse_body(R"({"Type":"Notification","MessageId":"m","Message":")" + escaped + "\"}", base);
    ASSERT_EQ(plan.urls.size(), 1u);
    EXPECT_EQ(plan.urls[0], "http://127.0.0.1:9000/s3/b/k.jpg");
}

TEST(EventTest, MalformedBodiesFailWithAReason) {
    EXPECT_EQ(reason_of_body(""), reason::malformed_body);
    EXPECT_EQ(reason_of_body("   \n"), reason::malformed_body);
    EXPECT_EQ(reason_of_body("hello world"), reason::malformed_body);
    EXPECT_EQ(reason_of_body("ftp://example.com/a.jpg"), reason::malformed_body);
    EXPECT_EQ(reason_of_body("http://exa mple.com/a.jpg"), reason::malformed_body);
    EXPECT_EQ(reason_of_body("{\"url\": "), reason::malformed_body);
    EXPECT_EQ(reason_of_body(R"({"url": 42})"), reason::malformed_body);
    EXPECT_EQ(reason_of_body(R"({"link": "http://a/b"})"), reason::malformed_body);
    EXPECT_EQ(reason_of_body(R"([1, 2])"), reason::malformed_body);
    EXPECT_EQ(reason_of_body(R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{}}]})"),
              reason::malformed_body);
    EXPECT_EQ(reason_of_body(s3_body("ObjectCreated:Put", "b", "bad%zzkey")),
              reason::malformed_body);
}

TEST(EventTest, MalformedMessagesSayWhatIsWrong) {
    EXPECT_EQ(message_of_body("hello"), "body is neither a URL nor JSON: hello");
    EXPECT_EQ(message_of_body(R"({"url": 42})"), "\"url\" must be a string");
    EXPECT_EQ(message_of_body("ftp://x/y"), "body is neither a URL nor JSON: ftp://x/y");
    EXPECT_NE(message_of_body(R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]})")
                  .find("Records[0].s3.object"),
              std::string::npos);
    EXPECT_NE(message_of_body("{\"url\":").find("not valid JSON"), std::string::npos);
}

TEST(EventTest, S3ObjectUrlEncodesEverythingButUnreservedAndSlash) {
    EXPECT_EQ(s3_object_url("https://s3.amazonaws.com", "bkt", "a b/c+d?e#f%g~h_i.j-k"),
              "https://s3.amazonaws.com/bkt/a%20b/c%2Bd%3Fe%23f%25g~h_i.j-k");
}

}  // namespace
}  // namespace event_test
}  // namespace thumbnails
