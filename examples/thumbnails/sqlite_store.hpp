/// @file
/// `sqlite_store`: metadata in a SQLite database file, the embedded default
/// `metadata_store`.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "stores.hpp"

namespace thumbnails {

/// Metadata in the table `thumbnails` of a SQLite database (schema in README.md), one row per
/// source URL, in WAL mode with `synchronous=FULL`: a committed batch survives a crash.
///
/// One transaction per `commit`, however many records it holds: one fsync per batch, and the
/// batch is recorded whole or not at all, so the function reports exactly what is recorded.
///
/// SQLite blocks, so every call runs on a thread of the store's own, one call at a time:
/// the io_context thread never waits for the disk, and invocations running at once
/// (`AWS_LAMBDA_MAX_CONCURRENCY` > 1) never interleave their transactions. Other processes
/// may use the same file; a lock they hold is waited for up to `busy_timeout`.
///
/// Errors: `std::runtime_error` with SQLite's message (`sqlite: database is locked (in
/// COMMIT)`); a failed commit is rolled back.
class sqlite_store final : public metadata_store {
  public:
    /// Opens or creates the database at `path` and its schema.
    ///
    /// Errors: `std::runtime_error` when the file cannot be opened or is not a database.
    explicit sqlite_store(const std::string& path,
                          std::chrono::milliseconds busy_timeout = std::chrono::seconds(2));
    ~sqlite_store() override;

    boost::asio::awaitable<void> commit(std::vector<metadata_record> records) override;
    boost::asio::awaitable<std::vector<std::string>> committed_keys(
        std::vector<std::string> thumbnail_keys) override;

    struct connection;

  private:
    std::shared_ptr<connection> db_;
    /// The one thread that touches the connection. Declared last: it is joined before the
    /// connection closes.
    boost::asio::thread_pool thread_{1};
};

}  // namespace thumbnails
