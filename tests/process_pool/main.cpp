// The process_pool test program is its own worker: main hands over to the
// worker entry first, and the work functions the tests run (ordinary ones
// and hostile ones) are registered here, before main.
#include <muster/process_pool/process_pool.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace {

std::string echo(std::string_view in) { return std::string(in); }

std::string pid(std::string_view) { return std::to_string(::getpid()); }

/// Sleeps `in` milliseconds and reports when it ran: "<start> <end>" in
/// steady-clock nanoseconds (CLOCK_MONOTONIC, the same in every process).
std::string interval_ms(std::string_view in) {
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(in))));
    const auto end = std::chrono::steady_clock::now();
    return std::to_string(start.time_since_epoch().count()) + " " +
           std::to_string(end.time_since_epoch().count());
}

std::string sleep_ms(std::string_view in) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(in))));
    return std::string(in);
}

// An invalid write the compiler cannot prove is one; 16 is not null, so
// UBSan lets it through to the MMU.
std::string segfault(std::string_view) {
    volatile std::uintptr_t address = 16;
    *reinterpret_cast<volatile int*>(address) = 1;
    return "unreachable";
}

std::string do_abort(std::string_view) { std::abort(); }

std::string exit_now(std::string_view) { std::_Exit(7); }

std::string kill_self(std::string_view) {
    ::raise(SIGKILL);
    return "unreachable";
}

// Allocates and touches 16 MiB at a time until something stops it.
std::string hog(std::string_view) {
    std::vector<std::unique_ptr<char[]>> chunks;
    for (;;) {
        auto chunk = std::make_unique<char[]>(std::size_t{16} << 20);
        std::memset(chunk.get(), 1, std::size_t{16} << 20);
        chunks.push_back(std::move(chunk));
    }
}

std::string spin(std::string_view) {
    volatile unsigned long n = 0;
    for (;;) n = n + 1;
}

std::string throws(std::string_view in) {
    throw std::invalid_argument("bad input: " + std::string(in));
}

// Speaks out of turn on the pool's channel (descriptor 3 in a worker).
std::string garbage(std::string_view) {
    const char junk[] = "this is not a frame at all";
    if (::write(3, junk, sizeof junk) < 0) return "write failed";
    std::this_thread::sleep_for(std::chrono::seconds(5));
    return "late";
}

std::string close_channel(std::string_view) {
    ::close(3);
    std::this_thread::sleep_for(std::chrono::seconds(5));
    return "late";
}

std::string open_files(std::string_view) {
    int n = 0;
    std::vector<int> fds;
    for (int fd; n < 100000 && (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0; ++n) {
        fds.push_back(fd);
    }
    for (int fd : fds) ::close(fd);
    return std::to_string(n);
}

std::string huge(std::string_view in) { return std::string(std::stoul(std::string(in)), 'x'); }

const muster::work_registrar registrations[] = {
    {"echo", echo},
    {"pid", pid},
    {"sleep_ms", sleep_ms},
    {"interval_ms", interval_ms},
    {"segfault", segfault},
    {"abort", do_abort},
    {"exit_now", exit_now},
    {"kill_self", kill_self},
    {"hog", hog},
    {"spin", spin},
    {"throws", throws},
    {"garbage", garbage},
    {"close_channel", close_channel},
    {"open_files", open_files},
    {"huge", huge},
};

// `--pool-parent`: a process that starts a pool of two, prints its
// workers' pids on one line and waits to be killed (the test of
// PR_SET_PDEATHSIG kills it).
int pool_parent() {
    boost::asio::io_context io;
    muster::process_pool_options options;
    options.workers = 2;
    muster::process_pool pool(io.get_executor(), options);
    boost::asio::co_spawn(
        io,
        [](muster::process_pool* p) -> boost::asio::awaitable<void> {
            co_await p->start();
            for (int pid : p->worker_pids()) std::printf("%d ", pid);
            std::printf("\n");
            std::fflush(stdout);
        }(&pool),
        boost::asio::detached);
    io.run_for(std::chrono::seconds(30));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (auto code = muster::process_pool::worker_main_if_requested(argc, argv)) return *code;
    if (argc == 2 && std::string_view(argv[1]) == "--pool-parent") return pool_parent();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
