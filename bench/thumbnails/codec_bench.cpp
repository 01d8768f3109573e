// codec_bench: the CPU cost of one thumbnail, for the thumbnail function's codec stack and
// for the libvips path it replaced, on the same images in the same process.
//
//   thumbnails_codec_bench --stack new|vips --size PX FILE...
//
// Reads every FILE into memory, then makes a JPEG (quality 80) thumbnail of each, one thread,
// and prints one line per image ("<file> <width> <height> <bytes>") and a last line
// "cpu_seconds <s>": the process's CPU time (user + system, every thread: libvips runs its
// one worker on a thread of its own) over the thumbnails alone. codec_compare.py runs it
// alternately with Pillow and reads these lines.
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "failure.hpp"
#include "image.hpp"
#include "vips_thumbnail.hpp"

namespace {

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

struct line {
    int width = 0, height = 0;
    std::size_t bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
    std::string stack;
    int size = 256;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--stack") == 0 && i + 1 < argc) {
            stack = argv[++i];
        } else if (std::strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            size = std::stoi(argv[++i]);
        } else {
            files.emplace_back(argv[i]);
        }
    }
    if ((stack != "new" && stack != "vips") || files.empty()) {
        std::fprintf(stderr,
                     "usage: thumbnails_codec_bench --stack new|vips [--size PX] FILE...\n");
        return 2;
    }
    std::vector<std::string> images;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "cannot read %s\n", f.c_str());
            return 1;
        }
        images.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (stack == "vips") thumbnails_bench::start_vips(argv[0]);

    std::vector<line> lines(images.size());
    const thumbnails::thumbnail_params p{50'000'000, size, thumbnails::output_format::jpeg};
    const double start = cpu_seconds();
    for (std::size_t i = 0; i < images.size(); ++i) {
        try {
            if (stack == "new") {
                const thumbnails::thumbnail t = thumbnails::make_thumbnail(images[i], p);
                lines[i] = {t.thumb_width, t.thumb_height, t.bytes.size()};
            } else {
                const auto t = thumbnails_bench::vips_thumbnail(images[i], size);
                lines[i] = {t.width, t.height, t.bytes.size()};
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: %s\n", files[i].c_str(), e.what());
            return 1;
        }
    }
    const double spent = cpu_seconds() - start;
    for (std::size_t i = 0; i < images.size(); ++i) {
        std::printf("%s %d %d %zu\n", files[i].c_str(), lines[i].width, lines[i].height,
                    lines[i].bytes);
    }
    std::printf("cpu_seconds %.6f\n", spent);
    return 0;
}
