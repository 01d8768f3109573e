/// @file
/// `muster::aws::dynamodb`: items in Amazon DynamoDB (or a stand-in), over
/// muster::http, in DynamoDB's JSON protocol.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <muster/aws/config.hpp>
#include <muster/aws/error.hpp>
#include <muster/http/client.hpp>

namespace muster::aws {

/// Optional settings of `dynamodb::put_item`, in DynamoDB's terms.
struct put_item_options {
    /// Put only if this holds, e.g. `"attribute_not_exists(pk)"`; otherwise
    /// the call fails with `ConditionalCheckFailedException`.
    std::string condition_expression;
    /// `#name` placeholders: `{"#s": "status"}`.
    boost::json::object expression_attribute_names;
    /// `:value` placeholders in attribute-value form: `{":v": {"N": "1"}}`.
    boost::json::object expression_attribute_values;
    /// `NONE` (empty) or `ALL_OLD`.
    std::string return_values;
};

/// What `dynamodb::update_item` changes, in DynamoDB's terms.
struct update_item_options {
    /// E.g. `"SET #s = :done ADD version :one"`.
    std::string update_expression;
    std::string condition_expression;
    boost::json::object expression_attribute_names;
    boost::json::object expression_attribute_values;
    /// `NONE` (empty), `ALL_OLD`, `UPDATED_OLD`, `ALL_NEW`, `UPDATED_NEW`.
    std::string return_values;
};

/// Optional settings of `dynamodb::get_item`.
struct get_item_options {
    bool consistent_read = false;
    std::string projection_expression;
    boost::json::object expression_attribute_names;
};

/// A DynamoDB client (JSON protocol, `DynamoDB_20120810`). Items, keys and
/// values are `boost::json::object`s in DynamoDB's attribute-value form,
/// `{"pk": {"S": "a"}, "n": {"N": "1"}}`; `muster/aws/attribute.hpp` builds
/// and reads them.
///
/// Completion: each call completes with DynamoDB's answer; a write is
/// durable when it returns.
///
/// Errors: an error response is a `muster::aws::error` with DynamoDB's code
/// (`ConditionalCheckFailedException`, `ResourceNotFoundException`,
/// `ValidationException`...), message and request id; no response at all is
/// a `muster::http::error`.
///
/// Retries: `ThrottlingException`, `ProvisionedThroughputExceededException`,
/// `RequestLimitExceeded`, 5xx and failed connections are retried per
/// `config::retry` with backoff, each attempt signed anew, never past the
/// calling scope's deadline.
///
/// Deadline, cancellation, lifetime, thread-safety: as `s3`.
///
/// @code
/// muster::aws::dynamodb ddb{http, cfg};
/// boost::json::object item{{"pk", attr::s("img-1")}, {"width", attr::n(640)}};
/// auto put = ddb.put_item("images", std::move(item));
/// co_await std::move(put);
/// @endcode
class dynamodb {
  public:
    dynamodb(http::client client, aws::config cfg);

    /// Any DynamoDB operation by name (`"CreateTable"`, `"Query"`...): sends
    /// `request` as is and returns DynamoDB's answer.
    boost::asio::awaitable<boost::json::object> call(std::string operation,
                                                     boost::json::object request) const;

    /// Writes `item` (replacing an item with the same key). Returns
    /// DynamoDB's answer (`Attributes` with `ALL_OLD`).
    boost::asio::awaitable<boost::json::object> put_item(std::string table,
                                                         boost::json::object item,
                                                         put_item_options o = {}) const;

    /// Updates the item with `key` (creating it unless a condition says
    /// otherwise). Returns DynamoDB's answer (`Attributes` per `return_values`).
    boost::asio::awaitable<boost::json::object> update_item(std::string table,
                                                            boost::json::object key,
                                                            update_item_options o) const;

    /// The item with `key`, or `std::nullopt` when there is none.
    boost::asio::awaitable<std::optional<boost::json::object>> get_item(
        std::string table, boost::json::object key, get_item_options o = {}) const;

    /// Writes many items: `request_items` is DynamoDB's `RequestItems`,
    /// `{"table": [{"PutRequest": {"Item": ...}}, {"DeleteRequest": {"Key": ...}}]}`,
    /// of any length. It is sent in batches of 25 (DynamoDB's limit), one
    /// after the other; items DynamoDB returns as unprocessed are sent again
    /// with backoff per `config::retry` (at least 5 rounds).
    ///
    /// Errors: as the other calls; items still unprocessed when the rounds
    /// (or the deadline) are exhausted are an `error` with code
    /// `UnprocessedItems`, naming how many. Batches sent before a failure
    /// stay written.
    boost::asio::awaitable<void> batch_write_item(boost::json::object request_items) const;

    const aws::config& config() const noexcept;

    struct state;

  private:
    std::shared_ptr<const state> state_;
};

}  // namespace muster::aws
