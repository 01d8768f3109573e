/// @file
/// `directory_store`: thumbnails as files in a local directory, the embedded
/// default `thumbnail_store`.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "stores.hpp"

namespace thumbnails {

/// Thumbnails as files `<directory>/<key>`.
///
/// `put` writes `<directory>/.<key>.<pid>.<n>.tmp`, flushes it to disk, renames it to
/// `<directory>/<key>` and flushes the directory: the final name only ever holds a whole
/// thumbnail, and a rename over an existing file replaces it atomically. The blocking calls
/// run on muster's CPU pool (`muster::offload`), whose awaiting coroutine always waits for them,
/// so a cancelled `put` has either renamed its file or removed its temporary one.
///
/// Errors: `std::system_error` naming the path and the call that failed;
/// `std::invalid_argument` for a key that is not a plain file name.
class directory_store final : public thumbnail_store {
  public:
    /// Creates `directory` (and its parents) when missing, and removes temporary files left
    /// by processes that no longer run (a function killed at its deadline).
    ///
    /// Errors: `std::system_error` when the directory cannot be created or is not writable.
    explicit directory_store(std::string directory);

    boost::asio::awaitable<std::string> put(std::string key, std::string bytes,
                                            std::string content_type) override;
    boost::asio::awaitable<void> remove(std::string key) override;

    const std::string& directory() const noexcept { return directory_; }

  private:
    std::string directory_;
    std::atomic<std::uint64_t> sequence_{0};
};

}  // namespace thumbnails
