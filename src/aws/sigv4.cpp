#include <muster/aws/sigv4.hpp>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <stdexcept>
#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <muster/http/url.hpp>

#include "detail.hpp"

namespace muster::aws {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

std::string to_hex(const unsigned char* data, std::size_t n) {
    std::string out(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = hex_digits[data[i] >> 4];
        out[2 * i + 1] = hex_digits[data[i] & 0xf];
    }
    return out;
}

std::string hmac(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
    return std::string(reinterpret_cast<const char*>(out), n);
}

bool unreserved(unsigned char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// RFC 3986 remove_dot_segments, plus empty segments dropped (what AWS's
// signers call normalisation); a trailing slash survives.
std::string normalize(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view seg = path.substr(start, end - start);
        if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
        } else if (!seg.empty() && seg != ".") {
            segments.push_back(seg);
        }
        start = end + 1;
    }
    std::string out = "/";
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (i > 0) out += '/';
        out += segments[i];
    }
    // A trailing slash survives; "/a/b/.." ends without one, as in AWS's
    // JavaScript signer.
    if (!segments.empty() && path.back() == '/') out += '/';
    return out;
}

std::string trim_value(std::string_view v) {
    // Leading and trailing white space dropped, inner runs collapsed to one
    // space (the value of a header folded over lines included).
    std::string out;
    bool space = false;
    for (char c : v) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

bool unsignable(std::string_view lower_name) noexcept {
    static constexpr std::string_view names[] = {
        "authorization", "connection",        "expect",  "keep-alive", "proxy-authorization", "te",
        "trailer",       "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id"};
    return std::find(std::begin(names), std::end(names), lower_name) != std::end(names);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

struct stamp {
    std::string date_time;  // 20150830T123600Z
    std::string date;       // 20150830
};

stamp stamp_of(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    stamp s;
    s.date_time = buf;
    s.date = s.date_time.substr(0, 8);
    return s;
}

std::string canonical_uri(std::string_view path, const signing_params& p) {
    if (path.empty()) return "/";
    std::string input = p.normalize_path ? normalize(path) : std::string(path);
    return p.double_uri_encode ? uri_encode(input, true) : input;
}

std::string canonical_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::size_t start = 0;
    while (start < query.size()) {
        std::size_t end = query.find('&', start);
        if (end == std::string_view::npos) end = query.size();
        std::string_view part = query.substr(start, end - start);
        if (!part.empty()) {
            const std::size_t eq = part.find('=');
            std::string_view name = part.substr(0, eq);
            std::string_view value =
                eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
            pairs.emplace_back(uri_encode(http::percent_decoded(name), false),
                               uri_encode(http::percent_decoded(value), false));
        }
        start = end + 1;
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& [n, v] : pairs) {
        if (!out.empty()) out += '&';
        out += n;
        out += '=';
        out += v;
    }
    return out;
}

std::string scope_of(const stamp& s, const signing_params& p) {
    return s.date + "/" + p.region + "/" + p.service + "/aws4_request";
}

std::string signature_with(const stamp& s, const signing_params& p, std::string_view to_sign) {
    std::string key = hmac("AWS4" + p.credentials.secret_access_key, s.date);
    key = hmac(key, p.region);
    key = hmac(key, p.service);
    key = hmac(key, "aws4_request");
    const std::string mac = hmac(key, to_sign);
    return to_hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (unreserved(c) || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += "0123456789ABCDEF"[c >> 4];
            out += "0123456789ABCDEF"[c & 0xf];
        }
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    unsigned char out[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
    return to_hex(out, sizeof out);
}

signature_parts signature_of(std::string_view method, std::string_view target,
                             const http::headers& headers, std::string_view payload_hash,
                             const signing_params& p) {
    const stamp s = stamp_of(p.time);
    const std::size_t q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query =
        q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);

    // Names lower-cased and sorted; the values of a repeated name joined
    // with commas in the order they were given.
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& [name, value] : headers) {
        std::string n = lower(name);
        std::string v = trim_value(value);
        auto it = std::find_if(fields.begin(), fields.end(),
                               [&n](const auto& f) { return f.first == n; });
        if (it == fields.end()) {
            fields.emplace_back(std::move(n), std::move(v));
        } else {
            it->second += ',';
            it->second += v;
        }
    }
    std::sort(fields.begin(), fields.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });

    signature_parts out;
    std::string canonical_headers;
    for (const auto& [n, v] : fields) {
        canonical_headers += n + ":" + v + "\n";
        if (!out.signed_headers.empty()) out.signed_headers += ';';
        out.signed_headers += n;
    }
    out.canonical_request = std::string(method) + "\n" + canonical_uri(path, p) + "\n" +
                            canonical_query(query) + "\n" + canonical_headers + "\n" +
                            out.signed_headers + "\n" + std::string(payload_hash);
    const std::string scope = scope_of(s, p);
    out.string_to_sign = "AWS4-HMAC-SHA256\n" + s.date_time + "\n" + scope + "\n" +
                         sha256_hex(out.canonical_request);
    out.signature = signature_with(s, p, out.string_to_sign);
    out.authorization = "AWS4-HMAC-SHA256 Credential=" + p.credentials.access_key_id + "/" + scope +
                        ", SignedHeaders=" + out.signed_headers + ", Signature=" + out.signature;
    return out;
}

signature_parts sign(http::request& r, const signing_params& p) {
    const http::url u = http::url::parse(r.url);
    const stamp s = stamp_of(p.time);
    const std::string payload = p.payload_hash.empty() ? sha256_hex(r.body) : p.payload_hash;

    r.headers.erase("Authorization");
    r.headers.set("X-Amz-Date", s.date_time);
    if (!p.credentials.session_token.empty()) {
        r.headers.set("X-Amz-Security-Token", p.credentials.session_token);
    } else {
        r.headers.erase("X-Amz-Security-Token");
    }
    if (p.content_sha256_header) r.headers.set("X-Amz-Content-Sha256", payload);

    http::headers signed_fields;
    if (!r.headers.contains("Host")) signed_fields.add("host", u.host_header());
    for (const auto& [name, value] : r.headers) {
        if (!unsignable(lower(name))) signed_fields.add(name, value);
    }
    signature_parts out = signature_of(r.method, u.target, signed_fields, payload, p);
    r.headers.set("Authorization", out.authorization);
    return out;
}

std::string presign(std::string_view method, std::string_view url, const signing_params& p,
                    std::chrono::seconds expires) {
    if (expires < std::chrono::seconds(1) || expires > std::chrono::hours(24 * 7))
        throw std::invalid_argument("muster::aws::presign: expires must be 1 s to 7 days");
    const http::url u = http::url::parse(url);
    const stamp s = stamp_of(p.time);
    std::string target = u.target;
    target += target.find('?') == std::string::npos ? '?' : '&';
    target += "X-Amz-Algorithm=AWS4-HMAC-SHA256";
    target += "&X-Amz-Credential=" +
              uri_encode(p.credentials.access_key_id + "/" + scope_of(s, p), false);
    target += "&X-Amz-Date=" + s.date_time;
    target += "&X-Amz-Expires=" + std::to_string(expires.count());
    if (!p.credentials.session_token.empty())
        target += "&X-Amz-Security-Token=" + uri_encode(p.credentials.session_token, false);
    target += "&X-Amz-SignedHeaders=host";
    http::headers h;
    h.add("host", u.host_header());
    const std::string payload = p.payload_hash.empty() ? sha256_hex("") : p.payload_hash;
    const signature_parts parts = signature_of(method, target, h, payload, p);
    return u.scheme + "://" + u.host_header() + target + "&X-Amz-Signature=" + parts.signature;
}

}  // namespace muster::aws
