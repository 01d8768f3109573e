#include "proxy.hpp"

#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include <muster/http/redacted.hpp>

namespace muster::http {

namespace asio = boost::asio;
using boost::system::error_code;

std::optional<url> client::state::proxy_for(const url& u) const {
    const auto& proxy = u.https() ? https_proxy : http_proxy;
    if (!proxy || no_proxy_all) return std::nullopt;
    for (const auto& entry : no_proxy) {
        std::string_view e = entry;
        if (e.starts_with('.')) e.remove_prefix(1);
        if (u.host == e) return std::nullopt;
        if (u.host.size() > e.size() && u.host.ends_with(e) &&
            u.host[u.host.size() - e.size() - 1] == '.')
            return std::nullopt;
    }
    if (proxy_from_environment) {
        error_code not_ip;
        const auto address = asio::ip::make_address(u.host, not_ip);
        if (u.host == "localhost" || (!not_ip && address.is_loopback())) return std::nullopt;
    }
    return proxy;
}

namespace detail {

namespace {

/// The first of the environment variables `names` that is set, or empty.
std::optional<std::string> from_environment(std::initializer_list<const char*> names) {
    for (const char* n : names)
        if (const char* v = std::getenv(n)) return std::string(v);
    return std::nullopt;
}

std::optional<url> parse_proxy(const std::string& value, const char* what) {
    if (value.empty()) return std::nullopt;
    std::string text = value.find("://") == std::string::npos ? "http://" + value : value;
    try {
        url u = url::parse(text);
        if (u.https())
            throw std::invalid_argument(std::string("muster::http: ") + what + "=" +
                                        redacted(text) + ": only http:// proxies are supported");
        return u;
    } catch (const error& e) {
        throw std::invalid_argument(std::string("muster::http: ") + what + "=" + redacted(text) +
                                    " is not a proxy URL (" + e.what() + ")");
    }
}

}  // namespace

void configure_proxies(client::state& st) {
    const http::options& o = st.opts;
    std::optional<std::string> http_value = o.http_proxy;
    std::optional<std::string> https_value = o.https_proxy;
    std::optional<std::string> no_value = o.no_proxy;
    if (!http_value && !https_value) st.proxy_from_environment = true;
    if (!http_value) http_value = from_environment({"http_proxy", "HTTP_PROXY"});
    if (!https_value) https_value = from_environment({"https_proxy", "HTTPS_PROXY"});
    if (!no_value) no_value = from_environment({"no_proxy", "NO_PROXY"});
    st.http_proxy = parse_proxy(http_value.value_or(""), "http_proxy");
    st.https_proxy = parse_proxy(https_value.value_or(""), "https_proxy");
    const std::string no_list = no_value.value_or("");
    std::string_view rest = no_list;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item == "*") st.no_proxy_all = true;
        // "host:port" and "[v6]" entries name the host only.
        if (item.starts_with('[')) {
            item = item.substr(1, item.find(']') - 1);
        } else if (item.find(':') == item.rfind(':')) {
            item = item.substr(0, item.find(':'));
        }
        std::string lowered;
        for (char ch : item)
            lowered += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
        if (!lowered.empty()) st.no_proxy.push_back(std::move(lowered));
    }
}

}  // namespace detail

}  // namespace muster::http
