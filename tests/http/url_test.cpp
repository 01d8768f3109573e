#include <muster/http/url.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <muster/http/error.hpp>
#include <muster/http/headers.hpp>
#include <muster/http/request.hpp>

namespace url_test {

namespace {

namespace http = muster::http;

http::error_kind parse_error(const char* text) {
    try {
        http::url::parse(text);
    } catch (const http::error& e) {
        return e.kind();
    }
    ADD_FAILURE() << text << " parsed";
    return http::error_kind::protocol;
}

TEST(UrlTest, SplitsSchemeHostPortAndTarget) {
    auto u = http::url::parse("HTTPS://Example.COM:8443/a/b?c=d#frag");
    EXPECT_EQ(u.scheme, "https");
    EXPECT_EQ(u.host, "example.com");
    EXPECT_EQ(u.port, 8443);
    EXPECT_EQ(u.target, "/a/b?c=d");
    EXPECT_EQ(u.origin(), "https://example.com:8443");
    EXPECT_EQ(u.host_header(), "example.com:8443");
    EXPECT_EQ(u.str(), "https://example.com:8443/a/b?c=d");
}

TEST(UrlTest, DefaultsPortAndPath) {
    auto u = http::url::parse("http://127.0.0.1");
    EXPECT_EQ(u.port, 80);
    EXPECT_EQ(u.target, "/");
    EXPECT_EQ(u.host_header(), "127.0.0.1");
    EXPECT_EQ(http::url::parse("https://h?x=1").target, "/?x=1");
    EXPECT_EQ(http::url::parse("https://h").port, 443);
}

TEST(UrlTest, AcceptsBracketedIpv6) {
    auto u = http::url::parse("http://[::1]:8080/x");
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.port, 8080);
    EXPECT_EQ(u.host_header(), "[::1]:8080");
    EXPECT_EQ(u.origin(), "http://[::1]:8080");
}

TEST(UrlTest, RejectsWhatIsNotAStrictHttpUrl) {
    for (const char* bad : {"",
                            "example.com/x",
                            "ftp://h/",
                            "http:/h/",
                            "http://",
                            "http://:80/",
                            "http://u@h/",
                            "http://h:0/",
                            "http://h:65536/",
                            "http://h:8a/",
                            "http://h/a b",
                            "http://h/%zz",
                            "http://h/%4",
                            "http://[::1/",
                            "http://h\x01/",
                            "http://h/\xc3\xa9",
                            "http://[v1.x]/",
                            "http://h%41/",
                            "http://a,b/",
                            "http://h:99999999999999999999/"}) {
        SCOPED_TRACE(bad);
        EXPECT_EQ(parse_error(bad), http::error_kind::invalid_url);
    }
}

TEST(UrlTest, ErrorNamesTheUrl) {
    try {
        http::url::parse("ftp://h/");
        FAIL();
    } catch (const http::error& e) {
        EXPECT_EQ(e.url(), "ftp://h/");
        EXPECT_THAT(e.what(), ::testing::HasSubstr("invalid_url"));
        EXPECT_THAT(e.what(), ::testing::HasSubstr("ftp://h/"));
    }
}

TEST(UrlTest, ResolvesLocationReferences) {
    auto base = http::url::parse("http://h:81/a/b?q=1");
    EXPECT_EQ(base.resolve("https://o/x").str(), "https://o/x");
    EXPECT_EQ(base.resolve("//o2/y").str(), "http://o2/y");
    EXPECT_EQ(base.resolve("/z?w").str(), "http://h:81/z?w");
    EXPECT_EQ(base.resolve("c").str(), "http://h:81/a/c");
    EXPECT_EQ(base.resolve("?r=2").str(), "http://h:81/a/b?r=2");
}

TEST(UrlTest, ResolvingRemovesDotSegments) {
    // RFC 3986 5.2.4, and the examples of its section 5.4.
    auto base = http::url::parse("http://a/b/c/d;p?q");
    EXPECT_EQ(base.resolve("../../x").target, "/x");
    EXPECT_EQ(base.resolve("../../../../g").target, "/g");
    EXPECT_EQ(base.resolve("./g").target, "/b/c/g");
    EXPECT_EQ(base.resolve("..").target, "/b/");
    EXPECT_EQ(base.resolve("g/./h/../i").target, "/b/c/g/i");
    EXPECT_EQ(base.resolve("/./g").target, "/g");
    EXPECT_EQ(base.resolve("/a/../../g?x=1#f").target, "/g?x=1");
    EXPECT_EQ(base.resolve("g;x=1/../y").target, "/b/c/y");
    EXPECT_EQ(base.resolve("http://o/a/./b/../c").str(), "http://o/a/c");
    // Dots that are not whole segments are names.
    EXPECT_EQ(base.resolve("g..").target, "/b/c/g..");
    EXPECT_EQ(base.resolve("..g").target, "/b/c/..g");
}

TEST(UrlTest, ResolvingChecksTheResult) {
    auto base = http::url::parse("https://h/a");
    for (const char* bad : {"ftp://o/x", "//u@o/x", "/a b", "/%zz", "http://[v1.x]/"}) {
        SCOPED_TRACE(bad);
        try {
            base.resolve(bad);
            ADD_FAILURE() << "resolved";
        } catch (const http::error& e) {
            EXPECT_EQ(e.kind(), http::error_kind::invalid_url);
        }
    }
}

TEST(UrlTest, ParsingKeepsThePathAsWritten) {
    // A request goes where it says: an S3 key may hold "..", and a signature covers it.
    EXPECT_EQ(http::url::parse("http://h/a/../b/./c?x=%2F").target, "/a/../b/./c?x=%2F");
    EXPECT_EQ(http::url::parse("http://h/a?").target, "/a?");
    EXPECT_EQ(http::url::parse("http://h:/a").port, 80);
    EXPECT_EQ(http::url::parse("http://[::FFFF:127.0.0.1]/").host, "::ffff:127.0.0.1");
}

TEST(HeadersTest, NamesAreCaseInsensitive) {
    http::headers h{{"Content-Type", "a"}};
    EXPECT_EQ(h.get("content-type"), "a");
    h.add("X-A", "1");
    h.add("x-a", "2");
    EXPECT_EQ(h.size(), 3u);
    h.set("X-A", "3");
    EXPECT_EQ(h.size(), 2u);
    EXPECT_EQ(h.get("x-a"), "3");
    EXPECT_EQ(h.erase("X-a"), 1u);
    EXPECT_FALSE(h.contains("x-a"));
}

TEST(RequestTest, IdempotentMethods) {
    for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
        EXPECT_TRUE(http::is_idempotent(m)) << m;
    for (const char* m : {"POST", "PATCH", "CONNECT", "get"})
        EXPECT_FALSE(http::is_idempotent(m)) << m;
}

}  // namespace

TEST(PercentDecodedTest, DecodesEscapesOfEitherCase) {
    EXPECT_EQ(http::percent_decoded("a%2Fb%2fc%20d"), "a/b/c d");
    EXPECT_EQ(http::percent_decoded("X-Amz-Signature"), "X-Amz-Signature");
    EXPECT_EQ(http::percent_decoded("%00"), std::string(1, '\0'));
}

TEST(PercentDecodedTest, KeepsBrokenEscapesAndPlusAsWritten) {
    EXPECT_EQ(http::percent_decoded("a+b"), "a+b");
    EXPECT_EQ(http::percent_decoded("100%"), "100%");
    EXPECT_EQ(http::percent_decoded("%4"), "%4");
    EXPECT_EQ(http::percent_decoded("%zz%41"), "%zzA");
    EXPECT_EQ(http::percent_decoded("%%41"), "%A");
}

}  // namespace url_test
