// muster::http::url (parse, resolve, str) and muster::http::redacted.
// Input: a URL on the first line, a reference to resolve against it after.
#include <muster/http/error.hpp>
#include <muster/http/redacted.hpp>
#include <muster/http/url.hpp>

#include "fuzz_check.hpp"

namespace http = muster::http;
using muster_fuzz::check;

namespace {

bool same(const http::url& a, const http::url& b) {
    return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.target == b.target;
}

void parsed(const http::url& u, std::string_view reference) {
    check(u.https() ? u.scheme == "https" : u.scheme == "http", "a scheme other than http(s)");
    check(!u.host.empty(), "an empty host");
    check(!u.target.empty() && u.target.front() == '/', "a target that is not a path");
    // What str() prints parses back to the same URL.
    check(same(http::url::parse(u.str()), u), "str() does not parse back to the same URL");
    (void)u.origin();
    try {
        const auto r = u.resolve(reference);
        check(!r.target.empty() && r.target.front() == '/', "a resolved target that is no path");
        check(same(http::url::parse(r.str()), r), "a resolved URL does not parse back");
    } catch (const http::error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto in = muster_fuzz::text(data, size);
    const auto whole = in;
    const auto first = muster_fuzz::next_line(in);

    const auto shown = http::redacted(whole);
    check(http::redacted(shown) == shown, "redacted() is not idempotent");
    try {
        parsed(http::url::parse(first), in);
    } catch (const http::error& e) {
        (void)e.what();
    }
    return 0;
}
