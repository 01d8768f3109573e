#include <muster/aws/attribute.hpp>

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

namespace attribute_test {

namespace {

namespace attr = muster::aws::attr;
namespace json = boost::json;

TEST(AttributeTest, BuildersWriteDynamoDbsAttributeValueForm) {
    json::object item{{"pk", attr::s("a")},
                      {"n", attr::n(std::int64_t{42})},
                      {"d", attr::n(0.5)},
                      {"ok", attr::boolean(true)},
                      {"none", attr::null()},
                      {"tags", attr::ss({"x", "y"})},
                      {"list", attr::l(json::array{attr::s("z")})},
                      {"map", attr::m(json::object{{"k", attr::n_text("1e3")}})}};
    EXPECT_EQ(json::serialize(item),
              R"({"pk":{"S":"a"},"n":{"N":"42"},"d":{"N":"0.5"},"ok":{"BOOL":true},)"
              R"("none":{"NULL":true},"tags":{"SS":["x","y"]},"list":{"L":[{"S":"z"}]},)"
              R"("map":{"M":{"k":{"N":"1e3"}}}})");
}

TEST(AttributeTest, AnyIntegerIsANumberExactly) {
    // `attr::n(640)` is what a user writes: an int must not be ambiguous
    // between the int64 and double builders.
    EXPECT_EQ(json::serialize(attr::n(640)), R"({"N":"640"})");
    EXPECT_EQ(json::serialize(attr::n(short{-3})), R"({"N":"-3"})");
    EXPECT_EQ(json::serialize(attr::n(std::size_t{20480})), R"({"N":"20480"})");
    EXPECT_EQ(json::serialize(attr::n(std::uint64_t{18446744073709551615u})),
              R"({"N":"18446744073709551615"})");
    EXPECT_EQ(json::serialize(attr::n(2.5f)), R"({"N":"2.5"})");
}

TEST(AttributeTest, ReadersReturnNothingForAMissingOrOtherType) {
    json::object item{{"pk", attr::s("a")}, {"n", attr::n(std::int64_t{-7})}};
    EXPECT_EQ(attr::get_string(item, "pk"), "a");
    EXPECT_EQ(attr::get_int(item, "n"), -7);
    EXPECT_EQ(attr::get_double(item, "n"), -7.0);
    EXPECT_FALSE(attr::get_string(item, "n"));
    EXPECT_FALSE(attr::get_int(item, "pk"));
    EXPECT_FALSE(attr::get_bool(item, "missing"));
}

TEST(AttributeTest, BinaryRoundTripsThroughBase64) {
    for (std::string bytes : {std::string(""), std::string("a"), std::string("ab"),
                              std::string("abc"), std::string("\0\xff\x10", 3)}) {
        json::object item{{"b", attr::b(bytes)}};
        EXPECT_EQ(attr::get_binary(item, "b"), bytes);
    }
    EXPECT_EQ(json::serialize(attr::b("hello")), R"({"B":"aGVsbG8="})");
}

}  // namespace

}  // namespace attribute_test
