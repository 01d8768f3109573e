// AWS_LAMBDA_RUNTIME_API in the shapes real platforms and emulators use.
#include "runtime_api.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

namespace endpoint_test {

namespace {

using muster::lambda::detail::encode_path_segment;
using muster::lambda::detail::parse_endpoint;

TEST(EndpointTest, HostAndPort) {
    const auto ep = parse_endpoint("127.0.0.1:9001");
    EXPECT_EQ(ep.host, "127.0.0.1");
    EXPECT_EQ(ep.port, "9001");
    EXPECT_EQ(ep.target("/2018-06-01/runtime/invocation/next"), "/2018-06-01/runtime/invocation/next");
}

TEST(EndpointTest, SchemeAndPathPrefixWithTrailingSlash) {
    const auto ep = parse_endpoint("http://localhost:9001/proxy/lambda/");
    EXPECT_EQ(ep.host, "localhost");
    EXPECT_EQ(ep.port, "9001");
    EXPECT_EQ(ep.target("/2018-06-01/x"), "/proxy/lambda/2018-06-01/x");
}

TEST(EndpointTest, BracketedIpv6AndDefaultPort) {
    const auto v6 = parse_endpoint("[::1]:9001");
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, "9001");
    EXPECT_EQ(parse_endpoint("http://runtime").port, "80");
}

TEST(EndpointTest, RejectsWhatCannotBeReached) {
    for (const char* bad : {"", "https://127.0.0.1:9001", ":9001", "host:abc", "host:99999",
                            "[::1:9001"}) {
        EXPECT_THROW(parse_endpoint(bad), std::invalid_argument) << bad;
    }
}

TEST(EndpointTest, RequestIdsAreEncodedAsPathSegments) {
    EXPECT_EQ(encode_path_segment("8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
              "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    EXPECT_EQ(encode_path_segment("a/b c"), "a%2Fb%20c");
}

}  // namespace

}  // namespace endpoint_test
