#include "support.hpp"

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "fixtures.hpp"

namespace thumbnails_test {

namespace json = boost::json;
namespace fs = std::filesystem;

json::value sqs_event(const std::vector<std::pair<std::string, std::string>>& records) {
    json::array out;
    for (const auto& [id, body] : records) {
        out.push_back(json::object{
            {"messageId", id},
            {"receiptHandle", "handle-" + id},
            {"body", body},
            {"attributes", json::object{{"ApproximateReceiveCount", "1"},
                                        {"SentTimestamp", "1714557600000"}}},
            {"messageAttributes", json::object{}},
            {"md5OfBody", "0"},
            {"eventSource", "aws:sqs"},
            {"eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:images"},
            {"awsRegion", "us-east-1"},
        });
    }
    return json::object{{"Records", std::move(out)}};
}

std::vector<std::string> failed_ids(const json::value& response) {
    std::vector<std::string> ids;
    for (const auto& f : response.at("batchItemFailures").as_array()) {
        ids.emplace_back(f.at("itemIdentifier").as_string());
    }
    return ids;
}

std::vector<logged_failure> logged_failures(const std::string& log) {
    std::vector<logged_failure> out;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        // timestamp <TAB> request id <TAB> WARN <TAB> record failed {...}
        const auto marker = line.find("\tWARN\trecord failed {");
        if (marker == std::string::npos) continue;
        const auto first_tab = line.find('\t');
        logged_failure f;
        f.request_id = line.substr(first_tab + 1, marker - first_tab - 1);
        const json::object o = json::parse(line.substr(line.find('{', marker))).as_object();
        f.message_id = o.at("messageId").as_string();
        f.reason = o.at("reason").as_string();
        f.url = o.at("url").as_string();
        f.message = o.at("message").as_string();
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<json::object> batch_summaries(const std::string& log) {
    std::vector<json::object> out;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        const auto marker = line.find("\tINFO\tbatch done {");
        if (marker == std::string::npos) continue;
        out.push_back(json::parse(line.substr(line.find('{', marker))).as_object());
    }
    return out;
}

std::map<std::string, stored_row> read_rows(const std::string& db_path) {
    std::map<std::string, stored_row> rows;
    if (!fs::exists(db_path)) return rows;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        ADD_FAILURE() << "cannot open " << db_path;
        sqlite3_close(db);
        return rows;
    }
    sqlite3_stmt* st = nullptr;
    const char* sql =
        "SELECT source_url, message_id, request_id, format, width, height, thumbnail_key, "
        "thumbnail_location, thumbnail_width, thumbnail_height, dhash, average_color "
        "FROM thumbnails";
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
        ADD_FAILURE() << sqlite3_errmsg(db);
        sqlite3_close(db);
        return rows;
    }
    auto text = [st](int i) {
        const auto* p = sqlite3_column_text(st, i);
        return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
    };
    while (sqlite3_step(st) == SQLITE_ROW) {
        stored_row r;
        r.source_url = text(0);
        r.message_id = text(1);
        r.request_id = text(2);
        r.format = text(3);
        r.width = sqlite3_column_int(st, 4);
        r.height = sqlite3_column_int(st, 5);
        r.thumbnail_key = text(6);
        r.thumbnail_location = text(7);
        r.thumbnail_width = sqlite3_column_int(st, 8);
        r.thumbnail_height = sqlite3_column_int(st, 9);
        r.dhash = text(10);
        r.average_color = text(11);
        rows[r.source_url] = r;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

std::set<std::string> files_in(const std::string& dir) {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) names.insert(e.path().filename().string());
    return names;
}

void expect_rows_and_files_match(const std::string& output_dir, const json::value& response,
                                 const std::map<std::string, std::vector<std::string>>& urls_by_id,
                                 int size) {
    const auto failed_list = failed_ids(response);
    const std::set<std::string> failed(failed_list.begin(), failed_list.end());
    EXPECT_EQ(failed.size(), failed_list.size()) << "a record is reported twice";
    std::set<std::string> expected_urls;
    for (const auto& [id, urls] : urls_by_id) {
        if (!failed.count(id)) expected_urls.insert(urls.begin(), urls.end());
    }
    for (const auto& id : failed) EXPECT_TRUE(urls_by_id.count(id)) << "unknown id " << id;

    const auto rows = read_rows(output_dir + "/thumbnails.db");
    std::set<std::string> row_urls, row_files;
    for (const auto& [url, row] : rows) {
        row_urls.insert(url);
        row_files.insert(row.thumbnail_key);
        EXPECT_FALSE(failed.count(row.message_id)) << url << " has a row for failed " << row.message_id;
        EXPECT_EQ(row.thumbnail_location, output_dir + "/thumbs/" + row.thumbnail_key);
        EXPECT_EQ(row.dhash.size(), 16u);
        EXPECT_EQ(row.average_color.size(), 7u);
        std::ifstream in(row.thumbnail_location, std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        try {
            const auto [w, h] = dimensions(bytes.str());
            EXPECT_EQ(w, row.thumbnail_width) << url;
            EXPECT_EQ(h, row.thumbnail_height) << url;
            EXPECT_LE(std::max(w, h), size) << url;
        } catch (const std::exception& e) {
            ADD_FAILURE() << row.thumbnail_location << " is not an image: " << e.what();
        }
    }
    EXPECT_EQ(row_urls, expected_urls);
    EXPECT_EQ(files_in(output_dir + "/thumbs"), row_files);
}

temp_dir::temp_dir() {
    char name[] = "/tmp/thumbnails-test-XXXXXX";
    path = ::mkdtemp(name);
}

temp_dir::~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
}

std::string s3_notification(const std::vector<std::string>& keys, const std::string& bucket) {
    json::array records;
    for (const auto& key : keys) {
        records.push_back(json::object{
            {"eventVersion", "2.1"},
            {"eventSource", "aws:s3"},
            {"awsRegion", "us-east-1"},
            {"eventTime", "2024-05-01T10:00:00.000Z"},
            {"eventName", "ObjectCreated:Put"},
            {"s3", json::object{{"s3SchemaVersion", "1.0"},
                                {"bucket", json::object{{"name", bucket}}},
                                {"object", json::object{{"key", key}, {"size", 1000}}}}}});
    }
    return json::serialize(json::object{{"Records", std::move(records)}});
}

}  // namespace thumbnails_test
