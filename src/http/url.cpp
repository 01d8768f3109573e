#include <muster/http/url.hpp>

#include <string>

#include <muster/http/error.hpp>

namespace muster::http {

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
/// Characters allowed unencoded in a request target: RFC 3986 pchar, '/',
/// '?', plus '%' when it starts a valid escape (checked separately).
bool target_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    switch (c) {
        case '"':
        case '<':
        case '>':
        case '\\':
        case '^':
        case '`':
        case '{':
        case '|':
        case '}':
        case '#':
            return false;
        default:
            return true;
    }
}

/// The scheme of `text` if it starts with `scheme:`, else empty.
std::string_view scheme_of(std::string_view text) noexcept {
    if (text.empty() || !alpha(text[0])) return {};
    for (std::size_t i = 1; i < text.size(); ++i) {
        const char c = text[i];
        if (c == ':') return text.substr(0, i);
        if (!(alpha(c) || digit(c) || c == '+' || c == '-' || c == '.')) return {};
    }
    return {};
}

std::string checked_target(std::string_view original, std::string_view t) {
    if (const auto hash = t.find('#'); hash != std::string_view::npos) t = t.substr(0, hash);
    for (std::size_t i = 0; i < t.size(); ++i) {
        const char c = t[i];
        if (c == '%') {
            if (i + 2 >= t.size() || !hex(t[i + 1]) || !hex(t[i + 2]))
                invalid(original, "a bad %-escape");
            continue;
        }
        if (!target_char(c))
            invalid(original, "a character that must be percent-encoded in the path or query");
    }
    std::string out;
    if (t.empty() || t.front() != '/') out = "/";
    out += t;
    return out;
}

}  // namespace

url url::parse(std::string_view text) {
    url u;
    const std::string_view scheme = scheme_of(text);
    if (scheme.empty()) invalid(text, "no scheme (expected http:// or https://)");
    for (char c : scheme) u.scheme += lower(c);
    if (u.scheme != "http" && u.scheme != "https")
        invalid(text, "the scheme \"" + u.scheme + "\" is not http or https");
    std::string_view rest = text.substr(scheme.size() + 1);
    if (!rest.starts_with("//")) invalid(text, "expected \"//\" after the scheme");
    rest.remove_prefix(2);
    const auto end = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    if (authority.find('@') != std::string_view::npos)
        invalid(text, "user information (user@host) is not supported");

    std::string_view host;
    std::string_view port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) invalid(text, "an unterminated IPv6 address");
        host = authority.substr(1, close - 1);
        if (host.find(':') == std::string_view::npos) invalid(text, "a bad IPv6 address");
        for (char c : host)
            if (!hex(c) && c != ':' && c != '.') invalid(text, "a bad IPv6 address");
        const std::string_view after = authority.substr(close + 1);
        if (after.starts_with(':')) {
            port = after.substr(1);
        } else if (!after.empty()) {
            invalid(text, "unexpected characters after the IPv6 address");
        }
    } else {
        const auto colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        for (char c : host)
            if (!host_char(c)) invalid(text, "a character not allowed in a host name");
    }
    if (host.empty()) invalid(text, "no host");
    for (char c : host) u.host += lower(c);
    if (port.empty()) {
        u.port = u.scheme == "https" ? 443 : 80;
    } else {
        if (port.size() > 5) invalid(text, "the port is out of range");
        unsigned long p = 0;
        for (char c : port) {
            if (!digit(c)) invalid(text, "the port is not a number");
            p = p * 10 + static_cast<unsigned long>(c - '0');
        }
        if (p == 0 || p > 65535) invalid(text, "the port is out of range");
        u.port = static_cast<std::uint16_t>(p);
    }
    u.target = checked_target(text, rest);
    return u;
}

url url::resolve(std::string_view reference) const {
    if (!scheme_of(reference).empty()) return parse(reference);
    if (reference.starts_with("//")) return parse(scheme + ":" + std::string(reference));
    url u = *this;
    if (reference.starts_with('/')) {
        u.target = checked_target(reference, reference);
        return u;
    }
    // A relative reference: replace the last segment of the path (the query
    // of the base never carries over).
    std::string_view base = target;
    if (const auto q = base.find('?'); q != std::string_view::npos) base = base.substr(0, q);
    std::string joined;
    if (reference.empty() || reference.starts_with('?')) {
        joined = std::string(base) + std::string(reference);
    } else {
        joined = std::string(base.substr(0, base.rfind('/') + 1)) + std::string(reference);
    }
    u.target = checked_target(reference, joined);
    return u;
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

}  // namespace muster::http
