// SigV4 signing and presigning (muster::aws::sign, presign). Input: the
// method on the first line, the URL on the second, header lines
// ("Name: value") up to an empty line, then the body; the input's size
// picks the path options.
#include <muster/aws/sigv4.hpp>

#include <muster/http/error.hpp>
#include <muster/http/redacted.hpp>
#include <muster/http/url.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

#include "fuzz_check.hpp"

namespace aws = muster::aws;
namespace http = muster::http;
using muster_fuzz::check;

namespace {

bool lower_hex(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto in = muster_fuzz::text(data, size);
    http::request r;
    r.method = std::string(muster_fuzz::next_line(in));
    r.url = std::string(muster_fuzz::next_line(in));
    for (auto line = muster_fuzz::next_line(in); !line.empty(); line = muster_fuzz::next_line(in)) {
        const auto colon = line.find(':');
        r.headers.add(line.substr(0, colon), colon == std::string_view::npos
                                                 ? std::string_view()
                                                 : line.substr(colon + 1));
    }
    r.body = std::string(in);

    aws::signing_params p;
    p.credentials.access_key_id = "AKIDEXAMPLE";
    p.credentials.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    p.credentials.session_token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN+/=";
    p.region = "us-east-1";
    p.service = "s3";
    p.time = std::chrono::system_clock::time_point{std::chrono::seconds(1796515200)};
    p.normalize_path = (size & 1) != 0;
    p.double_uri_encode = (size & 2) != 0;
    p.content_sha256_header = (size & 4) != 0;

    try {
        auto again = r;
        const auto parts = aws::sign(r, p);
        check(lower_hex(parts.signature), "a signature that is not 64 lower-case hex digits");
        check(r.headers.get("Authorization") == parts.authorization, "no Authorization header");
        check(aws::sign(again, p).signature == parts.signature, "signing is not deterministic");
    } catch (const http::error&) {
    }

    try {
        const auto url = aws::presign(r.method, r.url, p, std::chrono::seconds(900));
        const auto u = http::url::parse(url);
        check(u.target.find("X-Amz-Signature=") != std::string::npos, "no signature in the URL");
        const auto signature = url.substr(url.rfind('=') + 1);
        check(lower_hex(signature), "a presigned signature that is not 64 hex digits");
        // Unless the input URL already held them (the fuzzer copies strings it sees).
        const auto shown = http::redacted(url);
        if (r.url.find(signature) == std::string::npos) {
            check(shown.find(signature) == std::string::npos, "redacted() shows the signature");
        }
        if (r.url.find("EXAMPLESESSIONTOKEN") == std::string::npos) {
            check(shown.find("EXAMPLESESSIONTOKEN") == std::string::npos,
                  "redacted() shows the session token");
        }
    } catch (const http::error&) {
    }
    return 0;
}
