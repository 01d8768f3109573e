/// @file
/// `muster::http::url`: a strictly parsed absolute http:// or https:// URL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace muster::http {

/// An absolute `http` or `https` URL, split into what a request needs.
///
/// Parsed with Boost.URL's RFC 3986 grammar, then held to more: a scheme
/// other than http/https, user info (`user:pass@`), an empty host, a host
/// name with other than letters, digits, `-._~`, a bad port, or spaces and
/// control characters anywhere are rejected. The fragment is dropped; the path and
/// query are kept exactly as written (already percent-encoded).
///
/// @code
/// auto u = muster::http::url::parse("https://example.com/a?b=1");
/// assert(u.host == "example.com" && u.port == 443 && u.target == "/a?b=1");
/// @endcode
struct url {
    std::string scheme;      ///< `"http"` or `"https"`, lower case.
    std::string host;        ///< Lower-cased name, or an IP address (IPv6 without brackets).
    std::uint16_t port = 0;  ///< The explicit port or the scheme's default.
    std::string target;      ///< Path and query, at least `"/"`.

    /// Parses `text`. Throws `muster::http::error` with `error_kind::invalid_url`.
    static url parse(std::string_view text);

    /// Resolves `reference` (absolute, scheme-relative, absolute-path or
    /// relative, as in a `Location` header) against this URL, as RFC 3986
    /// section 5.2 says: dot segments are removed (`../../x` from `/a/b`
    /// is `/x`). Throws `muster::http::error` (`invalid_url`) when the
    /// reference, or the URL it makes, is not one `parse` accepts.
    url resolve(std::string_view reference) const;

    bool https() const noexcept { return scheme == "https"; }
    /// True when the port is the scheme's default (80 or 443).
    bool default_port() const noexcept { return port == (https() ? 443 : 80); }
    /// `host` as it goes into a `Host` header: IPv6 in brackets, the port
    /// only when it is not the default.
    std::string host_header() const;
    /// `scheme://host:port`: the key of the connection pool.
    std::string origin() const;
    /// The whole URL, normalised.
    std::string str() const;
};

/// `text` with every `%XX` escape decoded, as a server reads a query name or
/// value; a `%` not followed by two hex digits stays as written, and `+`
/// stays `+` (AWS does not read it as a space).
std::string percent_decoded(std::string_view text);

}  // namespace muster::http
