/// @file
/// `directory_store`: thumbnails as files in a local directory, the embedded
/// default `thumbnail_store`.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <boost/asio/thread_pool.hpp>

#include "stores.hpp"

namespace thumbnails {

/// Thumbnails as files `<directory>/<key>`.
///
/// `put` writes `<directory>/.<key>.<pid>.<n>.tmp`, flushes it to disk and renames it to
/// `<directory>/<key>`: the final name only ever holds a whole thumbnail, and a rename over an
/// existing file replaces it atomically. `sync` flushes the directory, which makes every rename
/// before it durable: one directory fsync per batch instead of one per thumbnail.
///
/// The blocking calls run on the store's own I/O threads, never on muster's CPU pool: a thread
/// waiting for the disk in fsync would otherwise leave a core without decode work. Their
/// awaiting coroutine always waits for them, so a cancelled `put` has either renamed its file
/// or removed its temporary one.
///
/// Errors: `std::system_error` naming the path and the call that failed;
/// `std::invalid_argument` for a key that is not a plain file name.
///
/// Lifetime: the store must outlive every call (its destructor joins its threads).
class directory_store final : public thumbnail_store {
  public:
    /// Creates `directory` (and its parents) when missing, and removes temporary files left
    /// by processes that no longer run (a function killed at its deadline). Up to `io_threads`
    /// calls (at least 1) may wait for the disk at once.
    ///
    /// Errors: `std::system_error` when the directory cannot be created or is not writable.
    explicit directory_store(std::string directory, unsigned io_threads = default_io_threads);
    ~directory_store() override;

    boost::asio::awaitable<std::string> put(std::string key, std::string bytes,
                                            std::string content_type) override;
    boost::asio::awaitable<void> remove(std::string key) override;
    boost::asio::awaitable<void> sync() override;

    const std::string& directory() const noexcept { return directory_; }

    /// Enough for the fsyncs of a batch's fetches in flight to overlap; the threads spend their
    /// time waiting for the disk, not on a core.
    static constexpr unsigned default_io_threads = 4;

  private:
    std::string directory_;
    std::atomic<std::uint64_t> sequence_{0};
    /// Declared last: joined before the rest goes.
    boost::asio::thread_pool io_;
};

}  // namespace thumbnails
