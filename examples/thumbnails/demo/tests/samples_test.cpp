// thumbnails_samples, run as the demo runs it: the same seed writes the same bytes, and every
// manifest item is what the manifest says (decodes or fails to, in libvips).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <vips/vips8>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int count = 16;

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Runs thumbnails_samples into a fresh directory under the test's temporary directory.
fs::path generate(const std::string& name, const std::string& arguments) {
    const fs::path out = fs::path(THUMBNAILS_DEMO_TEST_DIR) / name;
    fs::remove_all(out);
    fs::create_directories(out.parent_path());
    const std::string command = std::string(THUMBNAILS_SAMPLES) + " --out " + out.string() + " " +
                                arguments + " > " + (out.string() + ".out") + " 2>&1";
    const int status = std::system(command.c_str());
    EXPECT_EQ(status, 0) << command << "\n" << read_file(out.string() + ".out");
    return out;
}

/// Every file under `dir`, relative path -> contents.
std::map<std::string, std::string> contents(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.is_regular_file()) {
            files[fs::relative(entry.path(), dir).string()] = read_file(entry.path());
        }
    }
    return files;
}

/// Decodes every pixel (libvips loads lazily: a header alone proves little).
void decode(const vips::VImage& image) { (void)image.avg(); }

class SamplesTest : public testing::Test {
  protected:
    static void SetUpTestSuite() {
        out_ = new fs::path(generate("seed7", "--count " + std::to_string(count) + " --seed 7"));
        manifest_ = new json::value(json::parse(read_file(*out_ / "manifest.json")));
    }
    static void TearDownTestSuite() {
        delete manifest_;
        delete out_;
    }

    static const json::array& items() { return manifest_->at("items").as_array(); }
    static const json::object& item_of_kind(std::string_view kind) {
        for (const auto& i : items()) {
            if (i.at("kind").as_string() == kind) return i.as_object();
        }
        ADD_FAILURE() << "no item of kind " << kind;
        static const json::object none;
        return none;
    }
    static fs::path file_of(const json::object& item) {
        return *out_ / std::string(item.at("file").as_string());
    }

    static fs::path* out_;
    static json::value* manifest_;
};

fs::path* SamplesTest::out_ = nullptr;
json::value* SamplesTest::manifest_ = nullptr;

TEST_F(SamplesTest, SameSeedWritesTheSameBytesWhateverTheJobs) {
    const fs::path again =
        generate("seed7-again", "--count " + std::to_string(count) + " --seed 7 --jobs 1");
    const auto first = contents(*out_);
    const auto second = contents(again);
    ASSERT_EQ(first.size(), second.size());
    for (const auto& [name, bytes] : first) {
        ASSERT_TRUE(second.contains(name)) << name;
        EXPECT_TRUE(second.at(name) == bytes) << name << " differs";
    }
}

TEST_F(SamplesTest, AnotherSeedWritesOtherImages) {
    const fs::path other = generate("seed8", "--count 4 --seed 8");
    const auto theirs = contents(other);
    const auto ours = contents(*out_);
    int same = 0;
    for (const auto& [name, bytes] : theirs) {
        if (name.starts_with("images/0") && ours.contains(name) && ours.at(name) == bytes) ++same;
    }
    EXPECT_EQ(same, 0);
}

TEST_F(SamplesTest, ManifestDescribesTheSet) {
    EXPECT_EQ(manifest_->at("format").as_string(), "muster-thumbnails-samples/1");
    EXPECT_EQ(manifest_->at("seed").as_int64(), 7);
    EXPECT_EQ(manifest_->at("count").as_int64(), count);
    EXPECT_FALSE(manifest_->at("crash_marker").as_string().empty());

    const std::set<std::string> reasons = {"not_found",       "not_an_image", "truncated",
                                           "too_many_pixels", "timeout",      "worker_crashed"};
    std::set<std::string> paths;
    std::set<std::string> failing_reasons;
    std::map<std::string, int> kinds;
    int ok = 0;
    for (const auto& v : items()) {
        const auto& i = v.as_object();
        const std::string path(i.at("path").as_string());
        EXPECT_TRUE(paths.insert(path).second) << "two items at " << path;
        EXPECT_TRUE(path.starts_with("/images/") || path.starts_with("/slow/images/")) << path;
        ++kinds[std::string(i.at("kind").as_string())];
        if (i.at("expected").as_string() == "ok") {
            ++ok;
            EXPECT_TRUE(i.at("reason").is_null()) << path;
        } else {
            EXPECT_EQ(i.at("expected").as_string(), "failed") << path;
            const std::string reason(i.at("reason").as_string());
            EXPECT_TRUE(reasons.contains(reason)) << path << ": " << reason;
            failing_reasons.insert(reason);
        }
        if (!i.at("file").is_null()) {
            const fs::path file = file_of(i);
            ASSERT_TRUE(fs::is_regular_file(file)) << file;
            EXPECT_EQ(fs::file_size(file), i.at("bytes").as_int64()) << file;
        }
    }
    EXPECT_EQ(ok, count);
    EXPECT_EQ(failing_reasons, reasons) << "every reason has its case";
    EXPECT_GT(kinds["jpeg"], 0);
    EXPECT_GT(kinds["png"], 0);
    EXPECT_GT(kinds["webp"], 0);
}

TEST_F(SamplesTest, GoodImagesDecodeAtTheirSize) {
    for (const auto& v : items()) {
        const auto& i = v.as_object();
        if (i.at("expected").as_string() != "ok") continue;
        const fs::path file = file_of(i);
        SCOPED_TRACE(file.string());
        vips::VImage image = vips::VImage::new_from_file(
            file.c_str(), vips::VImage::option()->set("fail_on", VIPS_FAIL_ON_WARNING));
        EXPECT_EQ(image.width(), i.at("width").as_int64());
        EXPECT_EQ(image.height(), i.at("height").as_int64());
        EXPECT_NO_THROW(decode(image));
        EXPECT_EQ(fs::path(file).extension().string().substr(1),
                  std::string(i.at("kind").as_string()) == "jpeg"
                      ? "jpg"
                      : std::string(i.at("kind").as_string()));
    }
}

TEST_F(SamplesTest, SizesVaryUpToAFewMegapixels) {
    std::int64_t smallest = INT64_MAX;
    std::int64_t largest = 0;
    for (const auto& v : items()) {
        const auto& i = v.as_object();
        if (i.at("expected").as_string() != "ok") continue;
        const std::int64_t pixels = i.at("width").as_int64() * i.at("height").as_int64();
        smallest = std::min(smallest, pixels);
        largest = std::max(largest, pixels);
    }
    EXPECT_LT(smallest, 300'000);
    EXPECT_GT(largest, 1'000'000);
    EXPECT_LE(largest, 4'000'000);
}

TEST_F(SamplesTest, TruncatedJpegHasItsHeaderButFailsToDecode) {
    const auto& i = item_of_kind("truncated_jpeg");
    EXPECT_EQ(i.at("reason").as_string(), "truncated");
    const std::string bytes = read_file(file_of(i));
    EXPECT_EQ(bytes.substr(0, 2), "\xff\xd8");
    EXPECT_EQ(bytes.find("\xff\xd9"), std::string::npos) << "no end-of-image marker";
    vips::VImage image = vips::VImage::new_from_file(
        file_of(i).c_str(), vips::VImage::option()->set("fail_on", VIPS_FAIL_ON_TRUNCATED));
    EXPECT_EQ(image.width(), 800);
    EXPECT_THROW(decode(image), vips::VError);
    // What the manifest's note warns of: by default libvips fills in the missing rows and
    // only warns, so a decoder must ask for fail_on=truncated to report it.
    vips::VImage lenient = vips::VImage::new_from_file(
        file_of(i).c_str(), vips::VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
    EXPECT_NO_THROW(decode(lenient));
}

TEST_F(SamplesTest, TextFileIsNotAnImage) {
    const auto& i = item_of_kind("not_an_image");
    EXPECT_EQ(i.at("reason").as_string(), "not_an_image");
    EXPECT_EQ(file_of(i).extension(), ".jpg");
    EXPECT_THROW(vips::VImage::new_from_file(file_of(i).c_str()), vips::VError);
}

TEST_F(SamplesTest, BombDeclaresTenBillionPixelsInAFewKilobytes) {
    const auto& i = item_of_kind("png_bomb");
    EXPECT_EQ(i.at("reason").as_string(), "too_many_pixels");
    const std::string bytes = read_file(file_of(i));
    EXPECT_LT(bytes.size(), 64u * 1024);
    // IHDR's width and height, big-endian, right after the signature and the chunk's header.
    ASSERT_GT(bytes.size(), 24u);
    EXPECT_EQ(bytes.substr(12, 4), "IHDR");
    EXPECT_EQ(bytes.substr(16, 8), std::string("\x00\x01\x86\xa0\x00\x01\x86\xa0", 8));
    vips::VImage header = vips::VImage::new_from_file(file_of(i).c_str());
    EXPECT_EQ(header.width(), 100000);
    EXPECT_EQ(header.height(), 100000);
    EXPECT_EQ(i.at("width").as_int64(), 100000);
}

TEST_F(SamplesTest, CrashCasesCarryTheMarkerAndAreOtherwiseGood) {
    const std::string marker(manifest_->at("crash_marker").as_string());
    for (const char* kind : {"crash_marker_png", "crash_marker_jpeg"}) {
        const auto& i = item_of_kind(kind);
        SCOPED_TRACE(kind);
        EXPECT_EQ(i.at("reason").as_string(), "worker_crashed");
        EXPECT_NE(read_file(file_of(i)).find(marker), std::string::npos);
        vips::VImage image = vips::VImage::new_from_file(
            file_of(i).c_str(), vips::VImage::option()->set("fail_on", VIPS_FAIL_ON_WARNING));
        EXPECT_NO_THROW(decode(image));
    }
    // And nothing else does.
    for (const auto& v : items()) {
        const auto& i = v.as_object();
        if (i.at("reason").is_string() && i.at("reason").as_string() == "worker_crashed") continue;
        if (i.at("file").is_null()) continue;
        EXPECT_EQ(read_file(file_of(i)).find(marker), std::string::npos) << i.at("path");
    }
}

TEST_F(SamplesTest, MissingAndSlowEntries) {
    const auto& missing = item_of_kind("missing");
    EXPECT_EQ(missing.at("reason").as_string(), "not_found");
    EXPECT_TRUE(missing.at("file").is_null());
    EXPECT_FALSE(fs::exists(*out_ / std::string(missing.at("path").as_string()).substr(1)));

    const auto& slow = item_of_kind("slow");
    EXPECT_EQ(slow.at("reason").as_string(), "timeout");
    const std::string path(slow.at("path").as_string());
    ASSERT_TRUE(path.starts_with("/slow/"));
    // The origin serves /slow/<rest> from <rest>.
    EXPECT_EQ(fs::path(path.substr(6)), fs::path(std::string(slow.at("file").as_string())));
    vips::VImage image = vips::VImage::new_from_file(file_of(slow).c_str());
    EXPECT_NO_THROW(decode(image));
}

}  // namespace

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    if (VIPS_INIT(argv[0]) != 0) {
        std::fprintf(stderr, "libvips failed to start\n");
        return 1;
    }
    const int code = RUN_ALL_TESTS();
    vips_shutdown();
    return code;
}
