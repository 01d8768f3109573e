#include <muster/http/redacted.hpp>

#include <exception>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/this_coro.hpp>

#include <muster/http/client.hpp>
#include <muster/http/error.hpp>
#include <muster/http/url.hpp>

#include "../core/test_support.hpp"
#include "test_server.hpp"

namespace redacted_test {

namespace {

namespace asio = boost::asio;
namespace http = muster::http;
using ::testing::HasSubstr;
using ::testing::Not;

/// A SigV4 presigned GET as S3 hands it out, with a session token.
std::string presigned(const std::string& base) {
    return base +
           "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=ASIAEXAMPLEKEY%2F20261206%2Fus-east-1%2Fs3%2Faws4_request"
           "&X-Amz-Date=20261206T120000Z&X-Amz-Expires=900"
           "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLETOKEN%2B%2F%3D"
           "&X-Amz-SignedHeaders=host"
           "&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
}

void expect_no_credentials(const std::string& text) {
    EXPECT_THAT(text, Not(HasSubstr("ASIAEXAMPLEKEY")));
    EXPECT_THAT(text, Not(HasSubstr("EXAMPLETOKEN")));
    EXPECT_THAT(text, Not(HasSubstr("5d672d79c15b")));
}

TEST(RedactedTest, HidesTheCredentialsOfASigV4PresignedUrl) {
    const std::string shown = http::redacted(presigned("https://b.s3.amazonaws.com/photos/a.jpg"));
    EXPECT_EQ(shown,
              "https://b.s3.amazonaws.com/photos/a.jpg"
              "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED"
              "&X-Amz-Date=20261206T120000Z&X-Amz-Expires=900&X-Amz-Security-Token=REDACTED"
              "&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED");
}

TEST(RedactedTest, HidesSigV2GoogleCloudFrontAzureAndBearerCredentials) {
    EXPECT_EQ(http::redacted("https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIA1&Expires=1700000000"
                             "&Signature=abc%3D&x-amz-security-token=tok"),
              "https://b.s3.amazonaws.com/k?AWSAccessKeyId=REDACTED&Expires=1700000000"
              "&Signature=REDACTED&x-amz-security-token=REDACTED");
    EXPECT_EQ(http::redacted("https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256"
                             "&X-Goog-Credential=sa%40p.iam&X-Goog-Signature=00ff"
                             "&GoogleAccessId=sa&Signature=x"),
              "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256"
              "&X-Goog-Credential=REDACTED&X-Goog-Signature=REDACTED"
              "&GoogleAccessId=REDACTED&Signature=REDACTED");
    EXPECT_EQ(http::redacted("https://d.cloudfront.net/a?Expires=1&Signature=s~&Key-Pair-Id=K1"),
              "https://d.cloudfront.net/a?Expires=1&Signature=REDACTED&Key-Pair-Id=REDACTED");
    EXPECT_EQ(http::redacted("https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2026&sp=r"
                             "&sig=abc%2Bdef%3D"),
              "https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2026&sp=r&sig=REDACTED");
    EXPECT_EQ(http::redacted("https://api/x?access_token=t&page=2"),
              "https://api/x?access_token=REDACTED&page=2");
}

TEST(RedactedTest, MatchesNamesWithoutRegardToCaseOrPercentEncoding) {
    EXPECT_EQ(http::redacted("http://h/?x%2Damz%2dsignature=s&SIG=t"),
              "http://h/?x%2Damz%2dsignature=REDACTED&SIG=REDACTED");
}

TEST(RedactedTest, KeepsEverythingElseByteForByte) {
    for (const char* same :
         {"http://h/a?b=1&signatures=2&mysig=3#Signature=frag", "http://h/a", "http://h/?",
          "http://h/?Signature", "not a url at all", "", "http://h/a?&&b=&=c"}) {
        EXPECT_EQ(http::redacted(same), same);
    }
    EXPECT_EQ(http::redacted("http://h/a?Signature=x#f?Signature=y"),
              "http://h/a?Signature=REDACTED#f?Signature=y");
}

TEST(RedactedTest, HidesThePasswordOfUserInformation) {
    EXPECT_EQ(http::redacted("http://user:pw@h:8080/a?b"), "http://user:REDACTED@h:8080/a?b");
    EXPECT_EQ(http::redacted("http://user@h/"), "http://user@h/");
    EXPECT_EQ(http::redacted("http://h/a@b:c"), "http://h/a@b:c");
}

// Found by fuzz/url: a "://" inside the query of a reference without a scheme
// (a relative redirect target) was taken for the start of an authority, and
// everything before a later "user:pw@" was printed as it was.
TEST(RedactedTest, AUrlInsideTheQueryOfAReferenceIsNoAuthority) {
    EXPECT_EQ(http::redacted("/p?X-Amz-Signature=SECRET&next=http://u:pw@h"),
              "/p?X-Amz-Signature=REDACTED&next=http://u:pw@h");
    const std::string once = http::redacted("?://:&sig=/&@");
    EXPECT_EQ(once, "?://:&sig=REDACTED&@");
    EXPECT_EQ(http::redacted(once), once);
}

asio::awaitable<std::exception_ptr> failed_get(std::string url) {
    http::client c{co_await asio::this_coro::executor};
    try {
        co_await c.get(std::move(url));
    } catch (...) {
        co_return std::current_exception();
    }
    co_return nullptr;
}

TEST(RedactedTest, AnHttpErrorCarriesNoCredentials) {
    const std::string url = presigned(
        "http://127.0.0.1:" + std::to_string(muster_test::unused_port()) + "/photos/a.jpg");
    auto failure = muster_test::run(failed_get(url));
    ASSERT_TRUE(failure);
    try {
        std::rethrow_exception(failure);
    } catch (const http::error& e) {
        EXPECT_EQ(e.kind(), http::error_kind::connect);
        EXPECT_THAT(e.what(), HasSubstr("/photos/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256"));
        EXPECT_THAT(e.what(), HasSubstr("X-Amz-Signature=REDACTED"));
        expect_no_credentials(e.what());
        expect_no_credentials(e.url());
    }
}

TEST(RedactedTest, AnInvalidUrlErrorCarriesNoCredentials) {
    try {
        http::url::parse(presigned("http://h/a b"));
        FAIL();
    } catch (const http::error& e) {
        EXPECT_EQ(e.kind(), http::error_kind::invalid_url);
        EXPECT_THAT(e.what(), HasSubstr("http://h/a b?"));
        expect_no_credentials(e.what());
        expect_no_credentials(e.url());
    }
}

}  // namespace

}  // namespace redacted_test
