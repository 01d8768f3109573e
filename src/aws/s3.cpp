#include <muster/aws/s3.hpp>

#include <cctype>
#include <charconv>
#include <utility>

#include <boost/asio/ip/address.hpp>

#include <muster/aws/sigv4.hpp>
#include <muster/http/url.hpp>

#include "detail.hpp"

namespace muster::aws {

namespace asio = boost::asio;

struct s3::state {
    http::client client;
    aws::config cfg;
    http::url base;
    bool path_style = false;
};

namespace {

using state_ptr = std::shared_ptr<const s3::state>;

/// A bucket name that can be a DNS label of its own under the S3 host:
/// lower case letters, digits and hyphens (dots would break TLS's wildcard
/// certificate), 3 to 63 characters, starting and ending with a letter or
/// digit.
bool host_compatible(std::string_view bucket) noexcept {
    if (bucket.size() < 3 || bucket.size() > 63) return false;
    for (char c : bucket) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return bucket.front() != '-' && bucket.back() != '-';
}

bool is_ip(std::string_view host) {
    boost::system::error_code ec;
    asio::ip::make_address(std::string(host), ec);
    return !ec;
}

std::string status_code_name(int status) {
    switch (status) {
        case 301:
            return "PermanentRedirect";
        case 304:
            return "NotModified";
        case 400:
            return "BadRequest";
        case 403:
            return "Forbidden";
        case 404:
            return "NotFound";
        case 405:
            return "MethodNotAllowed";
        case 409:
            return "Conflict";
        case 412:
            return "PreconditionFailed";
        case 416:
            return "InvalidRange";
        case 500:
            return "InternalError";
        case 503:
            return "ServiceUnavailable";
        default:
            return "HTTP" + std::to_string(status);
    }
}

aws::error s3_error(const http::response& r) {
    std::string code = detail::xml_text(r.body, "Code");
    std::string message = detail::xml_text(r.body, "Message");
    std::string request_id(r.headers.get("x-amz-request-id").value_or(""));
    if (request_id.empty()) request_id = detail::xml_text(r.body, "RequestId");
    if (code.empty()) code = status_code_name(r.status);
    if (message.empty() && r.body.empty()) message = r.reason;
    return aws::error("s3", r.status, std::move(code), std::move(message), std::move(request_id));
}

signing_params params_of(const s3::state& st) {
    signing_params p;
    p.credentials = st.cfg.credentials;
    p.region = st.cfg.region;
    p.service = "s3";
    p.normalize_path = false;
    p.double_uri_encode = false;
    p.content_sha256_header = true;
    return p;
}

std::string url_of(const s3::state& st, std::string_view bucket, std::string_view key) {
    const std::string path = uri_encode(key, true);
    const bool path_style = st.path_style || !host_compatible(bucket);
    std::string out = st.base.scheme + "://";
    if (path_style) {
        out += st.base.host_header() + "/" + std::string(bucket);
    } else {
        out += std::string(bucket) + "." + st.base.host_header();
    }
    out += "/" + path;
    return out;
}

object object_of(http::response r) {
    object o;
    o.body = std::move(r.body);
    o.content_type = r.headers.get("Content-Type").value_or("");
    if (auto len = r.headers.get("Content-Length")) {
        std::from_chars(len->data(), len->data() + len->size(), o.content_length);
    } else {
        o.content_length = o.body.size();
    }
    o.etag = r.headers.get("ETag").value_or("");
    o.last_modified = r.headers.get("Last-Modified").value_or("");
    o.version_id = r.headers.get("x-amz-version-id").value_or("");
    constexpr std::string_view prefix = "x-amz-meta-";
    for (const auto& [name, value] : r.headers) {
        if (name.size() > prefix.size() && http::iequals(name.substr(0, prefix.size()), prefix)) {
            std::string n = name.substr(prefix.size());
            for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            o.metadata.emplace_back(std::move(n), value);
        }
    }
    o.headers = std::move(r.headers);
    return o;
}

detail::call call_of(const s3::state& st, std::string method, std::string_view bucket,
                     std::string_view key) {
    detail::call c;
    c.request.method = std::move(method);
    c.request.url = url_of(st, bucket, key);
    c.params = params_of(st);
    c.parse = &s3_error;
    return c;
}

asio::awaitable<put_result> put(state_ptr st, std::string bucket, std::string key, std::string body,
                                put_options o) {
    detail::call c = call_of(*st, "PUT", bucket, key);
    c.request.headers = std::move(o.headers);
    c.request.headers.set("Content-Type", o.content_type.empty()
                                              ? std::string_view("application/octet-stream")
                                              : o.content_type.view());
    for (const auto& [name, value] : o.metadata) c.request.headers.set("x-amz-meta-" + name, value);
    c.request.body = std::move(body);
    auto sending = detail::send(st->client, st->cfg.retry, std::move(c));
    http::response r = co_await std::move(sending);
    put_result out;
    out.etag = r.headers.get("ETag").value_or("");
    out.version_id = r.headers.get("x-amz-version-id").value_or("");
    co_return out;
}

asio::awaitable<object> get(state_ptr st, std::string method, std::string bucket, std::string key,
                            http::body_sink sink) {
    detail::call c = call_of(*st, std::move(method), bucket, key);
    c.sink = std::move(sink);
    auto sending = detail::send(st->client, st->cfg.retry, std::move(c));
    http::response r = co_await std::move(sending);
    co_return object_of(std::move(r));
}

asio::awaitable<void> remove(state_ptr st, std::string bucket, std::string key) {
    detail::call c = call_of(*st, "DELETE", bucket, key);
    auto sending = detail::send(st->client, st->cfg.retry, std::move(c));
    co_await std::move(sending);
}

}  // namespace

s3::s3(http::client client, aws::config cfg) {
    auto st = std::make_shared<state>(state{std::move(client), std::move(cfg), {}, false});
    st->base = http::url::parse(st->cfg.endpoint_for("s3"));
    st->path_style =
        st->cfg.s3_force_path_style || st->cfg.has_endpoint_override("s3") || is_ip(st->base.host);
    state_ = std::move(st);
}

asio::awaitable<put_result> s3::put_object(std::string bucket, std::string key, std::string body,
                                           put_options o) const {
    return put(state_, std::move(bucket), std::move(key), std::move(body), std::move(o));
}

asio::awaitable<object> s3::get_object(std::string bucket, std::string key) const {
    return get(state_, "GET", std::move(bucket), std::move(key), {});
}

asio::awaitable<object> s3::get_object(std::string bucket, std::string key,
                                       http::body_sink sink) const {
    return get(state_, "GET", std::move(bucket), std::move(key), std::move(sink));
}

asio::awaitable<object> s3::head_object(std::string bucket, std::string key) const {
    return get(state_, "HEAD", std::move(bucket), std::move(key), {});
}

asio::awaitable<void> s3::delete_object(std::string bucket, std::string key) const {
    return remove(state_, std::move(bucket), std::move(key));
}

std::string s3::presigned_get_url(std::string_view bucket, std::string_view key,
                                  std::chrono::seconds expires) const {
    signing_params p = params_of(*state_);
    p.payload_hash = std::string(unsigned_payload);
    p.time = std::chrono::system_clock::now();
    return presign("GET", url_of(*state_, bucket, key), p, expires);
}

std::string s3::presigned_put_url(std::string_view bucket, std::string_view key,
                                  std::chrono::seconds expires) const {
    signing_params p = params_of(*state_);
    p.payload_hash = std::string(unsigned_payload);
    p.time = std::chrono::system_clock::now();
    return presign("PUT", url_of(*state_, bucket, key), p, expires);
}

std::string s3::object_url(std::string_view bucket, std::string_view key) const {
    return url_of(*state_, bucket, key);
}

const aws::config& s3::config() const noexcept { return state_->cfg; }

}  // namespace muster::aws
