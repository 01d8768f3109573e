// The function with its AWS stores: thumbnails in S3 (s3rver, behind a front that verifies
// every signature with AWS's JavaScript signer) and metadata in DynamoDB (dynalite), both from
// npm, on 127.0.0.1, with dummy credentials. The function runs under `muster invoke` like the
// other invoke tests; what it wrote is read back through muster::aws.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/this_coro.hpp>
#include <boost/json/array.hpp>
#include <gtest/gtest.h>

#include <muster/aws.hpp>
#include <muster/http/client.hpp>

#include "aws/aws_test_support.hpp"
#include "aws_stores.hpp"
#include "core/test_support.hpp"
#include "fixtures.hpp"
#include "function.hpp"
#include "invoke.hpp"
#include "support.hpp"
#include "test_origin.hpp"

namespace thumbnails_test {
namespace aws_stores_test {
namespace {

namespace asio = boost::asio;
namespace aws = muster::aws;
namespace attr = muster::aws::attr;
namespace json = boost::json;

constexpr const char* bucket = "muster-test";  // s3rver.mjs creates it
constexpr const char* prefix = "thumbs/";

/// What the stores hold for one thumbnail key.
struct stored {
    std::optional<std::string> object;  ///< The S3 object's body.
    std::optional<json::object> item;   ///< The DynamoDB item.
};

class AwsStoresTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!muster_test::peers_installed("s3rver") || !muster_test::peers_installed("dynalite"))
            return;
        objects_ = std::make_unique<muster_test::temp_dir>();
        s3_ = std::make_unique<muster_test::node_peer>(
            muster_test::peers_dir, muster_test::aws_scripts + "/s3rver.mjs",
            std::vector<std::string>{objects_->path().string()});
        dynamodb_ = std::make_unique<muster_test::node_peer>(
            muster_test::peers_dir, muster_test::aws_scripts + "/dynalite.mjs");
    }
    static void TearDownTestSuite() {
        dynamodb_.reset();
        s3_.reset();
        objects_.reset();
    }

    void SetUp() override {
        if (!s3_) GTEST_SKIP() << "s3rver or dynalite is not installed in " << muster_test::peers_dir;
        table_ = std::string("thumbs-") +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name();
        muster_test::run(with_clients([table = table_](aws::s3, aws::dynamodb ddb)
                                          -> asio::awaitable<void> {
            // The table the SAM template declares: partition key thumbnail_key.
            auto creating = muster_test::create_table(ddb, table, "thumbnail_key");
            co_await std::move(creating);
        }));
    }

    /// s3rver's credentials; each service at its own stand-in.
    static aws::config cfg() {
        aws::config c = muster_test::local_config("");
        c.s3_endpoint = s3_->url();
        c.dynamodb_endpoint = dynamodb_->url();
        return c;
    }

    /// The function's settings for both AWS stores, as a deployment sets them.
    std::map<std::string, std::string> function_env() const {
        return {{"THUMBNAILS_THUMBNAIL_STORE", "s3"},
                {"THUMBNAILS_BUCKET", bucket},
                {"THUMBNAILS_THUMBNAIL_PREFIX", prefix},
                {"THUMBNAILS_METADATA_STORE", "dynamodb"},
                {"THUMBNAILS_TABLE", table_},
                {"AWS_ACCESS_KEY_ID", "S3RVER"},
                {"AWS_SECRET_ACCESS_KEY", "S3RVER"},
                {"AWS_SESSION_TOKEN", "dummy-session-token"},
                {"AWS_ENDPOINT_URL_S3", s3_->url()},
                {"AWS_ENDPOINT_URL_DYNAMODB", dynamodb_->url()},
                {"THUMBNAILS_SIZE", "128"}};
    }

    template <class Body>
    static asio::awaitable<void> with_clients(Body body) {
        auto ex = co_await asio::this_coro::executor;
        muster::http::client http{ex};
        auto running = body(aws::s3{http, cfg()}, aws::dynamodb{http, cfg()});
        co_await std::move(running);
    }

    /// The object and the item of `key`, as the stand-ins hold them now.
    stored read(const std::string& key) const {
        stored out;
        muster_test::run(with_clients([&](aws::s3 s3, aws::dynamodb ddb) -> asio::awaitable<void> {
            try {
                auto get = s3.get_object(bucket, prefix + key);
                out.object = (co_await std::move(get)).body;
            } catch (const aws::error& e) {
                if (e.code() != "NoSuchKey") throw;
            }
            aws::get_item_options o;
            o.consistent_read = true;
            auto get_item = ddb.get_item(table_, json::object{{"thumbnail_key", attr::s(key)}}, o);
            out.item = co_await std::move(get_item);
        }));
        return out;
    }

    static inline std::unique_ptr<muster_test::temp_dir> objects_;
    static inline std::unique_ptr<muster_test::node_peer> s3_;
    static inline std::unique_ptr<muster_test::node_peer> dynamodb_;
    std::string table_;
};

std::string key_of(const std::string& url) {
    return thumbnails::thumbnail_key(url, thumbnails::output_format::jpeg);
}

TEST_F(AwsStoresTest, EverySuccessHasItsObjectAndItemAndNoFailureLeavesEither) {
    temp_dir dir;
    test_origin origin;
    const std::string o = origin.url();
    origin.add("/img/photo.jpg", jpeg(640, 480, 0));
    origin.add("/img/alpha.png", png(300, 200, 2, true));
    origin.add("/img/pic.webp", webp(200, 300, 1));
    origin.add("/s3/photos/a.jpg", jpeg(120, 90, 1));
    origin.add("/img/notes.txt", "these are notes, not an image\n");
    origin.add("/img/cut.jpg", truncated(jpeg(640, 480, 2), 0.5));

    const std::vector<std::pair<std::string, std::string>> records{
        {"good-jpeg", o + "/img/photo.jpg"},
        {"good-png", o + "/img/alpha.png"},
        {"good-webp", o + "/img/pic.webp"},
        {"missing", o + "/img/missing.jpg"},
        {"text", o + "/img/notes.txt"},
        {"truncated", o + "/img/cut.jpg"},
        // a.jpg is stored before gone.jpg fails: its object must go again.
        {"s3-partly-missing", s3_notification({"a.jpg", "gone.jpg"}, "photos")},
    };
    auto env = function_env();
    env.emplace("THUMBNAILS_S3_BASE_URL", o + "/s3");
    const auto r = invoke(dir, sqs_event(records), env);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.log;
    ASSERT_EQ(r.responses.size(), 1u) << r.out;
    const auto failed = failed_ids(r.responses[0]);
    EXPECT_EQ(std::set<std::string>(failed.begin(), failed.end()),
              (std::set<std::string>{"missing", "text", "truncated", "s3-partly-missing"}))
        << r.log;

    for (const std::string& url : {o + "/img/photo.jpg", o + "/img/alpha.png", o + "/img/pic.webp"}) {
        const std::string key = key_of(url);
        const stored s = read(key);
        ASSERT_TRUE(s.object) << url << ": no S3 object " << prefix << key;
        const auto [width, height] = dimensions(*s.object);
        EXPECT_EQ(std::max(width, height), 128) << url;
        ASSERT_TRUE(s.item) << url << ": no DynamoDB item";
        EXPECT_EQ(attr::get_string(*s.item, "source_url"), url);
        EXPECT_EQ(attr::get_string(*s.item, "thumbnail_location"),
                  std::string("s3://") + bucket + "/" + prefix + key);
        EXPECT_EQ(attr::get_int(*s.item, "thumbnail_width"), width);
        EXPECT_EQ(attr::get_int(*s.item, "thumbnail_height"), height);
        EXPECT_EQ(attr::get_int(*s.item, "thumbnail_bytes"),
                  static_cast<std::int64_t>(s.object->size()));
        EXPECT_EQ(attr::get_string(*s.item, "dhash")->size(), 16u);
    }
    EXPECT_EQ(attr::get_int(*read(key_of(o + "/img/photo.jpg")).item, "width"), 640);
    EXPECT_EQ(attr::get_string(*read(key_of(o + "/img/photo.jpg")).item, "message_id"),
              "good-jpeg");

    for (const std::string& url : {o + "/img/missing.jpg", o + "/img/notes.txt", o + "/img/cut.jpg",
                                  o + "/s3/photos/a.jpg", o + "/s3/photos/gone.jpg"}) {
        const stored s = read(key_of(url));
        EXPECT_FALSE(s.object) << url << " failed but left an S3 object";
        EXPECT_FALSE(s.item) << url << " failed but left a DynamoDB item";
    }
    const auto summaries = batch_summaries(r.log);
    ASSERT_EQ(summaries.size(), 1u);
    EXPECT_EQ(summaries[0].at("rows_committed").as_int64(), 3);
    EXPECT_EQ(summaries[0].at("thumbnails_removed").as_int64(), 1);
    // Nothing went to the local stores.
    EXPECT_TRUE(files_in(dir.path + "/out/thumbs").empty());
}

/// A row as the pipeline makes it, for the image at `path`.
thumbnails::metadata_record record(const std::string& path) {
    thumbnails::metadata_record r;
    r.source_url = "http://127.0.0.1" + path;
    r.message_id = "m" + path;
    r.request_id = "request-1";
    r.source_bytes = 1000;
    r.width = 640;
    r.height = 480;
    r.format = "jpeg";
    r.thumbnail_key = key_of(r.source_url);
    r.thumbnail_location = "s3://bucket/" + r.thumbnail_key;
    r.thumbnail_format = "jpeg";
    r.thumbnail_width = 128;
    r.thumbnail_height = 96;
    r.thumbnail_bytes = 900;
    r.dhash = 0x0123456789abcdefULL;
    r.average_color = "#102030";
    r.processed_at = "2026-01-01T00:00:00.000Z";
    return r;
}

TEST_F(AwsStoresTest, AFailedBatchLeavesNoItemOfItBehind) {
    // 30 records are two BatchWriteItem requests (25 + 5). The 28th is over DynamoDB's item
    // size limit, so the second request fails after the first was written: the store must
    // take the first 25 back, and leave an item that is not part of the batch alone.
    std::vector<thumbnails::metadata_record> records;
    for (int i = 0; i < 30; ++i) records.push_back(record("/img/" + std::to_string(i) + ".jpg"));
    records[27].average_color = std::string(500 * 1024, 'x');
    const thumbnails::metadata_record other = record("/img/other.jpg");

    std::string error;
    muster_test::run(with_clients([&](aws::s3, aws::dynamodb ddb) -> asio::awaitable<void> {
        thumbnails::dynamodb_store store{ddb, table_};
        auto first = store.commit({other});
        co_await std::move(first);
        try {
            auto commit = store.commit(records);
            co_await std::move(commit);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }));
    EXPECT_NE(error, "") << "the batch with an oversized item was accepted";
    EXPECT_NE(error.find("ValidationException"), std::string::npos) << error;
    for (const auto& r : records) {
        EXPECT_FALSE(read(r.thumbnail_key).item) << r.source_url << " was left behind";
    }
    EXPECT_TRUE(read(other.thumbnail_key).item);

    std::vector<std::string> committed;
    muster_test::run(with_clients([&](aws::s3, aws::dynamodb ddb) -> asio::awaitable<void> {
        thumbnails::dynamodb_store store{ddb, table_};
        auto keys = store.committed_keys({other.thumbnail_key, records[0].thumbnail_key});
        committed = co_await std::move(keys);
    }));
    EXPECT_EQ(committed, std::vector<std::string>{other.thumbnail_key});
}

TEST_F(AwsStoresTest, CommittedKeysAreReadManyAtATime) {
    // 130 committed, 20 never written: more keys than one BatchGetItem takes.
    std::vector<thumbnails::metadata_record> records;
    for (int i = 0; i < 130; ++i) records.push_back(record("/many/" + std::to_string(i) + ".jpg"));
    std::vector<std::string> asked;
    for (const auto& r : records) asked.push_back(r.thumbnail_key);
    for (int i = 0; i < 20; ++i) asked.push_back(key_of("http://127.0.0.1/absent/" + std::to_string(i)));
    std::vector<std::string> committed;
    muster_test::run(with_clients([&](aws::s3, aws::dynamodb ddb) -> asio::awaitable<void> {
        thumbnails::dynamodb_store store{ddb, table_};
        auto commit = store.commit(records);
        co_await std::move(commit);
        auto keys = store.committed_keys(asked);
        committed = co_await std::move(keys);
    }));
    std::sort(committed.begin(), committed.end());
    std::vector<std::string> expected(asked.begin(), asked.begin() + 130);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(committed, expected);
}

TEST_F(AwsStoresTest, SignedS3SourcesAreReadWithTheFunctionsCredentials) {
    // The bucket is private: s3rver's front refuses unsigned requests. The function reads the
    // notification's objects with presigned GETs, and names them by their s3:// URI.
    const std::string jpeg_bytes = jpeg(400, 300, 2);
    muster_test::run(with_clients([&](aws::s3 s3, aws::dynamodb) -> asio::awaitable<void> {
        auto put = s3.put_object(bucket, "sources/summer trip/a+b.jpg", jpeg_bytes);
        co_await std::move(put);
    }));
    temp_dir dir;
    auto env = function_env();
    env.emplace("THUMBNAILS_S3_SOURCES", "signed");
    const auto r = invoke(
        dir,
        sqs_event({{"present", s3_notification({"sources/summer+trip/a%2Bb.jpg"}, bucket)},
                   {"absent", s3_notification({"sources/gone.jpg"}, bucket)}}),
        env);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.log;
    ASSERT_EQ(r.responses.size(), 1u) << r.out;
    EXPECT_EQ(failed_ids(r.responses[0]), std::vector<std::string>{"absent"}) << r.log;

    const std::string source = std::string("s3://") + bucket + "/sources/summer%20trip/a%2Bb.jpg";
    const stored s = read(key_of(source));
    ASSERT_TRUE(s.object) << r.log;
    EXPECT_EQ(dimensions(*s.object), (std::pair<int, int>{128, 96}));
    ASSERT_TRUE(s.item);
    EXPECT_EQ(attr::get_string(*s.item, "source_url"), source);
    EXPECT_EQ(attr::get_int(*s.item, "source_bytes"), static_cast<std::int64_t>(jpeg_bytes.size()));

    const auto failures = logged_failures(r.log);
    ASSERT_EQ(failures.size(), 1u) << r.log;
    EXPECT_EQ(failures[0].reason, "image_missing");
    EXPECT_EQ(failures[0].url, std::string("s3://") + bucket + "/sources/gone.jpg");
    // A presigned URL is a credential: it never reaches the log.
    EXPECT_EQ(r.log.find("X-Amz-Signature"), std::string::npos) << r.log;
    EXPECT_EQ(r.log.find("X-Amz-Credential"), std::string::npos) << r.log;
}

TEST_F(AwsStoresTest, WithoutCredentialsTheInitFailsNamingWhatIsMissing) {
    temp_dir dir;
    auto env = function_env();
    env.erase("AWS_SECRET_ACCESS_KEY");
    const auto r = invoke(dir, sqs_event({}), env);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.log;
    EXPECT_NE((r.out + r.log).find("Thumbnails.InvalidConfiguration"), std::string::npos)
        << r.out << r.log;
    EXPECT_NE((r.out + r.log).find("AWS_SECRET_ACCESS_KEY is not set"), std::string::npos)
        << r.out << r.log;
}

}  // namespace
}  // namespace aws_stores_test
}  // namespace thumbnails_test
