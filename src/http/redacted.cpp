#include <muster/http/redacted.hpp>
#include <muster/http/url.hpp>

#include <algorithm>
#include <array>

namespace muster::http {

namespace {

constexpr std::string_view shown = "REDACTED";

char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// `name` percent-decoded and lower-cased (no name to redact contains a
/// '%', so a broken escape can stay as written).
std::string folded(std::string_view name) {
    std::string out = percent_decoded(name);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

/// The list documented in the header, lower case.
bool secret(std::string_view name) {
    static constexpr std::array<std::string_view, 11> names = {
        "x-amz-signature",      "x-amz-credential",
        "x-amz-security-token", "signature",
        "awsaccesskeyid",       "googleaccessid",
        "x-goog-signature",     "x-goog-credential",
        "key-pair-id",          "sig",
        "access_token"};
    const std::string n = folded(name);
    for (const auto candidate : names)
        if (n == candidate) return true;
    return false;
}

/// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool is_scheme(std::string_view s) noexcept {
    if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '+' || c == '-' || c == '.';
    });
}

}  // namespace

std::string redacted(std::string_view url) {
    std::string out;
    out.reserve(url.size());

    // User information: only the password is a secret. Only after a scheme
    // (RFC 3986 3.1): a "://" further on, in a path or query of a reference
    // without one, starts no authority.
    std::size_t pos = 0;
    if (const auto scheme_end = url.find("://");
        scheme_end != std::string_view::npos && is_scheme(url.substr(0, scheme_end))) {
        const std::size_t authority = scheme_end + 3;
        const std::size_t authority_end = std::min(url.find_first_of("/?#", authority), url.size());
        const std::size_t at = url.rfind('@', authority_end);
        if (at != std::string_view::npos && at >= authority) {
            const std::size_t colon = url.find(':', authority);
            if (colon < at) {
                out.append(url.substr(0, colon + 1));
                out.append(shown);
                pos = at;
            }
        }
    }

    const std::size_t hash = std::min(url.find('#', pos), url.size());
    const std::size_t question = url.find('?', pos);
    if (question == std::string_view::npos || question > hash) {
        out.append(url.substr(pos));
        return out;
    }
    out.append(url.substr(pos, question + 1 - pos));
    std::size_t begin = question + 1;
    for (;;) {
        const std::size_t end = std::min(url.find('&', begin), hash);
        const std::string_view pair = url.substr(begin, end - begin);
        const std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos && secret(pair.substr(0, eq))) {
            out.append(pair.substr(0, eq + 1));
            out.append(shown);
        } else {
            out.append(pair);
        }
        if (end == hash) break;
        out += '&';
        begin = end + 1;
    }
    out.append(url.substr(hash));
    return out;
}

}  // namespace muster::http
