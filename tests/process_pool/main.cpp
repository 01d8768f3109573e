// The process_pool test program is its own worker: main hands over to the
// worker entry first, and the work functions the tests run (ordinary ones
// and hostile ones) are registered here, before main.
#include <muster/process_pool/process_pool.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
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

// The pool's channel, found the way only code looking for it would: the
// worker's one socket.
int find_channel() {
    for (int fd = 0; fd < 4096; ++fd) {
        struct stat st {};
        if (::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) return fd;
    }
    throw std::runtime_error("no socket among the worker's descriptors");
}

// Speaks out of turn on the pool's channel.
std::string garbage(std::string_view) {
    const char junk[] = "this is not a frame at all";
    if (::write(find_channel(), junk, sizeof junk) < 0) return "write failed";
    std::this_thread::sleep_for(std::chrono::seconds(5));
    return "late";
}

std::string close_channel(std::string_view) {
    ::close(find_channel());
    std::this_thread::sleep_for(std::chrono::seconds(5));
    return "late";
}

// Writes a well-formed answer frame to the channel, then returns normally:
// the frame layout of src/process_pool/protocol.hpp with the task id the
// input names (the pool numbers tasks from 1) and a tag of 0.
std::string stray_frame(std::string_view in) {
    struct {
        std::uint32_t magic = 0x5254534d;
        std::uint8_t kind = 3;
        std::uint8_t version = 2;
        std::uint16_t name_length = 0;
        std::uint32_t task_id = 0;
        std::uint32_t payload_length = 5;
        std::uint64_t tag = 0;
    } header;
    static_assert(sizeof header == 24);
    header.task_id = static_cast<std::uint32_t>(std::stoul(std::string(in)));
    std::string frame(reinterpret_cast<const char*>(&header), sizeof header);
    frame += "stray";
    if (::write(find_channel(), frame.data(), frame.size()) < 0) return "write failed";
    return "the real result";
}

// Writes a frame to descriptor 3, the channel's number when a worker starts,
// as code holding a stale descriptor number would.
std::string write_to_three(std::string_view) {
    const char junk[] = "this is not a frame at all";
    const bool reached = ::write(3, junk, sizeof junk) >= 0;
    return reached ? "wrote to descriptor 3" : "descriptor 3 is closed";
}

// Which of the descriptors 0 to 3 are open in a worker, e.g. "0 1 2".
std::string open_descriptors(std::string_view) {
    std::string open;
    for (int fd = 0; fd <= 3; ++fd) {
        if (::fcntl(fd, F_GETFD) < 0) continue;
        if (!open.empty()) open += ' ';
        open += std::to_string(fd);
    }
    return open;
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
    {"stray_frame", stray_frame},
    {"write_to_three", write_to_three},
    {"open_descriptors", open_descriptors},
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
    // Idle workers hold no work, so run_for returns once they are ready;
    // the pool (and its workers) must live on until the test kills this
    // process.
    std::this_thread::sleep_for(std::chrono::seconds(30));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (auto code = muster::process_pool::worker_main_if_requested(argc, argv)) return *code;
    if (argc == 2 && std::string_view(argv[1]) == "--pool-parent") return pool_parent();
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
