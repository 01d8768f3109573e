#pragma once

// What the S3 and DynamoDB tests share: the installed npm peers, a config
// that points at a local stand-in with dummy credentials, a DynamoDB table
// ready for items, and a temporary directory.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <muster/aws/config.hpp>
#include <muster/aws/dynamodb.hpp>
#include <muster/core/sleep.hpp>

#include "node_peer.hpp"

namespace muster_test {

inline const std::string peers_dir = MUSTER_TEST_PEERS_DIR;
inline const std::string aws_scripts = MUSTER_TEST_AWS_PEERS;

inline bool peers_installed(const std::string& package) {
    return std::filesystem::exists(peers_dir + "/node_modules/" + package + "/package.json");
}

/// Dummy credentials and every endpoint at `url`; nothing can reach AWS.
inline muster::aws::config local_config(const std::string& url, std::string key = "S3RVER",
                                        std::string secret = "S3RVER") {
    muster::aws::config c;
    c.credentials.access_key_id = std::move(key);
    c.credentials.secret_access_key = std::move(secret);
    c.region = "us-east-1";
    c.endpoint = url;
    return c;
}

/// Creates a pay-per-request table keyed by the string attribute `key` and
/// waits until it is ACTIVE, as a DynamoDB client must: dynalite, like
/// DynamoDB, answers CreateTable with the table CREATING and refuses item
/// calls on it (ResourceNotFoundException) until then, a turn of its event
/// loop later, which a fast client beats.
inline boost::asio::awaitable<void> create_table(muster::aws::dynamodb ddb, std::string name,
                                                 std::string key) {
    boost::json::object request{
        {"TableName", name},
        {"AttributeDefinitions",
         boost::json::array{boost::json::object{{"AttributeName", key}, {"AttributeType", "S"}}}},
        {"KeySchema",
         boost::json::array{boost::json::object{{"AttributeName", key}, {"KeyType", "HASH"}}}},
        {"BillingMode", "PAY_PER_REQUEST"}};
    auto creating = ddb.call("CreateTable", std::move(request));
    co_await std::move(creating);
    for (int polls = 0; polls < 1000; ++polls) {
        boost::json::object describe{{"TableName", name}};
        auto describing = ddb.call("DescribeTable", std::move(describe));
        const boost::json::object table = co_await std::move(describing);
        if (table.at("Table").at("TableStatus").as_string() == "ACTIVE") co_return;
        co_await muster::sleep_for(std::chrono::milliseconds(5));
    }
    throw std::runtime_error("table " + name + " is still not ACTIVE after 5 s");
}

class temp_dir {
  public:
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "muster-aws-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

}  // namespace muster_test
