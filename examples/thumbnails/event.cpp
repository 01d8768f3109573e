#include "event.hpp"

#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include <muster/http/error.hpp>
#include <muster/http/url.hpp>
#include <muster/lambda/events/event_error.hpp>
#include <muster/lambda/events/s3.hpp>

#include "failure.hpp"

namespace thumbnails {

namespace json = boost::json;

namespace {

[[noreturn]] void malformed(const std::string& why) {
    throw record_error(reason::malformed_body, why);
}

/// At most `n` bytes of `text`, for quoting a bad body in a message.
std::string excerpt(std::string_view text, std::size_t n = 80) {
    if (text.size() <= n) return std::string(text);
    return std::string(text.substr(0, n)) + "...";
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t\r\n";
    const auto b = s.find_first_not_of(space);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(space) - b + 1);
}

std::string checked_url(std::string_view text) {
    try {
        (void)muster::http::url::parse(text);
    } catch (const muster::http::error&) {
        malformed("not an http(s) URL: " + excerpt(text));
    }
    return std::string(text);
}

record_plan from_s3(const json::value& v, std::string_view s3_base_url) {
    muster::lambda::s3_event e;
    try {
        e = json::value_to<muster::lambda::s3_event>(v);
    } catch (const muster::lambda::event_error& err) {
        malformed(std::string("S3 notification: ") + err.what());
    }
    record_plan plan;
    std::size_t skipped = 0;
    for (std::size_t i = 0; i < e.records.size(); ++i) {
        const auto& r = e.records[i];
        if (!r.event_name.starts_with("ObjectCreated:")) {
            ++skipped;
            continue;
        }
        std::string key;
        try {
            key = r.object.decoded_key();
        } catch (const std::invalid_argument& err) {
            malformed("S3 notification: Records[" + std::to_string(i) +
                      "].s3.object.key: " + err.what());
        }
        if (r.bucket.name.empty() || key.empty()) {
            malformed("S3 notification: Records[" + std::to_string(i) +
                      "] has an empty bucket name or key");
        }
        // "s3:/" + "/" + bucket + "/" + key: the object's s3:// URI.
        plan.urls.push_back(s3_base_url.empty()
                                ? s3_object_url("s3:/", r.bucket.name, key)
                                : checked_url(s3_object_url(s3_base_url, r.bucket.name, key)));
    }
    if (plan.urls.empty()) {
        plan.note = e.records.empty() ? "S3 notification with no records"
                                      : "S3 notification of " + std::to_string(skipped) +
                                            " event(s) other than ObjectCreated";
    }
    return plan;
}

record_plan from_json(const json::value& v, std::string_view s3_base_url, int depth) {
    if (const auto* s = v.if_string()) {
        return record_plan{{checked_url(trim(*s))}, {}};
    }
    const auto* o = v.if_object();
    if (!o) malformed("body is JSON but neither an object nor a string");
    if (const auto* url = o->if_contains("url")) {
        if (!url->is_string()) malformed("\"url\" must be a string");
        return record_plan{{checked_url(trim(url->get_string()))}, {}};
    }
    if (o->contains("Records")) return from_s3(v, s3_base_url);
    if (const auto* event = o->if_contains("Event");
        event && event->is_string() && event->get_string() == "s3:TestEvent") {
        return record_plan{{}, "s3:TestEvent"};
    }
    if (const auto* type = o->if_contains("Type");
        type && type->is_string() && type->get_string() == "Notification" && depth == 0) {
        const auto* message = o->if_contains("Message");
        if (!message || !message->is_string()) malformed("SNS notification without a Message");
        json::error_code ec;
        const json::value inner = json::parse(message->get_string(), ec);
        if (ec) return record_plan{{checked_url(trim(message->get_string()))}, {}};
        return from_json(inner, s3_base_url, depth + 1);
    }
    malformed("body is JSON but has no \"url\", S3 \"Records\" or s3:TestEvent");
}

}  // namespace

record_plan parse_body(std::string_view body, std::string_view s3_base_url) {
    const std::string_view text = trim(body);
    if (text.empty()) malformed("empty body");
    if (text.front() == '{' || text.front() == '"' || text.front() == '[') {
        json::error_code ec;
        const json::value v = json::parse(text, ec);
        if (ec) malformed("body is not valid JSON (" + ec.message() + "): " + excerpt(text));
        return from_json(v, s3_base_url, 0);
    }
    if (text.starts_with("http://") || text.starts_with("https://")) {
        return record_plan{{checked_url(text)}, {}};
    }
    malformed("body is neither a URL nor JSON: " + excerpt(text));
}

std::string s3_object_url(std::string_view base, std::string_view bucket, std::string_view key) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string url(base);
    url += '/';
    url += bucket;
    url += '/';
    for (const char ch : key) {
        const auto c = static_cast<unsigned char>(ch);
        const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                          c == '~' || c == '/';
        if (keep) {
            url += ch;
        } else {
            url += '%';
            url += hex[c >> 4];
            url += hex[c & 0xf];
        }
    }
    return url;
}

}  // namespace thumbnails
