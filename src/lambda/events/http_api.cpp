#include <muster/lambda/events/http_api.hpp>

#include <limits>

#include <muster/lambda/events/base64.hpp>

#include "json_fields.hpp"

namespace muster::lambda {

namespace {

using detail::reader;
namespace json = boost::json;

std::optional<json::value> opt_value(const reader& r, std::string_view key) {
    if (const json::value* v = r.find(key)) return *v;
    return std::nullopt;
}

}  // namespace

std::string http_api_request::decoded_body() const {
    if (!body) return {};
    return is_base64_encoded ? base64_decode(*body) : *body;
}

std::optional<std::string_view> http_api_request::header(std::string_view name) const {
    auto it = headers.find(name);
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->second);
}

void http_api_response::set_binary_body(std::string_view bytes) {
    body = base64_encode(bytes);
    is_base64_encoded = true;
}

std::string http_api_response::decoded_body() const {
    return is_base64_encoded ? base64_decode(body) : body;
}

http_api_request tag_invoke(json::value_to_tag<http_api_request>, const json::value& v) {
    const reader r(v, "");
    http_api_request req;
    req.version = r.str_or_empty("version");
    req.route_key = r.str_or_empty("routeKey");
    req.raw_path = r.str("rawPath");
    req.raw_query_string = r.str_or_empty("rawQueryString");
    req.cookies = r.str_list("cookies");
    req.headers = r.str_map("headers");
    req.query_string_parameters = r.str_map("queryStringParameters");
    req.path_parameters = r.str_map("pathParameters");
    req.stage_variables = r.str_map("stageVariables");
    const reader c = r.obj("requestContext");
    auto& ctx = req.request_context;
    ctx.account_id = c.str_or_empty("accountId");
    ctx.api_id = c.str_or_empty("apiId");
    ctx.domain_name = c.str_or_empty("domainName");
    ctx.domain_prefix = c.str_or_empty("domainPrefix");
    const reader h = c.obj("http");
    ctx.http.method = h.str("method");
    ctx.http.path = h.str_or_empty("path");
    ctx.http.protocol = h.str_or_empty("protocol");
    ctx.http.source_ip = h.str_or_empty("sourceIp");
    ctx.http.user_agent = h.str_or_empty("userAgent");
    ctx.request_id = c.str_or_empty("requestId");
    ctx.route_key = c.str_or_empty("routeKey");
    ctx.stage = c.str_or_empty("stage");
    ctx.time = c.str_or_empty("time");
    ctx.time_epoch = c.opt_int64("timeEpoch").value_or(0);
    ctx.authorizer = opt_value(c, "authorizer");
    ctx.authentication = opt_value(c, "authentication");
    req.body = r.opt_str("body");
    req.is_base64_encoded = r.bool_or("isBase64Encoded", false);
    return req;
}

void tag_invoke(json::value_from_tag, json::value& v, const http_api_request& req) {
    const auto& ctx = req.request_context;
    json::object http{{"method", ctx.http.method},
                      {"path", ctx.http.path},
                      {"protocol", ctx.http.protocol},
                      {"sourceIp", ctx.http.source_ip},
                      {"userAgent", ctx.http.user_agent}};
    json::object c{{"accountId", ctx.account_id},
                   {"apiId", ctx.api_id},
                   {"domainName", ctx.domain_name},
                   {"domainPrefix", ctx.domain_prefix},
                   {"http", std::move(http)},
                   {"requestId", ctx.request_id},
                   {"routeKey", ctx.route_key},
                   {"stage", ctx.stage},
                   {"time", ctx.time},
                   {"timeEpoch", ctx.time_epoch}};
    if (ctx.authorizer) c["authorizer"] = *ctx.authorizer;
    if (ctx.authentication) c["authentication"] = *ctx.authentication;
    json::object o{{"version", req.version},
                   {"routeKey", req.route_key},
                   {"rawPath", req.raw_path},
                   {"rawQueryString", req.raw_query_string}};
    if (!req.cookies.empty()) o["cookies"] = detail::to_array(req.cookies);
    o["headers"] = detail::to_object(req.headers);
    if (!req.query_string_parameters.empty())
        o["queryStringParameters"] = detail::to_object(req.query_string_parameters);
    if (!req.path_parameters.empty()) o["pathParameters"] = detail::to_object(req.path_parameters);
    if (!req.stage_variables.empty()) o["stageVariables"] = detail::to_object(req.stage_variables);
    o["requestContext"] = std::move(c);
    detail::put_opt(o, "body", req.body);
    o["isBase64Encoded"] = req.is_base64_encoded;
    v = std::move(o);
}

http_api_response tag_invoke(json::value_to_tag<http_api_response>, const json::value& v) {
    const reader r(v, "");
    http_api_response res;
    const auto code = r.int64("statusCode");
    if (code < 100 || code > 999)
        r.fail("statusCode", "not an HTTP status: " + std::to_string(code));
    res.status_code = static_cast<int>(code);
    res.headers = r.str_map("headers");
    res.cookies = r.str_list("cookies");
    res.body = r.str_or_empty("body");
    res.is_base64_encoded = r.bool_or("isBase64Encoded", false);
    return res;
}

void tag_invoke(json::value_from_tag, json::value& v, const http_api_response& res) {
    json::object o{{"statusCode", res.status_code}};
    if (!res.headers.empty()) o["headers"] = detail::to_object(res.headers);
    if (!res.cookies.empty()) o["cookies"] = detail::to_array(res.cookies);
    o["body"] = res.body;
    o["isBase64Encoded"] = res.is_base64_encoded;
    v = std::move(o);
}

}  // namespace muster::lambda
