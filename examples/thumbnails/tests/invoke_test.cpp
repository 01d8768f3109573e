// The function as Lambda runs it: its bootstrap under `muster invoke`, against the test origin
// on 127.0.0.1, with its SQLite file and thumbnail directory checked after each run.
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <muster/http/redacted.hpp>

#include "fixtures.hpp"
#include "function.hpp"
#include "invoke.hpp"
#include "support.hpp"
#include "test_origin.hpp"

namespace thumbnails_test {
namespace invoke_test {
namespace {

namespace json = boost::json;

std::map<std::string, std::string> reasons_by_id(const std::vector<logged_failure>& failures) {
    std::map<std::string, std::string> out;
    for (const auto& f : failures) {
        EXPECT_TRUE(out.emplace(f.message_id, f.reason).second) << f.message_id << " logged twice";
    }
    return out;
}

TEST(InvokeTest, GoodImagesSucceedAndEveryBadOneFailsWithItsReason) {
    temp_dir dir;
    test_origin origin;
    const std::string o = origin.url();
    origin.add("/img/photo.jpg", jpeg(640, 480, 0));
    origin.add("/img/alpha.png", png(300, 200, 2, true));
    origin.add("/img/pic.webp", webp(200, 300, 1));
    origin.add("/s3/photos/summer%20trip/beach%20%281%29.jpg", jpeg(500, 400, 3));
    origin.add("/s3/photos/a.jpg", jpeg(120, 90, 1));
    origin.add("/img/notes.txt", "these are notes, not an image\n");
    origin.add("/img/cut.jpg", truncated(jpeg(640, 480, 2), 0.5));
    origin.add("/img/bomb.png", bomb_png(100000, 100000));
    origin.add("/img/big.jpg", std::string(400'000, 'x'));
    origin.add("/img/slow.jpg", jpeg(64, 64, 0));

    const std::vector<std::pair<std::string, std::string>> records{
        {"good-jpeg", o + "/img/photo.jpg"},
        {"good-png", R"({"url": ")" + o + R"(/img/alpha.png"})"},
        {"good-webp", " " + o + "/img/pic.webp\n"},
        {"good-s3", s3_notification({"summer+trip/beach+%281%29.jpg"}, "photos")},
        {"s3-test-event", R"({"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"photos"})"},
        {"missing", o + "/img/missing.jpg"},
        {"text", o + "/img/notes.txt"},
        {"truncated", o + "/img/cut.jpg"},
        {"bomb", o + "/img/bomb.png"},
        {"too-big", o + "/img/big.jpg"},
        {"slow", o + "/img/slow.jpg?delay_ms=15000"},
        {"malformed", "this is not a url"},
        {"s3-partly-missing", s3_notification({"a.jpg", "gone.jpg"}, "photos")},
    };
    const auto r = invoke(dir, sqs_event(records),
                          {{"THUMBNAILS_S3_BASE_URL", o + "/s3"},
                           {"THUMBNAILS_MAX_BYTES", "300000"},
                           {"THUMBNAILS_MAX_PIXELS", "4000000"},
                           {"THUMBNAILS_FETCH_TIMEOUT_MS", "3000"},
                           {"THUMBNAILS_SIZE", "128"}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.log;
    ASSERT_EQ(r.responses.size(), 1u) << r.out;

    const auto failed = failed_ids(r.responses[0]);
    EXPECT_EQ(std::set<std::string>(failed.begin(), failed.end()),
              (std::set<std::string>{"missing", "text", "truncated", "bomb", "too-big", "slow",
                                     "malformed", "s3-partly-missing"}));
    const auto failures = logged_failures(r.log);
    EXPECT_EQ(reasons_by_id(failures), (std::map<std::string, std::string>{
                                           {"missing", "image_missing"},
                                           {"text", "not_an_image"},
                                           {"truncated", "corrupt"},
                                           {"bomb", "too_many_pixels"},
                                           {"too-big", "too_large"},
                                           {"slow", "fetch_timeout"},
                                           {"malformed", "malformed_body"},
                                           {"s3-partly-missing", "image_missing"},
                                       }))
        << r.log;
    for (const auto& f : failures) {
        EXPECT_FALSE(f.request_id.empty());
        EXPECT_FALSE(f.message.empty());
        if (f.message_id == "s3-partly-missing") {
            EXPECT_EQ(f.url, o + "/s3/photos/gone.jpg");
        }
        if (f.message_id == "malformed") {
            EXPECT_EQ(f.url, "");
        }
    }

    std::map<std::string, std::vector<std::string>> urls{
        {"good-jpeg", {o + "/img/photo.jpg"}},
        {"good-png", {o + "/img/alpha.png"}},
        {"good-webp", {o + "/img/pic.webp"}},
        {"good-s3", {o + "/s3/photos/summer%20trip/beach%20%281%29.jpg"}},
        {"s3-test-event", {}},
        {"s3-partly-missing", {o + "/s3/photos/a.jpg", o + "/s3/photos/gone.jpg"}},
    };
    for (const auto& [id, body] : records) urls.try_emplace(id, std::vector<std::string>{});
    expect_rows_and_files_match(dir.path + "/out", r.responses[0], urls, 128);

    const auto rows = read_rows(dir.path + "/out/thumbnails.db");
    ASSERT_EQ(rows.size(), 4u);
    const auto& photo = rows.at(o + "/img/photo.jpg");
    EXPECT_EQ(photo.message_id, "good-jpeg");
    EXPECT_EQ(photo.format, "jpeg");
    EXPECT_EQ(photo.width, 640);
    EXPECT_EQ(photo.height, 480);
    EXPECT_EQ(photo.thumbnail_width, 128);
    EXPECT_EQ(photo.thumbnail_height, 96);
    EXPECT_EQ(photo.thumbnail_key, thumbnails::thumbnail_key(o + "/img/photo.jpg",
                                                             thumbnails::output_format::jpeg));
    EXPECT_EQ(rows.at(o + "/img/alpha.png").format, "png");
    EXPECT_EQ(rows.at(o + "/img/pic.webp").format, "webp");
    EXPECT_EQ(photo.request_id, failures.at(0).request_id);

    const auto summaries = batch_summaries(r.log);
    ASSERT_EQ(summaries.size(), 1u);
    EXPECT_EQ(summaries[0].at("records").as_int64(), 13);
    EXPECT_EQ(summaries[0].at("succeeded").as_int64(), 5);
    EXPECT_EQ(summaries[0].at("rows_committed").as_int64(), 4);
    // s3-partly-missing stored a.jpg's thumbnail before gone.jpg failed: removed again.
    EXPECT_EQ(summaries[0].at("thumbnails_removed").as_int64(), 1);
}

TEST(InvokeTest, DeadlineFailsUnfinishedRecordsAndWritesNothingForThem) {
    // A short Lambda timeout; a ThreadSanitizer build, many times slower to start and to run,
    // gets more room (the slow images still cannot make it).
#if defined(__SANITIZE_THREAD__)
    constexpr int timeout_s = 20;
#else
    constexpr int timeout_s = 2;
#endif
    temp_dir dir;
    test_origin origin;
    const std::string o = origin.url();
    std::vector<std::pair<std::string, std::string>> records;
    std::map<std::string, std::vector<std::string>> urls;
    std::set<std::string> slow;
    for (int i = 0; i < 3; ++i) {
        const std::string path = "/img/fast" + std::to_string(i) + ".jpg";
        origin.add(path, jpeg(200, 150, i));
        records.emplace_back("fast-" + std::to_string(i), o + path);
        urls["fast-" + std::to_string(i)] = {o + path};
    }
    for (int i = 0; i < 8; ++i) {
        const std::string path = "/img/slow" + std::to_string(i) + ".jpg";
        origin.add(path, jpeg(200, 150, i % 4));
        const std::string id = "slow-" + std::to_string(i);
        const std::string url = o + path + "?delay_ms=" + std::to_string(10'000 * timeout_s);
        records.emplace_back(id, url);
        urls[id] = {url};
        slow.insert(id);
    }
    const auto r = invoke(dir, sqs_event(records),
                          {{"THUMBNAILS_FETCH_TIMEOUT_MS", "60000"},
                           // A quarter of the time for the commit and the response.
                           {"THUMBNAILS_COMMIT_RESERVE_MS", std::to_string(250 * timeout_s)}},
                          timeout_s);
    // Answered before the emulator's kill: a response, not Sandbox.Timedout.
    ASSERT_EQ(r.exit_code, 0) << r.out << r.log;
    ASSERT_EQ(r.responses.size(), 1u) << r.out;
    ASSERT_TRUE(r.responses[0].as_object().contains("batchItemFailures")) << r.out;

    // Every slow record is reported failed at the deadline. (The fast ones normally succeed;
    // on a machine too busy to decode three small images in a second they may be caught by
    // the deadline too, and must then be reported the same way.)
    const auto failed = failed_ids(r.responses[0]);
    const std::set<std::string> failed_set(failed.begin(), failed.end());
    for (const auto& id : slow) EXPECT_TRUE(failed_set.count(id)) << id;
    const auto failures = logged_failures(r.log);
    EXPECT_EQ(failures.size(), failed.size()) << r.log;
    for (const auto& f : failures) {
        EXPECT_TRUE(failed_set.count(f.message_id)) << f.message_id;
        EXPECT_TRUE(f.reason == "deadline" || f.reason == "not_started")
            << f.message_id << ": " << f.reason << ": " << f.message;
    }
    for (const auto& f : failures) {
        if (slow.count(f.message_id)) {
            EXPECT_EQ(f.reason, "deadline") << f.message_id;
        }
    }
    // No row and no thumbnail for any of them; one for every record reported done.
    expect_rows_and_files_match(dir.path + "/out", r.responses[0], urls, 256);
    EXPECT_EQ(read_rows(dir.path + "/out/thumbnails.db").size(), records.size() - failed.size());
}

TEST(InvokeTest, WarmInvocationReusesConnectionsAndKeepsNoStateOfTheFirst) {
    temp_dir dir;
    test_origin origin;
    const std::string o = origin.url();
    for (int i = 0; i < 8; ++i) origin.add("/img/" + std::to_string(i) + ".jpg", jpeg(160, 120, i % 4));

    // The first invocation's m-1 is missing; the second's m-1 (SQS ids are unique, but a
    // handler must not care) is a good image: nothing of the first failure may show.
    const json::value first = sqs_event({{"m-1", o + "/img/absent.jpg"},
                                         {"m-2", o + "/img/0.jpg"},
                                         {"m-3", o + "/img/1.jpg"},
                                         {"m-4", o + "/img/2.jpg"},
                                         {"m-5", o + "/img/3.jpg"}});
    const json::value second = sqs_event({{"m-1", o + "/img/4.jpg"},
                                          {"m-6", o + "/img/5.jpg"},
                                          {"m-7", o + "/img/6.jpg"},
                                          {"m-8", o + "/img/7.jpg"}});
    const auto r = invoke(dir, json::array{first, second}, {{"THUMBNAILS_FETCH_LIMIT", "2"}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.log;
    ASSERT_EQ(r.responses.size(), 2u) << r.out;
    EXPECT_EQ(failed_ids(r.responses[0]), std::vector<std::string>{"m-1"});
    EXPECT_EQ(failed_ids(r.responses[1]), std::vector<std::string>{});

    const auto failures = logged_failures(r.log);
    ASSERT_EQ(failures.size(), 1u) << r.log;
    EXPECT_EQ(failures[0].message_id, "m-1");
    EXPECT_EQ(failures[0].reason, "image_missing");
    const auto rows = read_rows(dir.path + "/out/thumbnails.db");
    EXPECT_EQ(rows.size(), 8u);
    const std::string second_request = rows.at(o + "/img/4.jpg").request_id;
    EXPECT_NE(second_request, failures[0].request_id);
    EXPECT_EQ(rows.at(o + "/img/4.jpg").message_id, "m-1");
    EXPECT_EQ(rows.at(o + "/img/0.jpg").request_id, failures[0].request_id);
    EXPECT_EQ(files_in(dir.path + "/out/thumbs").size(), 8u);

    // The connections of the first invocation served the second: it opened none.
    std::set<std::size_t> first_connections, second_connections;
    for (const auto& req : origin.requests()) {
        const bool in_second = req.target == "/img/4.jpg" || req.target == "/img/5.jpg" ||
                               req.target == "/img/6.jpg" || req.target == "/img/7.jpg";
        (in_second ? second_connections : first_connections).insert(req.connection);
    }
    EXPECT_LE(origin.connections(), 2u);
    for (const auto c : second_connections) EXPECT_TRUE(first_connections.count(c)) << c;
    const auto summaries = batch_summaries(r.log);
    ASSERT_EQ(summaries.size(), 2u);
    EXPECT_EQ(summaries[1].at("failed").as_int64(), 0);
}

TEST(InvokeTest, ProcessModeACrashingDecoderFailsAlone) {
    temp_dir dir;
    test_origin origin;
    const std::string o = origin.url();
    const std::string marker = "POISON-7f3a-do-not-decode";
    origin.add("/img/poison.jpg", marked_jpeg(marker));
    origin.add("/img/bomb.png", bomb_png(60000, 60000));
    for (int i = 0; i < 5; ++i) origin.add("/img/" + std::to_string(i) + ".jpg", jpeg(300, 200, i % 4));

    const json::value first = sqs_event({{"poison", o + "/img/poison.jpg"},
                                         {"good-0", o + "/img/0.jpg"},
                                         {"bomb", o + "/img/bomb.png"},
                                         {"good-1", o + "/img/1.jpg"},
                                         {"good-2", o + "/img/2.jpg"}});
    const json::value second =
        sqs_event({{"good-3", o + "/img/3.jpg"}, {"good-4", o + "/img/4.jpg"}});
    const auto r = invoke(dir, json::array{first, second},
                          {{"THUMBNAILS_DECODER", "processes"},
                           {"THUMBNAILS_CRASH_ON_MARKER", marker},
                           {"THUMBNAILS_FORMAT", "png"}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.log;
    ASSERT_EQ(r.responses.size(), 2u) << r.out;
    const auto failed = failed_ids(r.responses[0]);
    EXPECT_EQ(std::set<std::string>(failed.begin(), failed.end()),
              (std::set<std::string>{"poison", "bomb"}));
    EXPECT_EQ(failed_ids(r.responses[1]), std::vector<std::string>{});
    EXPECT_EQ(reasons_by_id(logged_failures(r.log)),
              (std::map<std::string, std::string>{{"poison", "worker_crashed"},
                                                  {"bomb", "too_many_pixels"}}))
        << r.log;

    std::map<std::string, std::vector<std::string>> urls{{"poison", {o + "/img/poison.jpg"}},
                                                         {"bomb", {o + "/img/bomb.png"}}};
    for (int i = 0; i < 5; ++i) urls["good-" + std::to_string(i)] = {o + "/img/" + std::to_string(i) + ".jpg"};
    // Both responses together: the second run only adds rows.
    json::value both = json::object{{"batchItemFailures", r.responses[0].at("batchItemFailures")}};
    expect_rows_and_files_match(dir.path + "/out", both, urls, 256);

    // The pool replaced the crashed worker during the first invocation and stayed warm.
    const auto summaries = batch_summaries(r.log);
    ASSERT_EQ(summaries.size(), 2u);
    EXPECT_GE(summaries[0].at("workers_started").as_int64(), 2);
    EXPECT_EQ(summaries[1].at("workers_started"), summaries[0].at("workers_started"));
}

TEST(InvokeTest, JsonLogsCarryTheSameFailureLine) {
    temp_dir dir;
    test_origin origin;
    const auto r = invoke(dir, sqs_event({{"gone", origin.url() + "/img/gone.jpg"}}),
                          {{"AWS_LAMBDA_LOG_FORMAT", "JSON"}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.log;
    bool found = false;
    std::istringstream lines(r.log);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line.front() != '{') continue;
        json::error_code ec;
        const auto v = json::parse(line, ec);
        if (ec || !v.is_object() || !v.as_object().contains("message")) continue;
        const std::string message(v.at("message").as_string());
        if (!message.starts_with("record failed ")) continue;
        found = true;
        EXPECT_EQ(v.at("level").as_string(), "WARN");
        const auto detail = json::parse(message.substr(14));
        EXPECT_EQ(detail.at("messageId").as_string(), "gone");
        EXPECT_EQ(detail.at("reason").as_string(), "image_missing");
    }
    EXPECT_TRUE(found) << r.log;
}

/// A port of 127.0.0.1 that nothing listens on (bound, then closed).
unsigned short unused_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

TEST(InvokeTest, PresignedUrlsLeaveNoCredentialsInLogsOrTraces) {
    temp_dir dir;
    test_origin origin;
    origin.add("/img/slow.jpg", jpeg(64, 64, 0));
    // A SigV4 presigned query with a session token, as S3 hands it out.
    const std::string query =
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=ASIAEXAMPLEKEY%2F20261206%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20261206T120000Z&X-Amz-Expires=900"
        "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLETOKEN"
        "&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
    const std::string refused =
        "http://127.0.0.1:" + std::to_string(unused_port()) + "/img/a.jpg" + query;
    const auto r =
        invoke(dir,
               sqs_event({{"missing", origin.url() + "/img/gone.jpg" + query},
                          {"refused", refused},
                          {"slow", origin.url() + "/img/slow.jpg" + query + "&delay_ms=15000"}}),
               {{"THUMBNAILS_FETCH_TIMEOUT_MS", "1000"}, {"MUSTER_TRACE", dir.path + "/trace"}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.log;
    ASSERT_EQ(r.responses.size(), 1u) << r.out;

    const auto failures = logged_failures(r.log);
    EXPECT_EQ(reasons_by_id(failures), (std::map<std::string, std::string>{
                                           {"missing", "image_missing"},
                                           {"refused", "fetch_failed"},
                                           {"slow", "fetch_timeout"},
                                       }))
        << r.log;
    for (const auto& f : failures) {
        // The failure still names the object, and shows what was hidden.
        EXPECT_NE(f.url.find("/img/"), std::string::npos) << f.url;
        EXPECT_NE(f.url.find("X-Amz-Signature=REDACTED"), std::string::npos) << f.url;
        EXPECT_NE(f.message.find("X-Amz-Security-Token=REDACTED"), std::string::npos) << f.message;
    }

    std::string traces;
    for (const auto& name : files_in(dir.path + "/trace")) {
        std::ifstream in(dir.path + "/trace/" + name);
        std::ostringstream text;
        text << in.rdbuf();
        traces += text.str();
    }
    // Labelled by the records' URLs, redacted.
    EXPECT_NE(traces.find("/img/gone.jpg?X-Amz-Algorithm"), std::string::npos) << traces;
    for (const char* secret : {"ASIAEXAMPLEKEY", "EXAMPLETOKEN", "5d672d79c15b"}) {
        EXPECT_EQ(r.log.find(secret), std::string::npos) << secret << " in\n" << r.log;
        EXPECT_EQ(traces.find(secret), std::string::npos) << secret << " in\n" << traces;
    }
}

TEST(InvokeTest, BadConfigurationIsAnInitError) {
    temp_dir dir;
    const auto r = invoke(dir, sqs_event({}), {{"THUMBNAILS_FORMAT", "gif"}});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.log;
    EXPECT_NE((r.out + r.log).find("THUMBNAILS_FORMAT must be jpeg, webp or png, got 'gif'"),
              std::string::npos)
        << r.out << r.log;
    EXPECT_NE((r.out + r.log).find("Thumbnails.InvalidConfiguration"), std::string::npos);
}

/// The lines a direct invocation streamed, by `index`, and its summary.
struct streamed_lines {
    std::map<std::int64_t, json::object> images;
    std::vector<json::object> summaries;
};

streamed_lines split_lines(const std::vector<json::value>& values) {
    streamed_lines r;
    for (const auto& v : values) {
        const json::object& o = v.as_object();
        if (o.contains("summary")) {
            r.summaries.push_back(o.at("summary").as_object());
        } else {
            EXPECT_TRUE(r.images.emplace(o.at("index").as_int64(), o).second) << v;
        }
    }
    return r;
}

TEST(InvokeTest, DirectInvocationStreamsALinePerImageAsItCompletesThenTheCommit) {
    temp_dir dir;
    test_origin origin;
    const std::string o = origin.url();
    origin.add("/img/photo.jpg", jpeg(640, 480, 0));
    origin.add("/img/alpha.png", png(300, 200, 2, true));
    origin.add("/img/pic.webp", webp(200, 300, 1));
    origin.add("/img/late.jpg", jpeg(320, 240, 3));
    // The last image's origin answers only when the test says so.
    const std::vector<std::string> urls{o + "/img/photo.jpg", o + "/img/missing.jpg",
                                        o + "/img/alpha.png", o + "/img/late.jpg?held",
                                        o + "/img/pic.webp"};
    json::array image_urls;
    for (const auto& u : urls) image_urls.emplace_back(u);
    muster_test::child_process p(
        invoke_command(dir, json::object{{"imageUrls", std::move(image_urls)}},
                       // The held fetch must outlast the others, however slow the machine.
                       {{"THUMBNAILS_SIZE", "128"}, {"THUMBNAILS_FETCH_TIMEOUT_MS", "100000"}}),
        {});

    // Every other image's line arrives while the held one is still being fetched. (The wait
    // only guards against a hang; nothing here is timed.)
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    std::vector<json::value> early;
    while (std::chrono::steady_clock::now() < give_up && p.running()) {
        early = json_lines(p.out());
        if (early.size() >= 4 && origin.held() == 1) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(early.size(), 4u) << p.out() << p.err();
    EXPECT_EQ(origin.held(), 1u);
    const auto first = split_lines(early);
    EXPECT_TRUE(first.summaries.empty());
    EXPECT_EQ(first.images.count(3), 0u) << p.out();

    origin.release();
    const auto exit_code = p.wait(std::chrono::seconds(120));
    ASSERT_EQ(exit_code, 0) << p.out() << p.err();
    expect_clean_log(p.err());

    const auto all = split_lines(json_lines(p.out()));
    ASSERT_EQ(all.images.size(), urls.size()) << p.out();
    ASSERT_EQ(all.summaries.size(), 1u) << p.out();
    const auto rows = read_rows(dir.path + "/out/thumbnails.db");
    EXPECT_EQ(rows.size(), 4u);
    for (std::size_t i = 0; i < urls.size(); ++i) {
        const json::object& line = all.images.at(static_cast<std::int64_t>(i));
        EXPECT_EQ(line.at("url").as_string(), muster::http::redacted(urls[i]));
        if (i == 1) {
            EXPECT_EQ(line.at("status").as_string(), "failed");
            EXPECT_EQ(line.at("error").at("reason").as_string(), "image_missing");
            EXPECT_FALSE(line.at("error").at("message").as_string().empty());
            EXPECT_EQ(rows.count(urls[i]), 0u);
            continue;
        }
        EXPECT_EQ(line.at("status").as_string(), "stored") << line;
        const json::object& thumb = line.at("thumbnail").as_object();
        // What the line says is what was committed.
        ASSERT_EQ(rows.count(urls[i]), 1u) << urls[i];
        const stored_row& row = rows.at(urls[i]);
        EXPECT_EQ(thumb.at("key").as_string(), row.thumbnail_key);
        EXPECT_EQ(thumb.at("width").as_int64(), row.thumbnail_width);
        EXPECT_EQ(thumb.at("height").as_int64(), row.thumbnail_height);
        EXPECT_EQ(thumb.at("format").as_string(), "jpeg");
        EXPECT_GT(thumb.at("bytes").as_int64(), 0);
        EXPECT_TRUE(files_in(dir.path + "/out/thumbs").count(row.thumbnail_key))
            << row.thumbnail_key;
    }
    EXPECT_EQ(rows.at(urls[0]).thumbnail_width, 128);
    const json::object& summary = all.summaries[0];
    EXPECT_EQ(summary.at("images").as_int64(), 5);
    EXPECT_EQ(summary.at("stored").as_int64(), 4);
    EXPECT_EQ(summary.at("failed").as_int64(), 1);
    EXPECT_EQ(summary.at("timed_out").as_int64(), 0);
    EXPECT_EQ(summary.at("not_started").as_int64(), 0);
    EXPECT_EQ(summary.at("committed").as_int64(), 4);
    EXPECT_FALSE(summary.contains("commit_error"));
    // The summary is the last line.
    EXPECT_TRUE(json_lines(p.out()).back().as_object().contains("summary"));
}

TEST(InvokeTest, DirectInvocationWithoutAnArrayOfUrlsFailsBeforeAnyLine) {
    temp_dir dir;
    const auto r = invoke(dir, json::object{{"imageUrls", "http://127.0.0.1:1/a.jpg"}}, {});
    EXPECT_NE(r.exit_code, 0) << r.out << r.log;
    ASSERT_EQ(r.responses.size(), 1u) << r.out;
    EXPECT_EQ(r.responses[0].at("errorType").as_string(), "Runtime.UnmarshalError") << r.out;
}

}  // namespace
}  // namespace invoke_test
}  // namespace thumbnails_test
