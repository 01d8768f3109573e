/// @file
/// A small image origin for the tests: an HTTP/1.1 server on 127.0.0.1 on a
/// thread of its own, serving registered bodies by path, 404 for anything
/// else, `?delay_ms=N` to answer late, `?held` to answer only once the test
/// calls `release()`, and a log of which connection served
/// which request (to see connections reused across warm invocations).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace thumbnails_test {

class test_origin {
  public:
    /// Listens on a free port of 127.0.0.1. Throws `std::system_error` when it cannot.
    test_origin();
    ~test_origin();
    test_origin(const test_origin&) = delete;
    test_origin& operator=(const test_origin&) = delete;

    /// Serves `body` at `path` (as it appears in the request target, percent-encoding
    /// included, without the query). Thread-safe.
    void add(const std::string& path, std::string body);

    /// Answers the requests whose target has `held` in its query, those waiting and those to
    /// come. Thread-safe.
    void release();
    /// Requests waiting for `release()`. Thread-safe.
    std::size_t held() const;

    /// `http://127.0.0.1:<port>`.
    std::string url() const;

    /// One served request: the connection it came on (numbered from 1 in accept order) and
    /// its target.
    struct request {
        std::size_t connection;
        std::string target;
    };
    /// Every request answered so far. Thread-safe.
    std::vector<request> requests() const;
    /// Connections accepted so far. Thread-safe.
    std::size_t connections() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace thumbnails_test
