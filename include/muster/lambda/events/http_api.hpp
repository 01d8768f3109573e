/// @file
/// `http_api_request` / `http_api_response`: API Gateway HTTP API payload format 2.0, which is
/// also the format of Lambda function URLs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/conversion.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda/events/event_error.hpp>

namespace muster::lambda {

/// `requestContext.http`: the HTTP request as the client sent it. `method` is required.
struct http_api_request_http {
    std::string method;      ///< `method`, e.g. `POST`
    std::string path;        ///< `path`
    std::string protocol;    ///< `protocol`, e.g. `HTTP/1.1`
    std::string source_ip;   ///< `sourceIp`
    std::string user_agent;  ///< `userAgent`

    friend bool operator==(const http_api_request_http&, const http_api_request_http&) = default;
};

/// `requestContext`. Required: `http.method`.
struct http_api_request_context {
    std::string account_id;       ///< `accountId`
    std::string api_id;           ///< `apiId` (the URL id for function URLs)
    std::string domain_name;      ///< `domainName`
    std::string domain_prefix;    ///< `domainPrefix`
    http_api_request_http http;   ///< `http`
    std::string request_id;       ///< `requestId`
    std::string route_key;        ///< `routeKey`
    std::string stage;            ///< `stage`
    std::string time;             ///< `time`, e.g. `12/Mar/2020:19:03:58 +0000`
    std::int64_t time_epoch = 0;  ///< `timeEpoch`, milliseconds since the epoch
    /// `authorizer` (JWT claims, IAM, Lambda authorizer context) as sent; nullopt when absent.
    std::optional<boost::json::value> authorizer;
    /// `authentication` (mutual TLS client certificate) as sent; nullopt when absent.
    std::optional<boost::json::value> authentication;

    friend bool operator==(const http_api_request_context&,
                           const http_api_request_context&) = default;
};

/// An HTTP API (v2) or function URL request. Required: `rawPath` and `requestContext.http.
/// method`. Header names arrive lower-case; repeated headers and query parameters arrive
/// joined with commas; cookies come separately in `cookies`.
///
/// @code
/// auto req = boost::json::value_to<muster::lambda::http_api_request>(payload);
/// if (req.request_context.http.method == "POST") store(req.decoded_body());
/// @endcode
struct http_api_request {
    std::string version;               ///< `version` (`2.0`)
    std::string route_key;             ///< `routeKey`, e.g. `POST /items` or `$default`
    std::string raw_path;              ///< `rawPath`
    std::string raw_query_string;      ///< `rawQueryString`, without `?`
    std::vector<std::string> cookies;  ///< `cookies`, one `name=value` each
    std::map<std::string, std::string, std::less<>> headers;  ///< `headers`
    std::map<std::string, std::string, std::less<>> query_string_parameters;
    std::map<std::string, std::string, std::less<>> path_parameters;  ///< `pathParameters`
    std::map<std::string, std::string, std::less<>> stage_variables;  ///< `stageVariables`
    http_api_request_context request_context;                         ///< `requestContext`
    std::optional<std::string> body;  ///< `body`, as sent (maybe base64)
    bool is_base64_encoded = false;   ///< `isBase64Encoded`

    /// The body's bytes: `body` base64-decoded when `is_base64_encoded`, else `body` itself;
    /// empty when there is no body. Errors: `std::invalid_argument` for invalid base64.
    std::string decoded_body() const;
    /// A header by its lower-case name, or nullopt.
    std::optional<std::string_view> header(std::string_view lower_case_name) const;

    friend bool operator==(const http_api_request&, const http_api_request&) = default;
};

/// What a function returns to an HTTP API (format 2.0) or a function URL. Each cookie becomes a
/// `set-cookie` header. Binary bodies go base64 with `is_base64_encoded`; `set_binary_body`
/// does both.
///
/// @code
/// muster::lambda::http_api_response res;
/// res.status_code = 201;
/// res.headers["content-type"] = "application/json";
/// res.body = R"({"id":42})";
/// co_return boost::json::value_from(res);
/// @endcode
struct http_api_response {
    int status_code = 200;                                    ///< `statusCode` (required)
    std::map<std::string, std::string, std::less<>> headers;  ///< `headers`
    std::vector<std::string> cookies;                         ///< `cookies`
    std::string body;                                         ///< `body`
    bool is_base64_encoded = false;                           ///< `isBase64Encoded`

    /// Sets `body` to `bytes` base64-encoded and `is_base64_encoded` to true.
    void set_binary_body(std::string_view bytes);
    /// The body's bytes (decoded when `is_base64_encoded`).
    std::string decoded_body() const;

    friend bool operator==(const http_api_response&, const http_api_response&) = default;
};

/// Boost.JSON conversions; `value_to` throws `event_error` naming the field. `value_from` of a
/// response omits empty `headers` and `cookies`.
http_api_request tag_invoke(boost::json::value_to_tag<http_api_request>,
                            const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const http_api_request& r);
http_api_response tag_invoke(boost::json::value_to_tag<http_api_response>,
                             const boost::json::value& v);
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const http_api_response& r);

}  // namespace muster::lambda
