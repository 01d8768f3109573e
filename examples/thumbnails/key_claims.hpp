/// @file
/// `key_claims`: which thumbnail keys records of unfinished batches may have
/// written, so the clean-up of one batch never removes a thumbnail another
/// batch is about to record.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace thumbnails {

/// Process-wide bookkeeping of thumbnail keys, shared by every invocation.
///
/// A record claims its key before it writes the thumbnail and its batch releases the claim
/// once the batch's metadata is committed (or has failed). A batch that wants to remove the
/// thumbnail of a failed record may do so only while nobody holds a claim on the key; during
/// the removal, new claims of that key wait, so a record never writes a thumbnail that a
/// removal then deletes.
///
/// Thread-safety: none; use it from the io_context thread only (every coroutine of the
/// function runs there).
class key_claims {
  public:
    /// Removal waits are timers on `ex` (the io_context's executor).
    explicit key_claims(boost::asio::any_io_executor ex) : executor_(std::move(ex)) {}

    /// Claims `key`, first waiting for a removal of it to end.
    ///
    /// Errors: `boost::system::system_error(operation_aborted)` when the calling coroutine is
    /// cancelled while waiting; the key is then not claimed.
    boost::asio::awaitable<void> claim(std::string key);

    /// Gives back one claim of `key`.
    void release(const std::string& key);

    /// Starts removing `key` when nobody claims it and no removal of it runs: returns true,
    /// and claims of `key` wait until `end_removal(key)`. False otherwise (leave the file).
    bool begin_removal(const std::string& key);

    /// Ends a removal `begin_removal` started, waking the claims that wait for it.
    void end_removal(const std::string& key);

    /// Claims held on `key` (for tests and logs).
    std::size_t claims(const std::string& key) const;

  private:
    struct entry {
        std::size_t claims = 0;
        /// Set while the key is being removed; its cancellation wakes the waiting claims.
        std::shared_ptr<boost::asio::steady_timer> removal;
    };

    void forget_if_idle(std::map<std::string, entry>::iterator it);

    boost::asio::any_io_executor executor_;
    std::map<std::string, entry> entries_;
};

}  // namespace thumbnails
