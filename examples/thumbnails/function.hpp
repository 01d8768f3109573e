/// @file
/// `thumbnail_function`: the Lambda handler. An SQS batch of image locations
/// in; each image fetched, decoded, resized and stored; the batch's metadata
/// committed at once; the partial batch response out.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda/invocation.hpp>
#include <muster/lambda/response_stream.hpp>

#include "config.hpp"
#include "stores.hpp"

namespace thumbnails {

/// The function's process-wide state (configuration, HTTP client, worker pool, stores) and its
/// handler. One per process, shared by every invocation, including invocations running at once
/// (`AWS_LAMBDA_MAX_CONCURRENCY` > 1); nothing of one invocation is kept in it.
///
/// How a batch is processed (`handle`):
/// 1. Every SQS record runs as one task of a single `muster::lambda::process_batch` collection
///    (a `with_group`), at most `THUMBNAILS_FETCH_LIMIT` at once, under a deadline of the
///    invocation's deadline less `THUMBNAILS_COMMIT_RESERVE_MS`. A record: read the body, fetch
///    each image, decode and resize it (CPU pool, or worker processes), put the thumbnail into
///    the `thumbnail_store`, and keep its metadata row in memory.
/// 2. When the collection returns, every record has its final outcome. The thumbnails are made
///    durable (`thumbnail_store::sync`, once), then the rows of the records that succeeded are
///    committed in one `metadata_store::commit`. If either fails, every record of the batch
///    fails.
/// 3. The thumbnails of records that did not succeed are removed (unless a committed row, or a
///    batch still running, needs the same key).
/// 4. The response lists every record that did not succeed, and each of them gets one log
///    line with its reason. Nothing is reported done that is not committed, and nothing is
///    committed that is reported failed.
///
/// Thread-safety: `init` and `handle` run on the runtime's io_context thread.
class thumbnail_function {
  public:
    /// Reads its configuration from `env` at `init`.
    explicit thumbnail_function(environment env = process_environment());
    ~thumbnail_function();
    thumbnail_function(const thumbnail_function&) = delete;
    thumbnail_function& operator=(const thumbnail_function&) = delete;

    /// Replaces the embedded stores (a directory and SQLite) before `init`: with S3 and DynamoDB
    /// in a deployment, with failing ones in tests. Either may be null to keep the default.
    void use_stores(std::shared_ptr<thumbnail_store> thumbnails,
                    std::shared_ptr<metadata_store> metadata);

    /// Once, before the first invocation, on the io_context (`run_options::init`): reads the
    /// configuration, opens the stores, creates the HTTP client (kept warm across
    /// invocations) and, in process mode, starts the worker pool.
    ///
    /// Errors: `muster::lambda::function_error` `Thumbnails.InvalidConfiguration` naming the
    /// variable at fault; `Thumbnails.InitFailed` when a store or the pool cannot start.
    boost::asio::awaitable<void> init();

    /// Processes one SQS batch and returns the partial batch response,
    /// `{"batchItemFailures":[{"itemIdentifier":"<messageId>"},...]}`.
    ///
    /// Errors: `muster::lambda::event_error` when the event is not an SQS batch (no
    /// `Records`, a record without `messageId`): no record can be reported then, so the
    /// invocation fails and Lambda retries the batch. A record's failure is never an exception
    /// of `handle`.
    boost::asio::awaitable<boost::json::value> handle(boost::json::value event,
                                                     muster::lambda::invocation& inv);

    /// The streaming handler (`muster::lambda::run`'s streaming form), for both kinds of event:
    ///
    /// - An SQS batch (anything but a direct invocation): `handle`, its partial batch response
    ///   written as the stream's single write (`application/json`). Lambda buffers a streamed
    ///   response for a plain `Invoke`, which is how an event source mapping calls, so the
    ///   batch response reaches it as before.
    /// - A direct invocation, `{"imageUrls": ["https://...", ...]}`: each URL runs as one
    ///   record of a batch, exactly as an SQS record whose body is that URL (same limit,
    ///   deadline, commit and clean-up), and one NDJSON line per image is streamed the moment
    ///   its record ends (`application/x-ndjson`), then a summary line once the batch is
    ///   committed. Each image's line has its `index` in `imageUrls`, its `url` (redacted,
    ///   `muster::http::redacted`) and its `status`: `stored` with the `thumbnail` (key,
    ///   bytes, width, height, format), or `failed`, `timed_out`, `not_started`, `cancelled`
    ///   with the `error` (`reason`, `message`). The README shows them.
    ///   `stored` means the thumbnail is written, not yet that it is recorded: the batch's
    ///   metadata is committed at once after the last image, and the summary says whether it
    ///   was (`committed` counts the images whose rows are; with `commit_error`, none is and
    ///   their thumbnails are removed). Images the deadline stopped or kept from starting get
    ///   their `timed_out` / `not_started` line just before the summary.
    ///
    /// Errors: before the first write, as `handle` (an event that is neither, or `imageUrls`
    /// that is not an array: `muster::lambda::invalid_event_error`); an image's failure is
    /// never an exception.
    boost::asio::awaitable<void> handle_stream(boost::json::value event,
                                               muster::lambda::invocation& inv,
                                               muster::lambda::response_stream& out);

    /// The configuration `init` read.
    const config& configuration() const;

    struct state;

  private:
    std::shared_ptr<state> state_;
};

/// The name a source is recorded under (`source_url` of its metadata row, and what its key is
/// derived from): `url` without the query parameters that presign it, when it is presigned (it
/// carries `X-Amz-Signature`, `Signature` or `X-Goog-Signature`: those, `X-Amz-Algorithm`,
/// `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
/// `X-Amz-Security-Token`, `AWSAccessKeyId`, `Expires`, `Policy`, `Key-Pair-Id`,
/// `GoogleAccessId` and the `X-Goog-` ones), then with any other credential
/// `muster::http::redacted` knows replaced by `REDACTED`. A URL presigned again for the same
/// object has the same name; a URL that is not presigned keeps its query as it is.
std::string source_name(std::string_view url);

/// The thumbnail key of a source: 32 hex digits of the SHA-256 of its `source_name`, then the
/// format's extension (`3f1c...e9.jpg`). The same source always has the same key, however
/// often its URL is presigned again; different sources never share one.
std::string thumbnail_key(std::string_view url, output_format format);

}  // namespace thumbnails
