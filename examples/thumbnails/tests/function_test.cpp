// The handler in this process, on an io_context of the test's own, with stores that fail on
// purpose: what a failed store or commit, a duplicate source and the deadline do to the
// response, the rows and the files.
#include "function.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <muster/core/scope.hpp>
#include <muster/lambda/events/event_error.hpp>
#include <muster/lambda/invocation.hpp>
#include <muster/lambda/response_stream.hpp>

#include "directory_store.hpp"
#include "fixtures.hpp"
#include "sqlite_store.hpp"
#include "support.hpp"
#include "test_origin.hpp"

namespace thumbnails_test {
namespace function_test {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using thumbnails::metadata_record;

/// The function's standard error while it lives, captured into a file.
class captured_stderr {
  public:
    captured_stderr() {
        char name[] = "/tmp/thumbnails-log-XXXXXX";
        file_ = ::mkstemp(name);
        path_ = name;
        ::fflush(stderr);
        saved_ = ::dup(2);
        ::dup2(file_, 2);
    }
    ~captured_stderr() {
        restore();
        ::close(file_);
        ::unlink(path_.c_str());
    }
    /// What was written so far; stops capturing.
    std::string text() {
        restore();
        std::ifstream in(path_);
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }

  private:
    void restore() {
        if (saved_ < 0) return;
        ::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        saved_ = -1;
    }
    int file_ = -1;
    int saved_ = -1;
    std::string path_;
};

/// A directory store whose `put` fails for the keys `fail_puts` selects.
class flaky_thumbnail_store final : public thumbnails::thumbnail_store {
  public:
    explicit flaky_thumbnail_store(std::string dir) : inner_(std::move(dir)) {}
    std::function<bool(const std::string& key)> fail_puts;

    asio::awaitable<std::string> put(std::string key, std::string bytes,
                                     std::string content_type) override {
        if (fail_puts && fail_puts(key)) throw std::runtime_error("disk full (simulated)");
        auto put = inner_.put(std::move(key), std::move(bytes), std::move(content_type));
        co_return co_await std::move(put);
    }
    asio::awaitable<void> remove(std::string key) override {
        auto remove = inner_.remove(std::move(key));
        co_await std::move(remove);
    }

    /// Calls of `sync` so far; the next ones fail while `fail_syncs` is set.
    int syncs = 0;
    bool fail_syncs = false;

    asio::awaitable<void> sync() override {
        ++syncs;
        if (fail_syncs) throw std::runtime_error("I/O error (simulated)");
        auto sync = inner_.sync();
        co_await std::move(sync);
    }

  private:
    thumbnails::directory_store inner_;
};

/// A SQLite store whose commits fail while `fail_commits` is set.
class flaky_metadata_store final : public thumbnails::metadata_store {
  public:
    explicit flaky_metadata_store(const std::string& path) : inner_(path) {}
    bool fail_commits = false;

    /// Called at the start of every commit.
    std::function<void()> on_commit;

    asio::awaitable<void> commit(std::vector<metadata_record> records) override {
        if (on_commit) on_commit();
        if (fail_commits) throw std::runtime_error("database is locked (simulated)");
        auto commit = inner_.commit(std::move(records));
        co_await std::move(commit);
    }
    asio::awaitable<std::vector<std::string>> committed_keys(std::vector<std::string> keys) override {
        auto q = inner_.committed_keys(std::move(keys));
        co_return co_await std::move(q);
    }

  private:
    thumbnails::sqlite_store inner_;
};

/// Keeps what a `response_stream` sends.
class recording_sink final : public muster::lambda::response_stream::sink {
  public:
    struct record {
        std::string content_type;
        std::vector<std::string> chunks;
    };
    asio::awaitable<void> open(std::string content_type) override {
        result.content_type = std::move(content_type);
        co_return;
    }
    asio::awaitable<void> write(std::string bytes) override {
        result.chunks.push_back(std::move(bytes));
        co_return;
    }
    record result;
};

/// The function with flaky stores, run invocation by invocation on the test's io_context.
class function_harness {
  public:
    explicit function_harness(const temp_dir& dir, std::map<std::string, std::string> env = {})
        : output_(dir.path + "/out") {
        env.emplace("THUMBNAILS_OUTPUT_DIR", output_);
        function_ = std::make_unique<thumbnails::thumbnail_function>(
            [env](std::string_view name) -> std::optional<std::string> {
                const auto it = env.find(std::string(name));
                if (it == env.end()) return std::nullopt;
                return it->second;
            });
        thumbnails = std::make_shared<flaky_thumbnail_store>(output_ + "/thumbs");
        metadata = std::make_shared<flaky_metadata_store>(output_ + "/thumbnails.db");
        function_->use_stores(thumbnails, metadata);
        auto init = asio::co_spawn(io_, function_->init(), asio::use_future);
        io_.run();
        io_.restart();
        init.get();
    }

    /// One invocation with `budget` until its deadline; the response, the log lines in `log`.
    json::value invoke(const json::value& event,
                       std::chrono::milliseconds budget = std::chrono::seconds(30)) {
        muster::lambda::invocation_info info;
        info.request_id = "request-" + std::to_string(++invocations_);
        info.deadline = muster::clock::now() + budget;
        info.payload = json::serialize(event);
        muster::lambda::invocation inv(info);
        muster::root_scope scope(info.deadline, "trace-" + info.request_id);
        captured_stderr capture;
        auto done = asio::co_spawn(scope.executor(io_.get_executor()),
                                   function_->handle(event, inv), asio::use_future);
        io_.run();
        io_.restart();
        log = capture.text();
        return done.get();
    }

    /// One invocation through `handle_stream`, its writes recorded.
    recording_sink::record invoke_stream(
        const json::value& event, std::chrono::milliseconds budget = std::chrono::seconds(30)) {
        muster::lambda::invocation_info info;
        info.request_id = "request-" + std::to_string(++invocations_);
        info.deadline = muster::clock::now() + budget;
        info.payload = json::serialize(event);
        muster::lambda::invocation inv(info);
        muster::root_scope scope(info.deadline, "trace-" + info.request_id);
        recording_sink sink;
        muster::lambda::response_stream out(sink);
        captured_stderr capture;
        auto done = asio::co_spawn(scope.executor(io_.get_executor()),
                                   function_->handle_stream(event, inv, out), asio::use_future);
        io_.run();
        io_.restart();
        log = capture.text();
        done.get();
        return sink.result;
    }

    const std::string& output() const { return output_; }

    std::shared_ptr<flaky_thumbnail_store> thumbnails;
    std::shared_ptr<flaky_metadata_store> metadata;
    std::string log;

  private:
    std::string output_;
    asio::io_context io_;
    std::unique_ptr<thumbnails::thumbnail_function> function_;
    int invocations_ = 0;
};

std::map<std::string, std::string> reasons(const std::string& log) {
    std::map<std::string, std::string> out;
    for (const auto& f : logged_failures(log)) out[f.message_id] = f.reason;
    return out;
}

struct three_images {
    test_origin origin;
    std::vector<std::pair<std::string, std::string>> records;
    std::map<std::string, std::vector<std::string>> urls;
    three_images() {
        for (int i = 0; i < 3; ++i) {
            const std::string path = "/img/" + std::to_string(i) + ".jpg";
            origin.add(path, jpeg(240, 180, i));
            records.emplace_back("m-" + std::to_string(i), origin.url() + path);
            urls["m-" + std::to_string(i)] = {origin.url() + path};
        }
    }
    std::string key(int i) const {
        return thumbnails::thumbnail_key(origin.url() + "/img/" + std::to_string(i) + ".jpg",
                                         thumbnails::output_format::jpeg);
    }
};

TEST(FunctionTest, AllGoodImagesSucceed) {
    temp_dir dir;
    three_images images;
    function_harness f(dir);
    const auto response = f.invoke(sqs_event(images.records));
    EXPECT_EQ(failed_ids(response), std::vector<std::string>{});
    expect_rows_and_files_match(f.output(), response, images.urls, 256);
    EXPECT_EQ(read_rows(f.output() + "/thumbnails.db").size(), 3u);
}

/// A presigned URL (as a producer of the queue would send it) at `path` of `origin`, signed at
/// `date` with `signature`.
std::string presigned(const test_origin& origin, const std::string& path, const std::string& date,
                      const std::string& signature) {
    return origin.url() + path + "?versionId=3&X-Amz-Algorithm=AWS4-HMAC-SHA256" +
           "&X-Amz-Credential=AKIDEXAMPLE%2F20261206%2Fus-east-1%2Fs3%2Faws4_request" +
           "&X-Amz-Date=" + date + "&X-Amz-Expires=900" +
           "&X-Amz-Security-Token=SESSIONTOKENSECRET&X-Amz-SignedHeaders=host" +
           "&X-Amz-Signature=" + signature;
}

// The metadata names a presigned source without its credentials, and the same object presigned
// again maps to the same key and the same row.
TEST(FunctionTest, APresignedSourceIsRecordedWithoutItsCredentialsUnderOneKey) {
    temp_dir dir;
    test_origin origin;
    origin.add("/img/p.jpg", jpeg(240, 180, 1));
    const std::string first = presigned(origin, "/img/p.jpg", "20261206T000000Z", "aa11");
    const std::string again = presigned(origin, "/img/p.jpg", "20261206T010000Z", "bb22");
    const std::string name = origin.url() + "/img/p.jpg?versionId=3";
    EXPECT_EQ(thumbnails::source_name(first), name);
    EXPECT_EQ(thumbnails::source_name(again), name);
    const auto key = thumbnails::thumbnail_key(name, thumbnails::output_format::jpeg);
    EXPECT_EQ(thumbnails::thumbnail_key(first, thumbnails::output_format::jpeg), key);
    // Not presigned: the query is the source's own, credentials redacted.
    EXPECT_EQ(thumbnails::source_name("http://h/a?b=1&c=2#f"), "http://h/a?b=1&c=2#f");
    EXPECT_EQ(thumbnails::source_name("http://h/a?access_token=t&x=1"),
              "http://h/a?access_token=REDACTED&x=1");

    function_harness f(dir);
    EXPECT_EQ(failed_ids(f.invoke(sqs_event({{"m-1", first}}))), std::vector<std::string>{});
    EXPECT_EQ(failed_ids(f.invoke(sqs_event({{"m-2", again}}))), std::vector<std::string>{});
    const auto rows = read_rows(f.output() + "/thumbnails.db");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows.begin()->first, name);
    EXPECT_EQ(rows.begin()->second.thumbnail_key, key);
    EXPECT_EQ(rows.begin()->second.message_id, "m-2");
    EXPECT_EQ(files_in(f.output() + "/thumbs"), std::set<std::string>{key});
    for (const char* file : {"/thumbnails.db", "/thumbnails.db-wal"}) {
        std::ifstream db(f.output() + file, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(db)),
                                std::istreambuf_iterator<char>());
        EXPECT_EQ(bytes.find("SESSIONTOKENSECRET"), std::string::npos) << file;
        EXPECT_EQ(bytes.find("AKIDEXAMPLE"), std::string::npos) << file;
    }
}

TEST(FunctionTest, AFailedStoreFailsOnlyItsRecord) {
    temp_dir dir;
    three_images images;
    function_harness f(dir);
    const std::string bad = images.key(1);
    f.thumbnails->fail_puts = [bad](const std::string& key) { return key == bad; };
    const auto response = f.invoke(sqs_event(images.records));
    EXPECT_EQ(failed_ids(response), std::vector<std::string>{"m-1"});
    EXPECT_EQ(reasons(f.log), (std::map<std::string, std::string>{{"m-1", "store_failed"}}));
    expect_rows_and_files_match(f.output(), response, images.urls, 256);
}

TEST(FunctionTest, AFailedCommitFailsTheWholeBatchAndLeavesNoThumbnail) {
    temp_dir dir;
    three_images images;
    function_harness f(dir);
    f.metadata->fail_commits = true;
    const auto response = f.invoke(sqs_event(images.records));
    EXPECT_EQ(failed_ids(response), (std::vector<std::string>{"m-0", "m-1", "m-2"}));
    EXPECT_EQ(reasons(f.log), (std::map<std::string, std::string>{{"m-0", "commit_failed"},
                                                                  {"m-1", "commit_failed"},
                                                                  {"m-2", "commit_failed"}}));
    EXPECT_TRUE(files_in(f.output() + "/thumbs").empty());
    EXPECT_TRUE(read_rows(f.output() + "/thumbnails.db").empty());
    expect_rows_and_files_match(f.output(), response, images.urls, 256);

    // The retry of the same batch, with the database back, succeeds.
    f.metadata->fail_commits = false;
    const auto retried = f.invoke(sqs_event(images.records));
    EXPECT_EQ(failed_ids(retried), std::vector<std::string>{});
    expect_rows_and_files_match(f.output(), retried, images.urls, 256);
}

TEST(FunctionTest, ThumbnailsAreSyncedOncePerBatchBeforeItsCommit) {
    temp_dir dir;
    three_images images;
    function_harness f(dir);
    std::vector<int> syncs_at_commit;
    f.metadata->on_commit = [&] { syncs_at_commit.push_back(f.thumbnails->syncs); };
    const auto response = f.invoke(sqs_event(images.records));
    EXPECT_EQ(failed_ids(response), std::vector<std::string>{});
    // One sync for three thumbnails, and it came before the rows.
    EXPECT_EQ(f.thumbnails->syncs, 1);
    EXPECT_EQ(syncs_at_commit, std::vector<int>{1});
    expect_rows_and_files_match(f.output(), response, images.urls, 256);
}

TEST(FunctionTest, AFailedSyncFailsTheWholeBatchAndCommitsNothing) {
    temp_dir dir;
    three_images images;
    function_harness f(dir);
    f.thumbnails->fail_syncs = true;
    bool committed = false;
    f.metadata->on_commit = [&] { committed = true; };
    const auto response = f.invoke(sqs_event(images.records));
    EXPECT_FALSE(committed);
    EXPECT_EQ(failed_ids(response), (std::vector<std::string>{"m-0", "m-1", "m-2"}));
    EXPECT_EQ(reasons(f.log),
              (std::map<std::string, std::string>{
                  {"m-0", "commit_failed"}, {"m-1", "commit_failed"}, {"m-2", "commit_failed"}}));
    EXPECT_TRUE(files_in(f.output() + "/thumbs").empty());
    EXPECT_TRUE(read_rows(f.output() + "/thumbnails.db").empty());
}

TEST(FunctionTest, AFailedDuplicateKeepsTheThumbnailItsTwinCommitted) {
    temp_dir dir;
    three_images images;
    function_harness f(dir);
    // Two messages name the same image; the first put of its key fails, the other succeeds.
    const std::string key = images.key(0);
    auto failed_once = std::make_shared<bool>(false);
    f.thumbnails->fail_puts = [key, failed_once](const std::string& k) {
        if (k != key || *failed_once) return false;
        *failed_once = true;
        return true;
    };
    auto records = images.records;
    records.emplace_back("m-0-again", images.records[0].second);
    const auto response = f.invoke(sqs_event(records));
    const auto failed = failed_ids(response);
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_TRUE(failed[0] == "m-0" || failed[0] == "m-0-again") << failed[0];
    EXPECT_EQ(reasons(f.log), (std::map<std::string, std::string>{{failed[0], "store_failed"}}));
    auto urls = images.urls;
    urls["m-0-again"] = urls["m-0"];
    expect_rows_and_files_match(f.output(), response, urls, 256);
    EXPECT_TRUE(files_in(f.output() + "/thumbs").count(key));
}

TEST(FunctionTest, AFailedRecordKeepsAThumbnailAnEarlierBatchCommitted) {
    temp_dir dir;
    three_images images;
    function_harness f(dir);
    const auto first = f.invoke(sqs_event(images.records));
    ASSERT_EQ(failed_ids(first), std::vector<std::string>{});
    // The same image again, and this time its store fails: the record fails, but the
    // thumbnail the first batch recorded stays.
    const std::string key = images.key(2);
    f.thumbnails->fail_puts = [key](const std::string& k) { return k == key; };
    const auto second = f.invoke(sqs_event({{"m-2-again", images.records[2].second}}));
    EXPECT_EQ(failed_ids(second), std::vector<std::string>{"m-2-again"});
    EXPECT_TRUE(files_in(f.output() + "/thumbs").count(key));
    expect_rows_and_files_match(f.output(), first, images.urls, 256);
}

TEST(FunctionTest, TheDeadlineFailsWhatRunsAndCommitsWhatFinished) {
    temp_dir dir;
    three_images images;
    function_harness f(dir, {{"THUMBNAILS_COMMIT_RESERVE_MS", "300"}});
    auto records = images.records;
    auto urls = images.urls;
    for (int i = 0; i < 4; ++i) {
        const std::string id = "slow-" + std::to_string(i);
        const std::string url =
            images.origin.url() + "/img/0.jpg?delay_ms=60000&n=" + std::to_string(i);
        records.emplace_back(id, url);
        urls[id] = {url};
    }
    const auto start = std::chrono::steady_clock::now();
    const auto response = f.invoke(sqs_event(records), std::chrono::milliseconds(1500));
    // Back at the deadline, not when the slow images would have come (a minute): the bound
    // is loose only for sanitizer builds on a busy machine.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
    const auto failed = failed_ids(response);
    for (const char* id : {"slow-0", "slow-1", "slow-2", "slow-3"}) {
        EXPECT_NE(std::find(failed.begin(), failed.end(), id), failed.end()) << id;
    }
    // The fast images succeed unless the machine is too busy to finish them in 1.2 s; either
    // way every failure is the deadline's, and rows and files match the response.
    for (const auto& [id, why] : reasons(f.log)) {
        EXPECT_TRUE(why == "deadline" || why == "not_started") << id << ": " << why;
        if (id.starts_with("slow-")) {
            EXPECT_EQ(why, "deadline") << id;
        }
    }
    EXPECT_EQ(reasons(f.log).size(), failed.size());
    expect_rows_and_files_match(f.output(), response, urls, 256);
}

TEST(FunctionTest, NothingToDoSucceeds) {
    temp_dir dir;
    function_harness f(dir);
    EXPECT_EQ(failed_ids(f.invoke(sqs_event({}))), std::vector<std::string>{});
    const auto response = f.invoke(
        sqs_event({{"test", R"({"Service":"Amazon S3","Event":"s3:TestEvent"})"}}));
    EXPECT_EQ(failed_ids(response), std::vector<std::string>{});
    EXPECT_TRUE(read_rows(f.output() + "/thumbnails.db").empty());
}

TEST(FunctionTest, AnEventThatIsNotAnSqsBatchFailsTheInvocation) {
    temp_dir dir;
    function_harness f(dir);
    EXPECT_THROW(f.invoke(json::object{{"imageUrls", json::array{"http://a/b.jpg"}}}),
                 muster::lambda::event_error);
}

/// The lines of a streamed response, in order.
std::vector<json::object> lines_of(const recording_sink::record& r) {
    std::string all;
    for (const auto& c : r.chunks) all += c;
    std::vector<json::object> out;
    std::istringstream in(all);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
}

json::value direct_event(const std::vector<std::string>& urls) {
    json::array a;
    for (const auto& u : urls) a.emplace_back(u);
    return json::object{{"imageUrls", std::move(a)}};
}

TEST(FunctionTest, StreamedSqsBatchIsTheBatchResponseInOneWrite) {
    temp_dir dir;
    three_images images;
    function_harness f(dir);
    const std::string bad = images.key(1);
    f.thumbnails->fail_puts = [bad](const std::string& key) { return key == bad; };
    const auto r = f.invoke_stream(sqs_event(images.records));
    EXPECT_EQ(r.content_type, "application/json");
    ASSERT_EQ(r.chunks.size(), 1u);
    const json::value response = json::parse(r.chunks[0]);
    EXPECT_EQ(failed_ids(response), std::vector<std::string>{"m-1"});
    expect_rows_and_files_match(f.output(), response, images.urls, 256);
}

TEST(FunctionTest, StreamedDirectInvocationReportsAFailedCommitAndNothingCommitted) {
    temp_dir dir;
    three_images images;
    function_harness f(dir);
    f.metadata->fail_commits = true;
    std::vector<std::string> urls;
    for (const auto& rec : images.records) urls.push_back(rec.second);
    const auto r = f.invoke_stream(direct_event(urls));
    EXPECT_EQ(r.content_type, "application/x-ndjson");
    const auto lines = lines_of(r);
    ASSERT_EQ(lines.size(), 4u);
    std::set<std::int64_t> indexes;
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(lines[i].at("status").as_string(), "stored") << lines[i];
        indexes.insert(lines[i].at("index").as_int64());
    }
    EXPECT_EQ(indexes, (std::set<std::int64_t>{0, 1, 2}));
    // Stored, then not committed: the summary says so, and nothing of them is left.
    const json::object& summary = lines[3].at("summary").as_object();
    EXPECT_EQ(summary.at("stored").as_int64(), 3);
    EXPECT_EQ(summary.at("committed").as_int64(), 0);
    EXPECT_NE(summary.at("commit_error").as_string().find("database is locked"),
              json::string::npos);
    EXPECT_EQ(summary.at("thumbnails_removed").as_int64(), 3);
    EXPECT_TRUE(files_in(f.output() + "/thumbs").empty());
    EXPECT_TRUE(read_rows(f.output() + "/thumbnails.db").empty());
}

TEST(FunctionTest, StreamedDirectInvocationGivesWhatTheDeadlineStoppedItsLine) {
    temp_dir dir;
    three_images images;
    function_harness f(dir, {{"THUMBNAILS_COMMIT_RESERVE_MS", "300"}});
    const std::vector<std::string> urls{images.records[0].second,
                                        images.origin.url() + "/img/1.jpg?delay_ms=60000",
                                        images.origin.url() + "/img/2.jpg?delay_ms=60000"};
    const auto r = f.invoke_stream(direct_event(urls), std::chrono::milliseconds(1500));
    const auto lines = lines_of(r);
    ASSERT_EQ(lines.size(), 4u);
    std::map<std::int64_t, json::object> by_index;
    for (std::size_t i = 0; i < 3; ++i) by_index[lines[i].at("index").as_int64()] = lines[i];
    ASSERT_EQ(by_index.size(), 3u);
    for (std::int64_t i : {1, 2}) {
        EXPECT_EQ(by_index[i].at("status").as_string(), "timed_out") << by_index[i];
        EXPECT_EQ(by_index[i].at("error").at("reason").as_string(), "deadline");
    }
    // The fast image is stored unless the machine is too busy to finish it in 1.2 s.
    const bool fast_stored = by_index[0].at("status").as_string() == "stored";
    const json::object& summary = lines[3].at("summary").as_object();
    EXPECT_EQ(summary.at("timed_out").as_int64(), fast_stored ? 2 : 3);
    EXPECT_EQ(summary.at("committed").as_int64(), fast_stored ? 1 : 0);
    EXPECT_EQ(read_rows(f.output() + "/thumbnails.db").size(), fast_stored ? 1u : 0u);
}

}  // namespace
}  // namespace function_test
}  // namespace thumbnails_test
