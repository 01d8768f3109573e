/// @file
/// What the function tests share: events, the output of a run (response,
/// log lines, rows, files) and the check that they agree.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace thumbnails_test {

/// `{"Records":[{"messageId": id, "body": body, ...}, ...]}` as SQS sends it.
boost::json::value sqs_event(const std::vector<std::pair<std::string, std::string>>& records);

/// An S3 event notification of `ObjectCreated:Put` for each of `keys` (as S3 encodes them) in
/// `bucket`, as the body of an SQS message.
std::string s3_notification(const std::vector<std::string>& keys, const std::string& bucket);

/// The `itemIdentifier`s of a partial batch response, in order.
std::vector<std::string> failed_ids(const boost::json::value& response);

/// One `record failed {...}` log line (text format), parsed.
struct logged_failure {
    std::string request_id;
    std::string message_id;
    std::string reason;
    std::string url;
    std::string message;
};
/// Every `record failed` line of `log`, in order.
std::vector<logged_failure> logged_failures(const std::string& log);
/// The JSON of every `batch done {...}` line of `log`, in order.
std::vector<boost::json::object> batch_summaries(const std::string& log);

/// A row of the function's SQLite table.
struct stored_row {
    std::string source_url;
    std::string message_id;
    std::string request_id;
    std::string format;
    int width = 0;
    int height = 0;
    std::string thumbnail_key;
    std::string thumbnail_location;
    int thumbnail_width = 0;
    int thumbnail_height = 0;
    std::string dhash;
    std::string average_color;
};
/// Every row, by source URL.
std::map<std::string, stored_row> read_rows(const std::string& db_path);

/// The names of the files in `dir` (none when it does not exist).
std::set<std::string> files_in(const std::string& dir);

/// The agreement the function promises, checked with gtest assertions: every message of
/// `urls_by_id` that the response does not list as failed has a row per URL (and the row
/// names it), no other row exists, the thumbnail directory holds exactly the rows' thumbnails
/// (no temporary file, nothing of a failed record), each is an image within `size`.
/// `urls_by_id` maps each messageId of the batch to the URLs its body names.
void expect_rows_and_files_match(const std::string& output_dir, const boost::json::value& response,
                                 const std::map<std::string, std::vector<std::string>>& urls_by_id,
                                 int size);

/// A fresh directory under /tmp, removed with its contents at the end.
struct temp_dir {
    std::string path;
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

}  // namespace thumbnails_test
