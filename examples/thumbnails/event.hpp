/// @file
/// What one SQS message asks for: the image URLs named by its body.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace thumbnails {

/// The work one SQS message body asks for.
struct record_plan {
    /// The images to process, in order. Empty when there is nothing to do (an
    /// `s3:TestEvent`, or S3 notifications of no `ObjectCreated:*` event);
    /// such a record succeeds.
    std::vector<std::string> urls;
    /// Why nothing is to be done, when `urls` is empty.
    std::string note;
};

/// Reads an SQS message body. Accepted forms:
/// - a bare `http://` or `https://` URL (surrounding whitespace ignored);
/// - `{"url": "http://..."}`;
/// - an S3 event notification, `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":
///   {"name":...},"object":{"key":...}}}, ...]}`: each `ObjectCreated:*` record becomes
///   `s3_base_url + "/" + bucket + "/" + key`, the key decoded the way S3 encodes it (`+` is a
///   space) and then percent-encoded as a URL path; other events are skipped. With an empty
///   `s3_base_url` each becomes `s3://<bucket>/<key percent-encoded>` instead, an object the
///   function reads with its own AWS credentials (`THUMBNAILS_S3_SOURCES=signed`);
/// - `{"Event":"s3:TestEvent", ...}`, which S3 sends when a notification is configured:
///   nothing to do;
/// - an SNS notification (`{"Type":"Notification","Message":"..."}`) whose message is one of
///   the above (S3 -> SNS -> SQS fan-out).
///
/// Errors: `record_error` with `reason::malformed_body` and a message saying what is wrong
/// (`body is neither a URL nor JSON`, `"url" must be a string`, `Records[0].s3.object.key:
/// missing`, `not an http(s) URL: ftp://...`).
record_plan parse_body(std::string_view body, std::string_view s3_base_url);

/// `base + "/" + bucket + "/" + key`, with `key` (already decoded) percent-encoded as a URL
/// path: every byte but `A-Z a-z 0-9 - . _ ~ /` becomes `%XX`.
std::string s3_object_url(std::string_view base, std::string_view bucket, std::string_view key);

}  // namespace thumbnails
