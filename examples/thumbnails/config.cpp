#include "config.hpp"

#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <utility>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <muster/http/error.hpp>
#include <muster/http/url.hpp>

namespace thumbnails {

std::string_view to_string(output_format f) noexcept {
    switch (f) {
        case output_format::jpeg:
            return "jpeg";
        case output_format::webp:
            return "webp";
        case output_format::png:
            return "png";
    }
    return "jpeg";
}

std::string_view to_string(thumbnail_store_kind k) noexcept {
    return k == thumbnail_store_kind::s3 ? "s3" : "directory";
}

std::string_view to_string(metadata_store_kind k) noexcept {
    return k == metadata_store_kind::dynamodb ? "dynamodb" : "sqlite";
}

std::string_view extension(output_format f) noexcept {
    return f == output_format::jpeg ? "jpg" : to_string(f);
}

std::string_view content_type(output_format f) noexcept {
    switch (f) {
        case output_format::jpeg:
            return "image/jpeg";
        case output_format::webp:
            return "image/webp";
        case output_format::png:
            return "image/png";
    }
    return "image/jpeg";
}

std::string_view to_string(decoder_mode m) noexcept {
    return m == decoder_mode::threads ? "threads" : "processes";
}

environment process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (!v || !*v) return std::nullopt;
        return std::string(v);
    };
}

namespace {

[[noreturn]] void reject(std::string_view name, std::string_view accepts, std::string_view got) {
    throw std::invalid_argument(std::string(name) + " must be " + std::string(accepts) +
                                ", got '" + std::string(got) + "'");
}

/// One of `choices` by name, `fallback` when unset; `accepts` says what may be given.
template <class T>
T read_choice(const environment& env, std::string_view name, T fallback,
              std::initializer_list<std::pair<std::string_view, T>> choices,
              std::string_view accepts) {
    const auto text = env(name);
    if (!text) return fallback;
    for (const auto& [spelling, value] : choices) {
        if (*text == spelling) return value;
    }
    reject(name, accepts, *text);
}

std::uint64_t read_number(const environment& env, std::string_view name, std::uint64_t fallback,
                          std::uint64_t min, std::uint64_t max) {
    const auto text = env(name);
    if (!text) return fallback;
    std::uint64_t n = 0;
    const char* end = text->data() + text->size();
    const auto [p, ec] = std::from_chars(text->data(), end, n);
    if (ec != std::errc{} || p != end || n < min || n > max) {
        reject(name, "an integer from " + std::to_string(min) + " to " + std::to_string(max),
               *text);
    }
    return n;
}

/// An absolute http(s) URL without a trailing slash.
std::string read_base_url(const environment& env, std::string_view name, std::string fallback) {
    auto text = env(name);
    if (!text) return fallback;
    try {
        (void)muster::http::url::parse(*text);
    } catch (const muster::http::error&) {
        reject(name, "an absolute http:// or https:// URL", *text);
    }
    while (!text->empty() && text->back() == '/') text->pop_back();
    return *text;
}

}  // namespace

config read_config(const environment& env) {
    config c;
    if (auto dir = env("THUMBNAILS_OUTPUT_DIR")) {
        if (dir->front() != '/') reject("THUMBNAILS_OUTPUT_DIR", "an absolute path", *dir);
        c.output_dir = *dir;
        while (c.output_dir.size() > 1 && c.output_dir.back() == '/') c.output_dir.pop_back();
    }
    c.db_path = env("THUMBNAILS_DB").value_or(c.output_dir + "/thumbnails.db");
    c.fetch_limit = read_number(env, "THUMBNAILS_FETCH_LIMIT", c.fetch_limit, 1, 1000);
    c.fetch_timeout = std::chrono::milliseconds(read_number(
        env, "THUMBNAILS_FETCH_TIMEOUT_MS", c.fetch_timeout.count(), 1, 900'000));
    c.max_bytes = read_number(env, "THUMBNAILS_MAX_BYTES", c.max_bytes, 1, std::uint64_t{1} << 30);
    c.max_pixels = read_number(env, "THUMBNAILS_MAX_PIXELS", c.max_pixels, 1,
                               std::uint64_t{1} << 40);
    c.size = static_cast<int>(read_number(env, "THUMBNAILS_SIZE", c.size, 16, 4096));
    c.format = read_choice(env, "THUMBNAILS_FORMAT", c.format,
                           {{"jpeg", output_format::jpeg},
                            {"jpg", output_format::jpeg},
                            {"webp", output_format::webp},
                            {"png", output_format::png}},
                           "jpeg, webp or png");
    c.decoder = read_choice(env, "THUMBNAILS_DECODER", c.decoder,
                            {{"threads", decoder_mode::threads},
                             {"processes", decoder_mode::processes}},
                            "threads or processes");
    // Path-style addressing of the function's region, which serves public
    // objects without signing; a private bucket needs THUMBNAILS_S3_SOURCES=signed.
    const auto region = env("AWS_REGION");
    c.s3_base_url = read_base_url(
        env, "THUMBNAILS_S3_BASE_URL",
        region ? "https://s3." + *region + ".amazonaws.com" : "https://s3.amazonaws.com");
    c.sign_s3_sources = read_choice(env, "THUMBNAILS_S3_SOURCES", c.sign_s3_sources,
                                    {{"url", false}, {"signed", true}}, "url or signed");
    c.commit_reserve = std::chrono::milliseconds(read_number(
        env, "THUMBNAILS_COMMIT_RESERVE_MS", c.commit_reserve.count(), 0, 60'000));
    c.crash_on_marker = env("THUMBNAILS_CRASH_ON_MARKER").value_or("");
    c.thumbnail_store = read_choice(env, "THUMBNAILS_THUMBNAIL_STORE", c.thumbnail_store,
                                    {{"directory", thumbnail_store_kind::directory},
                                     {"s3", thumbnail_store_kind::s3}},
                                    "directory or s3");
    c.bucket = env("THUMBNAILS_BUCKET").value_or("");
    if (c.thumbnail_store == thumbnail_store_kind::s3 && c.bucket.empty()) {
        reject("THUMBNAILS_BUCKET", "a bucket name when THUMBNAILS_THUMBNAIL_STORE is s3", "");
    }
    if (auto p = env("THUMBNAILS_THUMBNAIL_PREFIX")) {
        if (p->front() == '/') {
            reject("THUMBNAILS_THUMBNAIL_PREFIX", "a key prefix not starting with /", *p);
        }
        c.thumbnail_prefix = *p;
    }
    c.metadata_store = read_choice(env, "THUMBNAILS_METADATA_STORE", c.metadata_store,
                                   {{"sqlite", metadata_store_kind::sqlite},
                                    {"dynamodb", metadata_store_kind::dynamodb}},
                                   "sqlite or dynamodb");
    c.table = env("THUMBNAILS_TABLE").value_or("");
    if (c.metadata_store == metadata_store_kind::dynamodb && c.table.empty()) {
        reject("THUMBNAILS_TABLE", "a table name when THUMBNAILS_METADATA_STORE is dynamodb", "");
    }
    return c;
}

std::string describe(const config& c) {
    boost::json::object o{
        {"output_dir", c.output_dir},
        {"db", c.db_path},
        {"fetch_limit", c.fetch_limit},
        {"fetch_timeout_ms", c.fetch_timeout.count()},
        {"max_bytes", c.max_bytes},
        {"max_pixels", c.max_pixels},
        {"size", c.size},
        {"format", to_string(c.format)},
        {"decoder", to_string(c.decoder)},
        {"s3_base_url", c.s3_base_url},
        {"s3_sources", c.sign_s3_sources ? "signed" : "url"},
        {"commit_reserve_ms", c.commit_reserve.count()},
        {"crash_on_marker", !c.crash_on_marker.empty()},
        {"thumbnail_store", to_string(c.thumbnail_store)},
        {"metadata_store", to_string(c.metadata_store)},
        {"bucket", c.bucket},
        {"thumbnail_prefix", c.thumbnail_prefix},
        {"table", c.table},
    };
    return boost::json::serialize(o);
}

}  // namespace thumbnails
