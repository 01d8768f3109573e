#include <muster/http/url.hpp>

#include <string>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>

#include <muster/http/error.hpp>

namespace muster::http {

namespace urls = boost::urls;

namespace {

[[noreturn]] void invalid(std::string_view text, const std::string& why) {
    throw error(error_kind::invalid_url, std::string(text),
                "\"" + std::string(text) + "\" is not a valid http(s) URL: " + why);
}

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool hex(char c) noexcept { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool host_char(char c) noexcept {
    return alpha(c) || digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string lowered(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) out += lower(c);
    return out;
}

/// True when `text` starts with `scheme:`.
bool has_scheme(std::string_view text) noexcept {
    if (text.empty() || !alpha(text[0])) return false;
    for (std::size_t i = 1; i < text.size(); ++i) {
        const char c = text[i];
        if (c == ':') return true;
        if (!(alpha(c) || digit(c) || c == '+' || c == '-' || c == '.')) return false;
    }
    return false;
}

/// Why Boost.URL refused `text`, said for a person: its own message names
/// only the grammar rule that failed.
std::string refusal(std::string_view text, const boost::system::error_code& ec) {
    const auto hash = text.find('#');
    const std::string_view checked = text.substr(0, hash);
    for (std::size_t i = 0; i < checked.size(); ++i) {
        const auto u = static_cast<unsigned char>(checked[i]);
        if (checked[i] == '%' &&
            (i + 2 >= checked.size() || !hex(checked[i + 1]) || !hex(checked[i + 2])))
            return "a bad %-escape";
        if (u <= 0x20 || u >= 0x7f ||
            std::string_view("\"<>\\^`{|}").find(checked[i]) != std::string_view::npos)
            return "a character that must be percent-encoded";
    }
    return "not a URI as RFC 3986 defines it (" + ec.message() + ")";
}

/// The parts a request needs of `v`, checked against what muster accepts.
/// `text` is what the caller gave, for the error.
url from_view(std::string_view text, urls::url_view v) {
    url u;
    if (!v.has_scheme()) invalid(text, "no scheme (expected http:// or https://)");
    u.scheme = lowered(v.scheme());
    if (u.scheme != "http" && u.scheme != "https")
        invalid(text, "the scheme \"" + u.scheme + "\" is not http or https");
    if (!v.has_authority()) invalid(text, "expected \"//\" after the scheme");
    if (v.has_userinfo()) invalid(text, "user information (user@host) is not supported");

    switch (v.host_type()) {
        case urls::host_type::ipv6:
            u.host = lowered(v.encoded_host_address());
            break;
        case urls::host_type::ipvfuture:
            invalid(text, "a bad IPv6 address");
        default:
            for (char c : v.encoded_host())
                if (!host_char(c)) invalid(text, "a character not allowed in a host name");
            u.host = lowered(v.encoded_host());
            break;
    }
    if (u.host.empty()) invalid(text, "no host");

    const std::string_view port = v.has_port() ? std::string_view(v.port()) : std::string_view();
    if (port.empty()) {
        u.port = u.scheme == "https" ? 443 : 80;
    } else {
        // Boost.URL reads any run of digits; a port is at most 65535.
        unsigned long p = 0;
        if (port.size() > 5) invalid(text, "the port is out of range");
        for (char c : port) {
            if (!digit(c)) invalid(text, "the port is not a number");
            p = p * 10 + static_cast<unsigned long>(c - '0');
        }
        if (p == 0 || p > 65535) invalid(text, "the port is out of range");
        u.port = static_cast<std::uint16_t>(p);
    }

    const std::string_view path = v.encoded_path();
    // Boost 1.81 reads "http://h:8a/" as port 8 and path "a/"; after an
    // authority a path is empty or starts with '/' (RFC 3986 3.3).
    if (!path.empty() && path.front() != '/') invalid(text, "the port is not a number");
    u.target = path.empty() ? "/" : std::string(path);
    if (v.has_query()) {
        u.target += '?';
        u.target += std::string_view(v.encoded_query());
    }
    return u;
}

}  // namespace

url url::parse(std::string_view text) {
    const auto parsed = urls::parse_uri(text);
    if (!parsed) {
        if (!has_scheme(text)) invalid(text, "no scheme (expected http:// or https://)");
        invalid(text, refusal(text, parsed.error()));
    }
    return from_view(text, *parsed);
}

url url::resolve(std::string_view reference) const {
    const auto ref = urls::parse_uri_reference(reference);
    if (!ref) invalid(reference, refusal(reference, ref.error()));
    const std::string base_text = str();
    const auto base = urls::parse_uri(base_text);
    if (!base) invalid(base_text, refusal(base_text, base.error()));
    urls::url target;
    // RFC 3986 5.2: merges the paths and removes dot segments ("../x").
    const auto resolved = urls::resolve(*base, *ref, target);
    if (!resolved) invalid(reference, resolved.error().message());
    // Boost 1.81 keeps the ".." segments that climb above the root
    // ("/../../x"); RFC 3986 5.2.4 drops them.
    std::string_view path = target.encoded_path();
    if (path == "/.." || path.starts_with("/../")) {
        while (path == "/.." || path.starts_with("/../")) path.remove_prefix(3);
        target.set_encoded_path(path.empty() ? std::string("/") : std::string(path));
    }
    return from_view(reference, target);
}

std::string url::host_header() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (!default_port()) h += ":" + std::to_string(port);
    return h;
}

std::string url::origin() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return scheme + "://" + h + ":" + std::to_string(port);
}

std::string url::str() const { return scheme + "://" + host_header() + target; }

std::string percent_decoded(std::string_view text) {
    const auto hex_value = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += text[i];
    }
    return out;
}

}  // namespace muster::http
