#include "../../src/emulator/base64.hpp"

#include <string>

#include <gtest/gtest.h>

namespace base64_test {

namespace {

using muster::emulator::detail::decode_base64;

TEST(Base64Test, DecodesPaddedAndUnpaddedBase64) {
    EXPECT_EQ(decode_base64("eyJ4IjoxfQ=="), R"({"x":1})");
    EXPECT_EQ(decode_base64("eyJ4IjoxfQ"), R"({"x":1})");
    EXPECT_EQ(decode_base64(""), "");
}

TEST(Base64Test, DecodesTheWholeAlphabet) {
    EXPECT_EQ(decode_base64("TWFu"), "Man");
    EXPECT_EQ(decode_base64("//8="), "\xff\xff");
    EXPECT_EQ(decode_base64("+/+/"), "\xfb\xff\xbf");
    EXPECT_EQ(
        decode_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4"
                      "OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1u"
                      "b3BxcnN0dXZ3eHl6e3x9fn8="),
        [] {
            std::string all;
            for (int i = 0; i < 128; ++i) all += static_cast<char>(i);
            return all;
        }());
}

TEST(Base64Test, StopsAtTheFirstCharacterThatIsNotBase64) {
    EXPECT_EQ(decode_base64("eyJ4Ijox%%%"), R"({"x":1)");
}

// Found by fuzz/emulator_http: a length that is no multiple of 4 made the
// decoder write past its buffer (AddressSanitizer reports it here).
TEST(Base64Test, ALengthThatIsNoMultipleOfFourStaysInItsBuffer) {
    for (std::size_t length : {1001u, 1002u, 1003u, 7u}) {
        const std::string decoded = decode_base64(std::string(length, 'A'));
        EXPECT_EQ(decoded, std::string(length * 6 / 8, '\0')) << length;
    }
}

}  // namespace

}  // namespace base64_test
