#include "resize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace thumbnails {

namespace {

constexpr int precision_bits = 22;  // 8-bit samples times weights of up to ~1.2 fit in int32

double bicubic(double x) {
    constexpr double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}
constexpr double bicubic_support = 2.0;
constexpr int reducing_gap = 2;

/// For each output position: the first input sample and its fixed-point weights.
struct weights {
    std::vector<int> first;
    std::vector<int> count;
    std::vector<std::int32_t> values;  // `stride` per output position
    int stride = 0;
};

weights compute_weights(int in_size, int out_size) {
    const double scale = static_cast<double>(in_size) / out_size;
    const double filter_scale = std::max(scale, 1.0);
    const double support = bicubic_support * filter_scale;
    weights w;
    w.stride = static_cast<int>(std::ceil(support)) * 2 + 1;
    w.first.resize(static_cast<std::size_t>(out_size));
    w.count.resize(static_cast<std::size_t>(out_size));
    w.values.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(w.stride), 0);
    std::vector<double> k(static_cast<std::size_t>(w.stride));
    for (int o = 0; o < out_size; ++o) {
        const double centre = (o + 0.5) * scale;
        const int lo = std::max(static_cast<int>(centre - support + 0.5), 0);
        const int hi = std::min(static_cast<int>(centre + support + 0.5), in_size);
        const int n = std::min(hi - lo, w.stride);
        double total = 0;
        for (int i = 0; i < n; ++i) {
            k[static_cast<std::size_t>(i)] = bicubic((i + lo - centre + 0.5) / filter_scale);
            total += k[static_cast<std::size_t>(i)];
        }
        std::int32_t* dst =
            w.values.data() + static_cast<std::size_t>(o) * static_cast<std::size_t>(w.stride);
        for (int i = 0; i < n; ++i) {
            const double normalised = total != 0 ? k[static_cast<std::size_t>(i)] / total : 0;
            dst[i] = static_cast<std::int32_t>(std::lround(normalised * (1 << precision_bits)));
        }
        w.first[static_cast<std::size_t>(o)] = lo;
        w.count[static_cast<std::size_t>(o)] = n;
    }
    return w;
}

inline std::uint8_t clip8(std::int32_t v) {
    v >>= precision_bits;
    return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

template <int C>
void resample_rows(const raster& in, raster& out, const weights& w) {
    for (int y = 0; y < in.height; ++y) {
        const std::uint8_t* src = in.row(y);
        std::uint8_t* dst = out.row(y);
        for (int x = 0; x < out.width; ++x) {
            const std::int32_t* k =
                w.values.data() + static_cast<std::size_t>(x) * static_cast<std::size_t>(w.stride);
            const std::uint8_t* s =
                src + static_cast<std::size_t>(w.first[static_cast<std::size_t>(x)]) * C;
            const int n = w.count[static_cast<std::size_t>(x)];
            std::int32_t acc[C];
            for (int c = 0; c < C; ++c) acc[c] = 1 << (precision_bits - 1);
            for (int i = 0; i < n; ++i, s += C) {
                for (int c = 0; c < C; ++c) acc[c] += s[c] * k[i];
            }
            for (int c = 0; c < C; ++c) dst[x * C + c] = clip8(acc[c]);
        }
    }
}

void resample_columns(const raster& in, raster& out, const weights& w) {
    const std::size_t row_bytes = in.stride();
    std::vector<std::int32_t> acc(row_bytes);
    for (int y = 0; y < out.height; ++y) {
        const std::int32_t* k =
            w.values.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(w.stride);
        const int first = w.first[static_cast<std::size_t>(y)];
        const int n = w.count[static_cast<std::size_t>(y)];
        std::fill(acc.begin(), acc.end(), 1 << (precision_bits - 1));
        // Row by row, so the inner loop runs along contiguous memory and vectorises.
        for (int i = 0; i < n; ++i) {
            const std::uint8_t* s = in.row(first + i);
            const std::int32_t weight = k[i];
            for (std::size_t b = 0; b < row_bytes; ++b) acc[b] += s[b] * weight;
        }
        std::uint8_t* dst = out.row(y);
        for (std::size_t b = 0; b < row_bytes; ++b) dst[b] = clip8(acc[b]);
    }
}

/// Each `fx` x `fy` block averaged into one pixel (the blocks of the last column and row may
/// be smaller: they average what they have), as Pillow's `reduce`.
raster reduce_box(const raster& in, int fx, int fy) {
    const int c = in.channels;
    const int w = (in.width + fx - 1) / fx, h = (in.height + fy - 1) / fy;
    raster out = raster::of_size(w, h, c);
    std::vector<std::uint32_t> sums(static_cast<std::size_t>(w) * static_cast<std::size_t>(c));
    for (int oy = 0; oy < h; ++oy) {
        std::fill(sums.begin(), sums.end(), 0u);
        const int y0 = oy * fy, y1 = std::min(y0 + fy, in.height);
        for (int y = y0; y < y1; ++y) {
            const std::uint8_t* s = in.row(y);
            // Whole blocks first, in a loop the compiler can keep in registers.
            const int whole = in.width / fx;
            for (int ox = 0; ox < whole; ++ox) {
                std::uint32_t* sum =
                    sums.data() + static_cast<std::size_t>(ox) * static_cast<std::size_t>(c);
                const std::uint8_t* p =
                    s + static_cast<std::size_t>(ox) * static_cast<std::size_t>(fx * c);
                for (int i = 0; i < fx; ++i, p += c) {
                    for (int k = 0; k < c; ++k) sum[k] += p[k];
                }
            }
            for (int x = whole * fx; x < in.width; ++x) {
                std::uint32_t* sum =
                    sums.data() + static_cast<std::size_t>(whole) * static_cast<std::size_t>(c);
                for (int k = 0; k < c; ++k) sum[k] += s[static_cast<std::size_t>(x * c + k)];
            }
        }
        std::uint8_t* d = out.row(oy);
        for (int ox = 0; ox < w; ++ox) {
            const auto n = static_cast<std::uint32_t>(std::min(fx, in.width - ox * fx) * (y1 - y0));
            for (int k = 0; k < c; ++k) {
                const std::size_t i = static_cast<std::size_t>(ox * c + k);
                d[i] = static_cast<std::uint8_t>((sums[i] + n / 2) / n);
            }
        }
    }
    return out;
}

void premultiply(raster& image) {
    for (std::size_t i = 0; i < image.pixels.size(); i += 4) {
        std::uint8_t* p = image.pixels.data() + i;
        const int a = p[3];
        for (int c = 0; c < 3; ++c) p[c] = static_cast<std::uint8_t>((p[c] * a + 127) / 255);
    }
}

void unpremultiply(raster& image) {
    for (std::size_t i = 0; i < image.pixels.size(); i += 4) {
        std::uint8_t* p = image.pixels.data() + i;
        const int a = p[3];
        for (int c = 0; c < 3; ++c) {
            p[c] = a == 0 ? 0 : static_cast<std::uint8_t>(std::min(255, (p[c] * 255 + a / 2) / a));
        }
    }
}

}  // namespace

raster resize(raster image, int width, int height) {
    if (width == image.width && height == image.height) return image;
    raster source = std::move(image);
    const bool alpha = source.channels == 4;
    if (alpha) premultiply(source);
    // Large reductions start with a box filter down to twice the target (Pillow's
    // reducing_gap of 2): the convolution after it then spans a few pixels instead of dozens,
    // and at that distance from the target a box average looks no different.
    const int fx = std::max(1, source.width / width / reducing_gap);
    const int fy = std::max(1, source.height / height / reducing_gap);
    if (fx > 1 || fy > 1) source = reduce_box(source, fx, fy);
    // Columns first: that pass runs along whole rows, which vectorises, and leaves the
    // per-pixel pass across each row only the output's rows to do.
    if (height != source.height) {
        raster tall = raster::of_size(source.width, height, source.channels);
        resample_columns(source, tall, compute_weights(source.height, height));
        source = std::move(tall);
    }
    if (width != source.width) {
        raster wide = raster::of_size(width, source.height, source.channels);
        const weights w = compute_weights(source.width, width);
        if (alpha) {
            resample_rows<4>(source, wide, w);
        } else {
            resample_rows<3>(source, wide, w);
        }
        source = std::move(wide);
    }
    if (alpha) unpremultiply(source);
    return source;
}

}  // namespace thumbnails
