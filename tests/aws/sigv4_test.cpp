#include <muster/aws/sigv4.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace sigv4_test {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using muster::aws::signing_params;

const fs::path vectors_dir = MUSTER_TEST_SIGV4_VECTORS;

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::chrono::system_clock::time_point suite_time() {
    // 2015-08-30T12:36:00Z, the time of every vector in the suite.
    return std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));
}

signing_params suite_params(const fs::path& dir) {
    signing_params p;
    p.credentials.access_key_id = "AKIDEXAMPLE";
    p.credentials.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    p.region = "us-east-1";
    p.service = "service";
    p.time = suite_time();
    if (fs::exists(dir / "context.json")) {
        auto ctx = json::parse(read_file(dir / "context.json")).as_object();
        const auto& c = ctx.at("credentials").as_object();
        p.credentials.access_key_id = c.at("access_key_id").as_string();
        p.credentials.secret_access_key = c.at("secret_access_key").as_string();
        if (c.contains("token")) p.credentials.session_token = c.at("token").as_string();
        p.normalize_path = ctx.at("normalize").as_bool();
        p.region = ctx.at("region").as_string();
        p.service = ctx.at("service").as_string();
    }
    return p;
}

/// A request in the suite's file format: the request line, `Name:value`
/// lines, an empty line, the body.
struct suite_request {
    std::string method;
    std::string target;
    muster::http::headers headers;
    std::string authorization;
    std::string body;
};

suite_request parse_request(const std::string& text) {
    suite_request r;
    std::size_t at = 0;
    auto next_line = [&]() {
        const auto end = text.find('\n', at);
        std::string line = text.substr(at, end - at);
        at = end == std::string::npos ? text.size() : end + 1;
        return line;
    };
    const std::string first = next_line();
    const auto sp = first.find(' ');
    r.method = first.substr(0, sp);
    r.target = first.substr(sp + 1, first.rfind(" HTTP/1.1") - sp - 1);
    for (std::string line = next_line(); !line.empty(); line = next_line()) {
        const auto colon = line.find(':');
        std::string name = line.substr(0, colon);
        std::string value = line.substr(colon + 1);
        if (name == "Authorization") {
            r.authorization = value;
        } else {
            r.headers.add(name, value);
        }
    }
    r.body = text.substr(at);
    return r;
}

TEST(Sigv4Test, PublishedVectorsSignToThePublishedAuthorization) {
    std::size_t cases = 0;
    for (const auto& entry : fs::directory_iterator(vectors_dir)) {
        const fs::path file = entry.path() / "header-signed-request.txt";
        if (!fs::exists(file)) continue;
        SCOPED_TRACE(entry.path().filename().string());
        const suite_request r = parse_request(read_file(file));
        const signing_params p = suite_params(entry.path());
        const std::string payload = std::string(
            r.headers.get("x-amz-content-sha256").value_or(muster::aws::sha256_hex(r.body)));
        const auto parts = muster::aws::signature_of(r.method, r.target, r.headers, payload, p);
        EXPECT_EQ(parts.authorization, r.authorization) << parts.canonical_request;
        ++cases;
    }
    EXPECT_GE(cases, 15u);
}

TEST(Sigv4Test, PublishedPresignedVectorSignsToThePublishedSignature) {
    const auto dir = vectors_dir / "get-vanilla-query-order-key-case";
    const suite_request r = parse_request(read_file(dir / "query-signed-request.txt"));
    const auto sig_at = r.target.find("X-Amz-Signature=");
    ASSERT_NE(sig_at, std::string::npos);
    const std::string expected = r.target.substr(sig_at + 16);
    const std::string url = "https://example.amazonaws.com/?Param2=value2&Param1=value1";
    const std::string presigned =
        muster::aws::presign("GET", url, suite_params(dir), std::chrono::seconds(3600));
    EXPECT_EQ(presigned.substr(presigned.find("X-Amz-Signature=") + 16), expected) << presigned;
    EXPECT_NE(presigned.find("X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2F"
                             "aws4_request"),
              std::string::npos);
    EXPECT_NE(presigned.find("X-Amz-Expires=3600"), std::string::npos);
}

TEST(Sigv4Test, SignSetsTheDateTheTokenAndTheAuthorization) {
    muster::http::request r;
    r.method = "GET";
    r.url = "https://example.amazonaws.com/";
    r.headers.set("User-Agent", "not signed");
    signing_params p = suite_params(vectors_dir / "get-vanilla-with-session-token");
    const auto parts = muster::aws::sign(r, p);
    EXPECT_EQ(r.headers.get("X-Amz-Date"), "20150830T123600Z");
    EXPECT_EQ(r.headers.get("X-Amz-Security-Token"),
              "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267");
    EXPECT_EQ(parts.signed_headers, "host;x-amz-date;x-amz-security-token");
    // The published signature of get-vanilla-with-session-token.
    EXPECT_EQ(parts.signature, "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
    EXPECT_EQ(r.headers.get("Authorization"), parts.authorization);
}

TEST(Sigv4Test, HostIncludesAPortThatIsNotTheDefault) {
    muster::http::request r;
    r.url = "http://127.0.0.1:4569/";
    const auto parts = muster::aws::sign(r, suite_params(vectors_dir));
    EXPECT_NE(parts.canonical_request.find("\nhost:127.0.0.1:4569\n"), std::string::npos)
        << parts.canonical_request;
}

TEST(Sigv4Test, S3RulesSignThePathAsSent) {
    signing_params p = suite_params(vectors_dir);
    p.service = "s3";
    p.normalize_path = false;
    p.double_uri_encode = false;
    p.payload_hash = std::string(muster::aws::unsigned_payload);
    p.content_sha256_header = true;
    muster::http::request r;
    r.url = "https://b.s3.amazonaws.com/a//b/../c%20d";
    const auto parts = muster::aws::sign(r, p);
    EXPECT_TRUE(parts.canonical_request.starts_with("GET\n/a//b/../c%20d\n\n"))
        << parts.canonical_request;
    EXPECT_TRUE(parts.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
    EXPECT_EQ(r.headers.get("X-Amz-Content-Sha256"), "UNSIGNED-PAYLOAD");
}

TEST(Sigv4Test, OtherServicesNormaliseAndEncodeThePathTwice) {
    muster::http::request r;
    r.url = "https://example.amazonaws.com/a//b/../c%20d";
    const auto parts = muster::aws::sign(r, suite_params(vectors_dir));
    EXPECT_TRUE(parts.canonical_request.starts_with("GET\n/a/c%2520d\n\n"))
        << parts.canonical_request;
}

TEST(Sigv4Test, QueryIsDecodedEncodedAndSorted) {
    muster::http::request r;
    r.url = "https://example.amazonaws.com/?b=2&a=x+y&a=%41&c&d=%2f";
    const auto parts = muster::aws::sign(r, suite_params(vectors_dir));
    EXPECT_NE(parts.canonical_request.find("\na=A&a=x%2By&b=2&c=&d=%2F\n"), std::string::npos)
        << parts.canonical_request;
}

TEST(Sigv4Test, UriEncodeKeepsOnlyUnreservedBytes) {
    EXPECT_EQ(muster::aws::uri_encode("a-Z_0.~ /+*é", false), "a-Z_0.~%20%2F%2B%2A%C3%A9");
    EXPECT_EQ(muster::aws::uri_encode("photos/2024/a b.jpg", true), "photos/2024/a%20b.jpg");
}

TEST(Sigv4Test, Sha256OfNothing) {
    EXPECT_EQ(muster::aws::sha256_hex(""),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sigv4Test, PresignRejectsAnExpiryBeyondSevenDays) {
    EXPECT_THROW(muster::aws::presign("GET", "https://example.amazonaws.com/",
                                      suite_params(vectors_dir), std::chrono::hours(24 * 8)),
                 std::invalid_argument);
}

}  // namespace

}  // namespace sigv4_test
