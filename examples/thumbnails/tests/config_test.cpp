#include "config.hpp"

#include <map>
#include <stdexcept>

#include <gtest/gtest.h>

namespace thumbnails {
namespace config_test {
namespace {

environment env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        const auto it = vars.find(std::string(name));
        if (it == vars.end() || it->second.empty()) return std::nullopt;
        return it->second;
    };
}

std::string error_of(std::map<std::string, std::string> vars) {
    try {
        (void)read_config(env_of(std::move(vars)));
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "accepted";
}

TEST(ConfigTest, DefaultsNeedNoEnvironment) {
    const config c = read_config(env_of({}));
    EXPECT_EQ(c.output_dir, "/tmp/thumbnails");
    EXPECT_EQ(c.db_path, "/tmp/thumbnails/thumbnails.db");
    EXPECT_EQ(c.thumbnail_dir(), "/tmp/thumbnails/thumbs");
    EXPECT_EQ(c.fetch_limit, 16u);
    EXPECT_EQ(c.fetch_timeout, std::chrono::milliseconds(10'000));
    EXPECT_EQ(c.max_bytes, std::size_t{20} << 20);
    EXPECT_EQ(c.max_pixels, 50'000'000u);
    EXPECT_EQ(c.size, 256);
    EXPECT_EQ(c.format, output_format::jpeg);
    EXPECT_EQ(c.decoder, decoder_mode::threads);
    EXPECT_EQ(c.s3_base_url, "https://s3.amazonaws.com");
    EXPECT_EQ(c.commit_reserve, std::chrono::milliseconds(500));
    EXPECT_TRUE(c.crash_on_marker.empty());
    EXPECT_EQ(c.thumbnail_store, thumbnail_store_kind::directory);
    EXPECT_EQ(c.metadata_store, metadata_store_kind::sqlite);
    EXPECT_EQ(c.thumbnail_prefix, "thumbnails/");
    EXPECT_FALSE(c.uses_aws());
}

TEST(ConfigTest, EveryVariableIsRead) {
    const config c = read_config(env_of({{"THUMBNAILS_OUTPUT_DIR", "/data/out/"},
                                         {"THUMBNAILS_FETCH_LIMIT", "4"},
                                         {"THUMBNAILS_FETCH_TIMEOUT_MS", "750"},
                                         {"THUMBNAILS_MAX_BYTES", "1000"},
                                         {"THUMBNAILS_MAX_PIXELS", "640000"},
                                         {"THUMBNAILS_SIZE", "128"},
                                         {"THUMBNAILS_FORMAT", "webp"},
                                         {"THUMBNAILS_DECODER", "processes"},
                                         {"THUMBNAILS_S3_BASE_URL", "http://127.0.0.1:4569/"},
                                         {"THUMBNAILS_COMMIT_RESERVE_MS", "0"},
                                         {"THUMBNAILS_CRASH_ON_MARKER", "POISON"},
                                         {"THUMBNAILS_THUMBNAIL_STORE", "s3"},
                                         {"THUMBNAILS_BUCKET", "thumbs-bucket"},
                                         {"THUMBNAILS_THUMBNAIL_PREFIX", "small/"},
                                         {"THUMBNAILS_METADATA_STORE", "dynamodb"},
                                         {"THUMBNAILS_TABLE", "thumbs-table"},
                                         {"THUMBNAILS_S3_SOURCES", "signed"}}));
    EXPECT_EQ(c.output_dir, "/data/out");
    EXPECT_EQ(c.db_path, "/data/out/thumbnails.db");
    EXPECT_EQ(c.fetch_limit, 4u);
    EXPECT_EQ(c.fetch_timeout, std::chrono::milliseconds(750));
    EXPECT_EQ(c.max_bytes, 1000u);
    EXPECT_EQ(c.max_pixels, 640000u);
    EXPECT_EQ(c.size, 128);
    EXPECT_EQ(c.format, output_format::webp);
    EXPECT_EQ(c.decoder, decoder_mode::processes);
    EXPECT_EQ(c.s3_base_url, "http://127.0.0.1:4569");
    EXPECT_EQ(c.commit_reserve, std::chrono::milliseconds(0));
    EXPECT_EQ(c.crash_on_marker, "POISON");
    EXPECT_EQ(c.thumbnail_store, thumbnail_store_kind::s3);
    EXPECT_EQ(c.bucket, "thumbs-bucket");
    EXPECT_EQ(c.thumbnail_prefix, "small/");
    EXPECT_EQ(c.metadata_store, metadata_store_kind::dynamodb);
    EXPECT_EQ(c.table, "thumbs-table");
    EXPECT_TRUE(c.sign_s3_sources);
    EXPECT_TRUE(c.uses_aws());
}

TEST(ConfigTest, DatabaseCanLiveElsewhere) {
    EXPECT_EQ(read_config(env_of({{"THUMBNAILS_DB", "/var/db/t.db"}})).db_path, "/var/db/t.db");
}

TEST(ConfigTest, S3BaseFollowsTheRegion) {
    EXPECT_EQ(read_config(env_of({{"AWS_REGION", "eu-west-1"}})).s3_base_url,
              "https://s3.eu-west-1.amazonaws.com");
}

TEST(ConfigTest, BadValuesNameTheVariable) {
    EXPECT_EQ(error_of({{"THUMBNAILS_SIZE", "0"}}),
              "THUMBNAILS_SIZE must be an integer from 16 to 4096, got '0'");
    EXPECT_EQ(error_of({{"THUMBNAILS_FETCH_LIMIT", "lots"}}),
              "THUMBNAILS_FETCH_LIMIT must be an integer from 1 to 1000, got 'lots'");
    EXPECT_EQ(error_of({{"THUMBNAILS_FETCH_TIMEOUT_MS", "-5"}}),
              "THUMBNAILS_FETCH_TIMEOUT_MS must be an integer from 1 to 900000, got '-5'");
    EXPECT_EQ(error_of({{"THUMBNAILS_MAX_BYTES", "12 MB"}}),
              "THUMBNAILS_MAX_BYTES must be an integer from 1 to 1073741824, got '12 MB'");
    EXPECT_EQ(error_of({{"THUMBNAILS_FORMAT", "gif"}}),
              "THUMBNAILS_FORMAT must be jpeg, webp or png, got 'gif'");
    EXPECT_EQ(error_of({{"THUMBNAILS_DECODER", "gpu"}}),
              "THUMBNAILS_DECODER must be threads or processes, got 'gpu'");
    EXPECT_EQ(error_of({{"THUMBNAILS_OUTPUT_DIR", "out"}}),
              "THUMBNAILS_OUTPUT_DIR must be an absolute path, got 'out'");
    EXPECT_EQ(error_of({{"THUMBNAILS_S3_BASE_URL", "s3://bucket"}}),
              "THUMBNAILS_S3_BASE_URL must be an absolute http:// or https:// URL, got "
              "'s3://bucket'");
    EXPECT_EQ(error_of({{"THUMBNAILS_COMMIT_RESERVE_MS", "99999999"}}),
              "THUMBNAILS_COMMIT_RESERVE_MS must be an integer from 0 to 60000, got '99999999'");
    EXPECT_EQ(error_of({{"THUMBNAILS_THUMBNAIL_STORE", "ftp"}}),
              "THUMBNAILS_THUMBNAIL_STORE must be directory or s3, got 'ftp'");
    EXPECT_EQ(error_of({{"THUMBNAILS_METADATA_STORE", "postgres"}}),
              "THUMBNAILS_METADATA_STORE must be sqlite or dynamodb, got 'postgres'");
    EXPECT_EQ(error_of({{"THUMBNAILS_S3_SOURCES", "public"}}),
              "THUMBNAILS_S3_SOURCES must be url or signed, got 'public'");
    EXPECT_EQ(error_of({{"THUMBNAILS_THUMBNAIL_PREFIX", "/abs/"}}),
              "THUMBNAILS_THUMBNAIL_PREFIX must be a key prefix not starting with /, got '/abs/'");
}

TEST(ConfigTest, AnAwsStoreNeedsItsBucketOrTable) {
    EXPECT_EQ(error_of({{"THUMBNAILS_THUMBNAIL_STORE", "s3"}}),
              "THUMBNAILS_BUCKET must be a bucket name when THUMBNAILS_THUMBNAIL_STORE is s3, "
              "got ''");
    EXPECT_EQ(error_of({{"THUMBNAILS_METADATA_STORE", "dynamodb"}}),
              "THUMBNAILS_TABLE must be a table name when THUMBNAILS_METADATA_STORE is dynamodb, "
              "got ''");
    // One AWS store is enough to need AWS; the other may stay local.
    const config c = read_config(env_of({{"THUMBNAILS_METADATA_STORE", "dynamodb"},
                                         {"THUMBNAILS_TABLE", "t"}}));
    EXPECT_TRUE(c.uses_aws());
    EXPECT_EQ(c.thumbnail_store, thumbnail_store_kind::directory);
    EXPECT_TRUE(read_config(env_of({{"THUMBNAILS_S3_SOURCES", "signed"}})).uses_aws());
}

}  // namespace
}  // namespace config_test
}  // namespace thumbnails
