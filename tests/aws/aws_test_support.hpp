#pragma once

// What the S3 and DynamoDB tests share: the installed npm peers, a config
// that points at a local stand-in with dummy credentials, and a temporary
// directory.

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include <muster/aws/config.hpp>

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
