// The thumbnail tests' main: libvips starts once, as in the function.
#include <cstdio>

#include <gtest/gtest.h>

#include "image.hpp"

int main(int argc, char** argv) {
    if (const auto failure = thumbnails::start_vips(argc > 0 ? argv[0] : nullptr)) {
        std::fprintf(stderr, "%s\n", failure->c_str());
        return 1;
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
