#include "fetch.hpp"

#include <cstdlib>
#include <string_view>
#include <utility>

#include <muster/http/error.hpp>
#include <muster/http/redacted.hpp>
#include <muster/http/url.hpp>

#include "image_host.hpp"

namespace seed_patterns {

namespace {

std::string describe(int status, const std::string& url) {
    return "HTTP " + std::to_string(status) + " from " + muster::http::redacted(url);
}

image_source read_source() {
    const char* env = std::getenv("SEED_PATTERNS_IMAGE_ORIGIN");
    if (!env || !*env) {
        // One per process: a warm invocation finds it running.
        static image_host host;
        return image_source{host.origin()};
    }
    if (std::string_view(env) == "direct") return image_source{};
    try {
        const auto u = muster::http::url::parse(env);
        if (u.target != "/") throw std::invalid_argument("has a path");
        return image_source{u.origin()};
    } catch (const std::exception& e) {
        throw std::invalid_argument(
            "SEED_PATTERNS_IMAGE_ORIGIN must be an http(s) origin such as "
            "http://127.0.0.1:8080, or \"direct\": \"" +
            std::string(env) + "\" " + e.what());
    }
}

}  // namespace

http_error::http_error(int status, const std::string& url)
    : std::runtime_error(describe(status, url)), status_(status) {}

bool http_error::transient() const noexcept {
    return status_ == 408 || status_ == 425 || status_ == 429 || (status_ >= 500 && status_ <= 599);
}

const image_source& configured_image_source() {
    static const image_source source = read_source();
    return source;
}

boost::asio::awaitable<fetched> fetch(muster::http::client client, const image_source& source,
                                      std::string url, std::string invocation) {
    muster::http::request req;
    if (source.origin.empty()) {
        req.url = url;
    } else {
        const auto u = muster::http::url::parse(url);
        req.url = source.origin + u.target;
        req.headers.set("Host", u.host_header());
    }
    req.headers.set("X-Seed-Invocation", std::move(invocation));
    auto sending = client.request(std::move(req));
    const muster::http::response r = co_await std::move(sending);
    if (!r.ok()) throw http_error(r.status, url);
    co_return fetched{r.status, r.body.size()};
}

}  // namespace seed_patterns
