/// @file
/// Where thumbnails and their metadata go: two small interfaces, so a
/// deployment can swap the embedded defaults (a directory, SQLite) for S3 and
/// DynamoDB without touching the pipeline.
///
/// Both are awaitable, like every task of a muster collection: an
/// implementation on `muster::http` / `muster::aws` awaits its requests
/// directly; one that blocks (files, SQLite) moves the blocking calls off the
/// io_context thread (`muster::offload`, or a thread of its own).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace thumbnails {

/// Stores encoded thumbnails under keys.
///
/// Keys are file-name-safe (`[0-9a-f]{32}.jpg` and the like), one per source image, so the
/// same source always lands under the same key and two different sources never share one.
///
/// Completion: `put` completes once the thumbnail is stored in full under `key` and readable
/// there (a reader never sees a partly written object under its final key); `remove` once it is
/// gone; `sync` once every thumbnail whose `put` completed before it was called survives a
/// crash. All may be awaited concurrently for different keys; the pipeline never runs a `put`
/// and a `remove` of the same key at once, and awaits one `sync` per batch, after its last
/// `put` and before its metadata commit, so no committed record names a thumbnail a crash
/// could lose (a crash can leave a thumbnail without a record, never the reverse).
///
/// Errors: any exception; the record fails with `store_failed` (`put`), the batch fails as a
/// failed commit would (`sync`), or the failure is logged (`remove`). `remove` of a key that
/// does not exist succeeds.
///
/// Cancellation: a cancelled `put` either completes (the object is stored) or leaves nothing
/// under `key`; the pipeline removes the key of every record that did not succeed.
///
/// Thread-safety: called from coroutines on the io_context thread; the object outlives every
/// call (the function keeps it for the life of the process).
class thumbnail_store {
  public:
    virtual ~thumbnail_store() = default;

    /// Stores `bytes` under `key`, replacing what was there. Returns where it is, for the
    /// metadata (a path, an `s3://` URL...).
    virtual boost::asio::awaitable<std::string> put(std::string key, std::string bytes,
                                                    std::string content_type) = 0;

    /// Removes `key`, if present.
    virtual boost::asio::awaitable<void> remove(std::string key) = 0;

    /// Makes every completed `put` durable. The default does nothing: for a store whose `put`
    /// is durable when it completes (S3).
    virtual boost::asio::awaitable<void> sync() { co_return; }
};

/// One processed image, as the metadata store records it. Keyed by `source_url`: the newest
/// record of a source replaces the older one.
struct metadata_record {
    std::string source_url;  ///< `source_name` of the image's URL: no credentials.
    std::string message_id;  ///< The SQS message that asked for it.
    std::string request_id;  ///< The Lambda invocation that made it.
    std::uint64_t source_bytes = 0;
    int width = 0;  ///< The source's dimensions.
    int height = 0;
    std::string format;  ///< The source's format: jpeg, png, webp...
    std::string thumbnail_key;
    std::string thumbnail_location;  ///< What `thumbnail_store::put` returned.
    std::string thumbnail_format;    ///< jpeg, webp or png.
    int thumbnail_width = 0;
    int thumbnail_height = 0;
    std::uint64_t thumbnail_bytes = 0;
    std::uint64_t dhash = 0;    ///< 64-bit difference hash of the thumbnail.
    std::string average_color;  ///< `#rrggbb`
    double fetch_ms = 0;
    double decode_ms = 0;
    double store_ms = 0;
    std::string processed_at;  ///< UTC, ISO 8601 with milliseconds.
};

/// `v` as 16 lowercase hex digits: how stores write `metadata_record::dhash` (exact, and
/// readable as the bit pattern it is).
inline std::string hex64(std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = digits[v & 0xf];
    return s;
}

/// Records metadata, a batch at a time.
///
/// Completion: `commit` completes once every record of the batch is durable; it is all or
/// nothing: when it throws, the caller treats none of them as recorded and fails every
/// record of the batch. (A store that cannot write a batch atomically must at least make a
/// repeated commit harmless: records are keyed by source, so SQS's retry of the failed
/// records writes the same rows again.) `committed_keys` says which of `thumbnail_keys` a
/// committed record refers to, so a failed record's thumbnail is removed only when no
/// committed record still needs it.
///
/// Errors: any exception. Cancellation: the pipeline does not cancel a commit; a store that
/// can be cancelled must leave the batch either wholly committed or not at all.
///
/// Thread-safety: called from coroutines on the io_context thread, possibly by several
/// invocations at once (Lambda Managed Instances); the store serialises what must be.
class metadata_store {
  public:
    virtual ~metadata_store() = default;

    /// Records `records` (upserting by `source_url`) in one atomic step.
    virtual boost::asio::awaitable<void> commit(std::vector<metadata_record> records) = 0;

    /// The subset of `thumbnail_keys` that committed records refer to.
    virtual boost::asio::awaitable<std::vector<std::string>> committed_keys(
        std::vector<std::string> thumbnail_keys) = 0;
};

}  // namespace thumbnails
