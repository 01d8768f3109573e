// The thumbnail tests' main: libvips, which makes and reads the test images (the function
// itself does not use it), starts once.
#include <cstdio>

#include <gtest/gtest.h>
#include <vips/vips8>

int main(int argc, char** argv) {
    if (VIPS_INIT(argc > 0 ? argv[0] : "thumbnails_tests") != 0) {
        std::fprintf(stderr, "libvips failed to start: %s\n", vips_error_buffer());
        return 1;
    }
    vips_concurrency_set(1);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
