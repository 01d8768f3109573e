/// @file
/// `muster::aws::s3`: objects in Amazon S3 (or a stand-in), over muster::http.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <muster/aws/config.hpp>
#include <muster/aws/error.hpp>
#include <muster/core/stable_string.hpp>
#include <muster/http/client.hpp>
#include <muster/http/headers.hpp>

namespace muster::aws {

/// An object's data and what S3 says about it.
struct object {
    /// The content (empty from `head_object` and a streamed `get_object`).
    std::string body;
    std::string content_type;
    /// `Content-Length` as S3 announced it.
    std::uint64_t content_length = 0;
    /// The entity tag, quotes included, as S3 sends it.
    std::string etag;
    /// `Last-Modified`, an HTTP date, as sent.
    std::string last_modified;
    /// `x-amz-version-id`, on a versioned bucket.
    std::string version_id;
    /// User metadata (`x-amz-meta-<name>`), names lower case without the prefix.
    std::vector<std::pair<std::string, std::string>> metadata;
    /// Every response header.
    http::headers headers;
};

/// Optional settings of `s3::put_object`.
///
/// GCC 12: written inline in the `co_await` expression
/// (`co_await s3.put_object(b, k, body, {.content_type = "image/png"})`) it
/// is safe only while `metadata` and `headers` stay empty; name options
/// that carry them first (see the README's compiler caveat).
struct put_options {
    /// `Content-Type`; empty: `application/octet-stream`.
    muster::stable_string content_type;
    /// User metadata, sent as `x-amz-meta-<name>`.
    std::vector<std::pair<std::string, std::string>> metadata;
    /// Extra headers (`Cache-Control`, `x-amz-storage-class`...), signed with the rest.
    http::headers headers;
};

/// What `s3::put_object` returns.
struct put_result {
    std::string etag;
    std::string version_id;
};

/// A client for S3's object API: get (in memory or streamed), put, head,
/// delete, and presigned URLs.
///
/// Addressing: virtual-host style (`https://bucket.s3.region.amazonaws.com/key`)
/// against AWS, path style (`endpoint/bucket/key`) with an endpoint
/// override, an IP address, `config::s3_force_path_style`, or a bucket name
/// that is not a valid host label (as AWS's SDKs do). Keys are encoded
/// byte by byte; `/` stays a separator.
///
/// Completion: each call completes when S3 has answered and the body (if
/// any) has arrived; `put_object` and `delete_object` are complete (visible
/// to a following `get_object`) when they return.
///
/// Errors: an error response is a `muster::aws::error` with S3's code
/// (`NoSuchKey`, `NoSuchBucket`, `AccessDenied`, `SignatureDoesNotMatch`,
/// `NotFound` for a `head_object` of a missing key...), message and
/// request id; no response at all is a `muster::http::error`.
///
/// Retries: throttling (`SlowDown`, 429), 5xx and failed connections are
/// retried per `config::retry` with backoff, each attempt signed anew,
/// never past the calling scope's deadline. Configure the http client
/// without retries of its own, or they multiply.
///
/// Deadline and cancellation: as `muster::http::client::request`: bounded
/// by the calling scope's deadline (a Lambda invocation's), ended at once by
/// terminal cancellation (what muster's collections use).
///
/// Lifetime: copies share their state; a call keeps what it needs alive, so
/// the `s3` object may go before calls it made complete.
///
/// Thread-safety: as the http client: use it on the thread of its executor.
///
/// @code
/// auto ex = co_await boost::asio::this_coro::executor;
/// muster::http::client http{ex};
/// muster::aws::s3 s3{http, muster::aws::config::from_env()};
/// auto put = s3.put_object("photos", "a/b.jpg", std::move(jpeg));
/// co_await std::move(put);
/// auto get = s3.get_object("photos", "a/b.jpg");
/// muster::aws::object obj = co_await std::move(get);
/// @endcode
class s3 {
  public:
    s3(http::client client, aws::config cfg);

    /// Stores `body` under `key`, replacing any object there.
    boost::asio::awaitable<put_result> put_object(std::string bucket, std::string key,
                                                  std::string body, put_options o = {}) const;

    /// Reads the object, body in memory (bounded by the http client's
    /// `max_body_size`).
    boost::asio::awaitable<object> get_object(std::string bucket, std::string key) const;

    /// Reads the object and streams its body to `sink` piece by piece; the
    /// returned `object` has an empty body. The first 64 KiB are held back
    /// until the response is known to be a success, so an error response
    /// never reaches the sink; the body is retried (per `config::retry`)
    /// only while nothing has reached the sink.
    boost::asio::awaitable<object> get_object(std::string bucket, std::string key,
                                              http::body_sink sink) const;

    /// The object's metadata, without its body. A missing key is an
    /// `error` with code `NotFound` and status 404.
    boost::asio::awaitable<object> head_object(std::string bucket, std::string key) const;

    /// Deletes the object (deleting a missing key succeeds, as in S3).
    boost::asio::awaitable<void> delete_object(std::string bucket, std::string key) const;

    /// A URL that lets anyone GET the object for `expires` (at most 7 days),
    /// signed with `UNSIGNED-PAYLOAD`. Made locally, without a request.
    std::string presigned_get_url(std::string_view bucket, std::string_view key,
                                  std::chrono::seconds expires) const;

    /// A URL that lets anyone PUT the object for `expires`. Only `Host` is
    /// signed, so the uploader may send any `Content-Type`.
    std::string presigned_put_url(std::string_view bucket, std::string_view key,
                                  std::chrono::seconds expires) const;

    /// The URL of an object, after the addressing rules above.
    std::string object_url(std::string_view bucket, std::string_view key) const;

    const aws::config& config() const noexcept;

    struct state;

  private:
    std::shared_ptr<const state> state_;
};

}  // namespace muster::aws
