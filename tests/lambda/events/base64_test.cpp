#include <muster/lambda/events/base64.hpp>

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace base64_test {

namespace {

using muster::lambda::base64_decode;
using muster::lambda::base64_encode;

TEST(Base64Test, EncodesWithPadding) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, DecodesWithAndWithoutPadding) {
    EXPECT_EQ(base64_decode("Zg=="), "f");
    EXPECT_EQ(base64_decode("Zm8"), "fo");
    EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
    EXPECT_EQ(base64_decode(""), "");
}

TEST(Base64Test, RoundTripsEveryByte) {
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    for (std::size_t n = 0; n <= all.size(); n += 37)
        EXPECT_EQ(base64_decode(base64_encode(all.substr(0, n))), all.substr(0, n));
}

TEST(Base64Test, RejectsWhatNoEncoderProduces) {
    EXPECT_THROW(base64_decode("Zm9v!"), std::invalid_argument);
    EXPECT_THROW(base64_decode("Z"), std::invalid_argument);
    EXPECT_THROW(base64_decode("Zm8=="), std::invalid_argument);
    EXPECT_THROW(base64_decode("Zm 9v"), std::invalid_argument);
}

}  // namespace

}  // namespace base64_test
