#include <muster/aws/config.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "node_peer.hpp"

namespace config_test {

namespace {

class ConfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        muster_test::clear_aws_environment();
        ::setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
        ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    }
    void TearDown() override { muster_test::clear_aws_environment(); }
};

TEST_F(ConfigTest, ReadsLambdasCredentialsAndRegion) {
    ::setenv("AWS_SESSION_TOKEN", "token", 1);
    ::setenv("AWS_REGION", "eu-west-1", 1);
    ::setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    const auto c = muster::aws::config::from_env();
    EXPECT_EQ(c.credentials.access_key_id, "AKIDTEST");
    EXPECT_EQ(c.credentials.secret_access_key, "secret");
    EXPECT_EQ(c.credentials.session_token, "token");
    EXPECT_EQ(c.region, "eu-west-1");
    EXPECT_EQ(c.endpoint_for("s3"), "https://s3.eu-west-1.amazonaws.com");
    EXPECT_EQ(c.endpoint_for("dynamodb"), "https://dynamodb.eu-west-1.amazonaws.com");
    EXPECT_FALSE(c.has_endpoint_override("s3"));
}

TEST_F(ConfigTest, RegionFallsBackToTheDefaultRegionThenUsEast1) {
    ::setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    EXPECT_EQ(muster::aws::config::from_env().region, "us-west-2");
    ::unsetenv("AWS_DEFAULT_REGION");
    EXPECT_EQ(muster::aws::config::from_env().region, "us-east-1");
}

TEST_F(ConfigTest, ServiceEndpointOverridesWinOverTheGeneralOne) {
    ::setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/", 1);
    ::setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000", 1);
    const auto c = muster::aws::config::from_env();
    EXPECT_EQ(c.endpoint_for("s3"), "http://127.0.0.1:9000");
    EXPECT_EQ(c.endpoint_for("dynamodb"), "http://127.0.0.1:8000");
    EXPECT_TRUE(c.has_endpoint_override("s3"));
    ::setenv("AWS_ENDPOINT_URL_S3", "http://localhost:4569", 1);
    EXPECT_EQ(muster::aws::config::from_env().endpoint_for("s3"), "http://localhost:4569");
}

TEST_F(ConfigTest, ConfiguredEndpointsCanBeIgnored) {
    ::setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000", 1);
    ::setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    EXPECT_EQ(muster::aws::config::from_env().endpoint_for("s3"),
              "https://s3.us-east-1.amazonaws.com");
}

TEST_F(ConfigTest, MissingCredentialsNameTheVariable) {
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    try {
        muster::aws::config::from_env();
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
    }
}

TEST_F(ConfigTest, AnEndpointThatIsNotAUrlIsRejected) {
    ::setenv("AWS_ENDPOINT_URL_S3", "127.0.0.1:9000", 1);
    EXPECT_THROW(muster::aws::config::from_env(), std::invalid_argument);
}

TEST_F(ConfigTest, ALookupTakesThePlaceOfTheProcessEnvironment) {
    // The process environment (set up by the fixture) is not read at all.
    const std::map<std::string, std::string, std::less<>> vars{
        {"AWS_ACCESS_KEY_ID", "AKIDLOOKUP"},
        {"AWS_SECRET_ACCESS_KEY", "lookup-secret"},
        {"AWS_REGION", ""},  // empty counts as unset
        {"AWS_DEFAULT_REGION", "eu-west-1"},
        {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4567/"},
    };
    const auto c = muster::aws::config::from_env(
        [&](std::string_view name) -> std::optional<std::string> {
            const auto it = vars.find(name);
            if (it == vars.end()) return std::nullopt;
            return it->second;
        });
    EXPECT_EQ(c.credentials.access_key_id, "AKIDLOOKUP");
    EXPECT_EQ(c.credentials.secret_access_key, "lookup-secret");
    EXPECT_EQ(c.credentials.session_token, "");
    EXPECT_EQ(c.region, "eu-west-1");
    EXPECT_EQ(c.endpoint_for("dynamodb"), "http://127.0.0.1:4567");
    EXPECT_EQ(c.endpoint_for("s3"), "https://s3.eu-west-1.amazonaws.com");
    EXPECT_THROW(muster::aws::config::from_env(
                     [](std::string_view) -> std::optional<std::string> { return std::nullopt; }),
                 std::invalid_argument);
}

}  // namespace

}  // namespace config_test
