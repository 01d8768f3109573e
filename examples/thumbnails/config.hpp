/// @file
/// The thumbnail function's configuration, read from the environment once per
/// process. Every setting has a default; a value that is set but makes no sense
/// is an error naming the variable, which the function reports as an init
/// error.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace thumbnails {

/// The encoding thumbnails are written in (`THUMBNAILS_FORMAT`).
enum class output_format : std::uint8_t { jpeg, webp, png };

/// `"jpeg"`, `"webp"`, `"png"`.
std::string_view to_string(output_format f) noexcept;
/// The file name extension, without the dot: `"jpg"`, `"webp"`, `"png"`.
std::string_view extension(output_format f) noexcept;
/// `"image/jpeg"`, `"image/webp"`, `"image/png"`.
std::string_view content_type(output_format f) noexcept;

/// Where images are decoded (`THUMBNAILS_DECODER`).
enum class decoder_mode : std::uint8_t {
    threads,   ///< On the CPU pool (`muster::offload`): fastest.
    processes  ///< In a `muster::process_pool`: a crashing decoder fails one record only.
};

std::string_view to_string(decoder_mode m) noexcept;

/// Where thumbnails go (`THUMBNAILS_THUMBNAIL_STORE`).
enum class thumbnail_store_kind : std::uint8_t {
    directory,  ///< Files under `output_dir/thumbs` (`directory_store`).
    s3          ///< Objects of `bucket` under `thumbnail_prefix` (`s3_store`).
};

/// Where metadata goes (`THUMBNAILS_METADATA_STORE`).
enum class metadata_store_kind : std::uint8_t {
    sqlite,   ///< The SQLite file `db_path` (`sqlite_store`).
    dynamodb  ///< Items of the DynamoDB table `table` (`dynamodb_store`).
};

std::string_view to_string(thumbnail_store_kind k) noexcept;
std::string_view to_string(metadata_store_kind k) noexcept;

/// Every setting of the function. See README.md for what each one does.
struct config {
    std::string output_dir = "/tmp/thumbnails";       ///< THUMBNAILS_OUTPUT_DIR
    std::string db_path;                              ///< THUMBNAILS_DB (output_dir/thumbnails.db)
    std::size_t fetch_limit = 16;                     ///< THUMBNAILS_FETCH_LIMIT
    std::chrono::milliseconds fetch_timeout{10'000};  ///< THUMBNAILS_FETCH_TIMEOUT_MS
    std::size_t max_bytes = std::size_t{20} << 20;    ///< THUMBNAILS_MAX_BYTES
    std::uint64_t max_pixels = 50'000'000;            ///< THUMBNAILS_MAX_PIXELS
    int size = 256;                                   ///< THUMBNAILS_SIZE (longest edge)
    output_format format = output_format::jpeg;       ///< THUMBNAILS_FORMAT
    decoder_mode decoder = decoder_mode::threads;     ///< THUMBNAILS_DECODER
    std::string s3_base_url;                          ///< THUMBNAILS_S3_BASE_URL
    /// THUMBNAILS_S3_SOURCES=signed: S3 notifications' objects are read with the function's
    /// AWS credentials (a presigned GET per object) instead of from `s3_base_url`.
    bool sign_s3_sources = false;
    std::chrono::milliseconds commit_reserve{500};    ///< THUMBNAILS_COMMIT_RESERVE_MS
    std::string crash_on_marker;                      ///< THUMBNAILS_CRASH_ON_MARKER (empty: off)
    thumbnail_store_kind thumbnail_store = thumbnail_store_kind::directory;  ///< THUMBNAILS_THUMBNAIL_STORE
    std::string bucket;                               ///< THUMBNAILS_BUCKET (required for s3)
    std::string thumbnail_prefix = "thumbnails/";     ///< THUMBNAILS_THUMBNAIL_PREFIX
    metadata_store_kind metadata_store = metadata_store_kind::sqlite;  ///< THUMBNAILS_METADATA_STORE
    std::string table;                                ///< THUMBNAILS_TABLE (required for dynamodb)

    /// True when a store is on AWS: the function then needs AWS credentials
    /// (`AWS_ACCESS_KEY_ID`...), as Lambda provides them.
    bool uses_aws() const {
        return sign_s3_sources || thumbnail_store == thumbnail_store_kind::s3 ||
               metadata_store == metadata_store_kind::dynamodb;
    }

    /// The directory thumbnails are written to: `output_dir/thumbs`.
    std::string thumbnail_dir() const { return output_dir + "/thumbs"; }
};

/// Reads a variable; `std::nullopt` when unset. An empty value counts as unset.
using environment = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment (`std::getenv`).
environment process_environment();

/// Builds the configuration from `env`.
///
/// Errors: `std::invalid_argument` naming the first variable whose value is not
/// acceptable, what it accepts and what it got, e.g. `THUMBNAILS_SIZE must be
/// an integer from 16 to 4096, got '0'`.
config read_config(const environment& env);

/// One line describing `c`, for the log at start-up.
std::string describe(const config& c);

}  // namespace thumbnails
