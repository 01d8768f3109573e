// muster's signer against AWS's own JavaScript signer (@smithy/signature-v4
// from npm) on generated requests: paths and queries with reserved,
// unicode and space characters, dot segments, repeated query names, padded
// header values, session tokens, S3's and other services' rules.

#include <muster/aws/sigv4.hpp>

#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "aws_test_support.hpp"

namespace sigv4_js_test {

namespace {

namespace json = boost::json;

std::string run_signer(std::size_t count) {
    const std::string link = muster_test::peer_link(
        muster_test::peers_dir, muster_test::aws_scripts + "/sign_with_smithy.mjs");
    const std::string command =
        "node --preserve-symlinks-main " + link + " " + std::to_string(count);
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        ::pclose(p);
    }
    std::error_code ec;
    std::filesystem::remove(link, ec);
    return out;
}

TEST(Sigv4JsTest, AgreesWithAwsJavaScriptSigner) {
    if (!muster_test::peers_installed("@smithy/signature-v4"))
        GTEST_SKIP() << "@smithy/signature-v4 is not installed in " << muster_test::peers_dir;
    muster_test::clear_aws_environment();
    const std::string out = run_signer(300);
    ASSERT_FALSE(out.empty());
    const json::object doc = json::parse(out).as_object();
    const auto& creds = doc.at("credentials").as_object();
    std::size_t presigned = 0;
    for (const auto& v : doc.at("cases").as_array()) {
        const auto& c = v.as_object();
        const std::string service(c.at("service").as_string());
        muster::aws::signing_params p;
        p.credentials.access_key_id = creds.at("accessKeyId").as_string();
        p.credentials.secret_access_key = creds.at("secretAccessKey").as_string();
        p.credentials.session_token = c.at("session").as_string();
        p.region = c.at("region").as_string();
        p.service = service;
        p.time = std::chrono::system_clock::time_point(std::chrono::seconds(1715933350));
        if (service == "s3") {
            p.normalize_path = false;
            p.double_uri_encode = false;
            p.content_sha256_header = true;
        }
        muster::http::request r;
        r.method = c.at("method").as_string();
        r.url = c.at("url").as_string();
        for (const auto& h : c.at("headers").as_array())
            r.headers.add(h.as_array()[0].as_string(), h.as_array()[1].as_string());
        r.body = c.at("body").as_string();
        SCOPED_TRACE(std::string(r.method) + " " + r.url);
        const auto parts = muster::aws::sign(r, p);
        EXPECT_EQ(parts.authorization, c.at("authorization").as_string())
            << parts.canonical_request;

        if (const auto* expected = c.if_contains("presigned_signature")) {
            if (service == "s3") p.payload_hash = std::string(muster::aws::unsigned_payload);
            const std::string url =
                muster::aws::presign(r.method, r.url, p, std::chrono::seconds(3600));
            EXPECT_EQ(url.substr(url.find("X-Amz-Signature=") + 16), expected->as_string()) << url;
            ++presigned;
        }
    }
    EXPECT_GT(presigned, 50u);
}

}  // namespace

}  // namespace sigv4_js_test
