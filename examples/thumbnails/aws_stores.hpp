/// @file
/// The stores a deployment on AWS uses: thumbnails in S3 (`s3_store`),
/// metadata in DynamoDB (`dynamodb_store`), both on `muster::aws` over one
/// `muster::http::client`. Selected by configuration
/// (`THUMBNAILS_THUMBNAIL_STORE=s3`, `THUMBNAILS_METADATA_STORE=dynamodb`).
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include <muster/aws.hpp>

#include "stores.hpp"

namespace thumbnails {

/// Thumbnails as objects `<prefix><key>` of one bucket.
///
/// S3 makes an object visible whole or not at all, so `put` meets the
/// interface's rule without a temporary name, and durable once S3 has answered, so
/// `sync` has nothing to do. `put` returns `s3://<bucket>/<prefix><key>`.
///
/// Errors: `muster::aws::error` (S3's code, message and request id) or
/// `muster::http::error`; throttling and 5xx are retried by `muster::aws`
/// within the invocation's deadline.
class s3_store final : public thumbnail_store {
  public:
    /// Errors: `std::invalid_argument` when `bucket` is empty.
    s3_store(muster::aws::s3 s3, std::string bucket, std::string prefix);

    boost::asio::awaitable<std::string> put(std::string key, std::string bytes,
                                            std::string content_type) override;
    boost::asio::awaitable<void> remove(std::string key) override;

  private:
    muster::aws::s3 s3_;
    std::string bucket_;
    std::string prefix_;
};

/// Metadata as items of one DynamoDB table whose partition key is the string
/// attribute `thumbnail_key` (the SAM template creates it so). A source has
/// one thumbnail key (`thumbnail_key(url, format)`), so this is the
/// interface's "keyed by source": the newest record of a source replaces the
/// older one, and `committed_keys` reads the keys with consistent
/// `BatchGetItem`s of up to 100 keys, unprocessed keys asked for again (at
/// most 5 rounds, then an error).
///
/// `commit` writes the batch with `BatchWriteItem` (25 items a request,
/// unprocessed items retried by `muster::aws`). DynamoDB's transactions take
/// at most 100 items, and the local stand-in the tests use has none, so the
/// batch is made all-or-nothing by compensation: when a write fails, every
/// item of the batch is deleted again before the error is rethrown, so a
/// record reported failed leaves no item behind (an item it replaced is gone
/// too; SQS's retry of the record writes it again). If the deletion fails as
/// well, both errors are in the message.
class dynamodb_store final : public metadata_store {
  public:
    /// Errors: `std::invalid_argument` when `table` is empty.
    dynamodb_store(muster::aws::dynamodb ddb, std::string table);

    boost::asio::awaitable<void> commit(std::vector<metadata_record> records) override;
    boost::asio::awaitable<std::vector<std::string>> committed_keys(
        std::vector<std::string> thumbnail_keys) override;

  private:
    muster::aws::dynamodb ddb_;
    std::string table_;
};

/// The item `dynamodb_store` writes for `r` (DynamoDB's attribute-value form).
boost::json::object to_item(const metadata_record& r);

}  // namespace thumbnails
