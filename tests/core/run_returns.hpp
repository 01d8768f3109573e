/// @file
/// `run_returns`: whether `io.run()` returns by itself once the work is
/// done, with a watchdog so a test that fails does not hang.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>

#include <muster/core/outcome.hpp>

namespace muster_test {

/// Calls `io.run()` on this thread, as a program's `main` does, and
/// reports whether it returned by itself (ran out of work) within `limit`.
/// When it does not, a watchdog thread stops the io_context, so the test
/// fails instead of hanging.
inline bool run_returns(boost::asio::io_context& io,
                        muster::clock::duration limit = std::chrono::seconds(20)) {
    std::mutex m;
    std::condition_variable cv;
    bool finished = false;
    bool stopped = false;
    std::thread watchdog([&] {
        std::unique_lock<std::mutex> lock(m);
        if (!cv.wait_for(lock, limit, [&] { return finished; })) {
            stopped = true;
            io.stop();
        }
    });
    // Joined however io.run() ends, exceptions included.
    struct join_on_exit {
        std::mutex& m;
        std::condition_variable& cv;
        bool& finished;
        std::thread& t;
        ~join_on_exit() {
            {
                std::lock_guard<std::mutex> lock(m);
                finished = true;
            }
            cv.notify_one();
            t.join();
        }
    };
    {
        join_on_exit guard{m, cv, finished, watchdog};
        io.run();
    }
    return !stopped;
}

}  // namespace muster_test
