#include <muster/aws/config.hpp>

#include <cstdlib>
#include <stdexcept>

#include "detail.hpp"

namespace muster::aws {
namespace {

using lookup_fn = std::function<std::optional<std::string>(std::string_view)>;

std::string env(const lookup_fn& lookup, const char* name) {
    return lookup(name).value_or(std::string());
}

std::string required(const lookup_fn& lookup, const char* name) {
    std::string v = env(lookup, name);
    if (v.empty())
        throw std::invalid_argument(std::string("muster::aws::config::from_env: ") + name +
                                    " is not set");
    return v;
}

std::string endpoint_from(const lookup_fn& lookup, const char* name) {
    std::string v = env(lookup, name);
    return v.empty() ? v : detail::base_url(v, name);
}

}  // namespace

config config::from_env() {
    return from_env([](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (v == nullptr) return std::nullopt;
        return std::string(v);
    });
}

config config::from_env(const lookup_fn& lookup) {
    config c;
    c.credentials.access_key_id = required(lookup, "AWS_ACCESS_KEY_ID");
    c.credentials.secret_access_key = required(lookup, "AWS_SECRET_ACCESS_KEY");
    c.credentials.session_token = env(lookup, "AWS_SESSION_TOKEN");
    if (auto r = env(lookup, "AWS_REGION"); !r.empty()) {
        c.region = r;
    } else if (auto d = env(lookup, "AWS_DEFAULT_REGION"); !d.empty()) {
        c.region = d;
    }
    if (env(lookup, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") != "true") {
        c.endpoint = endpoint_from(lookup, "AWS_ENDPOINT_URL");
        c.s3_endpoint = endpoint_from(lookup, "AWS_ENDPOINT_URL_S3");
        c.dynamodb_endpoint = endpoint_from(lookup, "AWS_ENDPOINT_URL_DYNAMODB");
    }
    return c;
}

bool config::has_endpoint_override(std::string_view service) const {
    if (service == "s3" && !s3_endpoint.empty()) return true;
    if (service == "dynamodb" && !dynamodb_endpoint.empty()) return true;
    return !endpoint.empty();
}

std::string config::endpoint_for(std::string_view service) const {
    std::string chosen;
    if (service == "s3") chosen = s3_endpoint;
    if (service == "dynamodb") chosen = dynamodb_endpoint;
    if (chosen.empty()) chosen = endpoint;
    if (!chosen.empty()) {
        while (chosen.back() == '/') chosen.pop_back();
        return chosen;
    }
    return "https://" + std::string(service) + "." + region + ".amazonaws.com";
}

}  // namespace muster::aws
