// The worker side: a process the pool started, serving one request at a
// time over its socketpair with plain blocking calls. No Asio here: a worker
// is single-threaded and has nothing else to wait for.
#include <muster/process_pool/process_pool.hpp>

#include "worker.hpp"

#include <cxxabi.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <typeinfo>

#include "protocol.hpp"
#include "registry.hpp"
#include "sanitizers.hpp"

namespace muster {

namespace detail {

namespace {

namespace proto = pool_protocol;

std::atomic<bool> entry_called{false};

template <class N>
bool parse_number(const char* text, N& out) {
    std::string_view s(text);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

int fail(const char* what) {
    std::fprintf(stderr, "muster::process_pool worker: %s\n", what);
    return 2;
}

bool read_exact(int fd, char* data, std::size_t size, bool& eof_at_start) {
    std::size_t done = 0;
    eof_at_start = false;
    while (done < size) {
        ssize_t n = ::read(fd, data + done, size - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
        } else if (n == 0) {
            eof_at_start = done == 0;
            return false;
        } else if (errno != EINTR) {
            return false;
        }
    }
    return true;
}

bool send_frame(int channel, proto::frame_kind kind, std::uint32_t task_id, std::uint64_t tag,
                std::string_view name, std::string_view payload) {
    auto header = proto::make_header(kind, task_id, name.size(), payload.size(), tag);
    iovec parts[3] = {{&header, sizeof header},
                      {const_cast<char*>(name.data()), name.size()},
                      {const_cast<char*>(payload.data()), payload.size()}};
    iovec* iov = parts;
    int count = 3;
    while (count > 0) {
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<std::size_t>(count);
        ssize_t n = ::sendmsg(channel, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        auto left = static_cast<std::size_t>(n);
        while (count > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            ++iov;
            --count;
        }
        if (count > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
    return true;
}

std::string current_exception_type() {
    const std::type_info* type = abi::__cxa_current_exception_type();
    if (!type) return "unknown exception";
    int status = 0;
    char* demangled = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
    std::string name = status == 0 && demangled ? demangled : type->name();
    std::free(demangled);
    return name;
}

std::string mebibytes(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// Sanitizer builds: RLIMIT_AS would fail the shadow memory, so a thread
// watches the resident set instead and ends the worker past the limit.
void watch_memory(std::size_t limit) {
    int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const long page = ::sysconf(_SC_PAGESIZE);
    std::thread([fd, limit, page] {
        char buf[128];
        for (;;) {
            ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
            if (n > 0) {
                buf[n] = '\0';
                unsigned long size = 0;
                unsigned long resident = 0;
                if (std::sscanf(buf, "%lu %lu", &size, &resident) == 2 &&
                    resident * static_cast<unsigned long>(page) > limit) {
                    ::_exit(proto::memory_limit_exit_code);
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }).detach();
}

// RLIMIT_CPU counts the process's whole life: before each task the soft
// limit moves to what it has used so far plus the allowance.
void allow_cpu_seconds(std::size_t seconds) {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto used = static_cast<rlim_t>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1);
    rlimit current{};
    ::getrlimit(RLIMIT_CPU, &current);
    rlim_t soft = used + static_cast<rlim_t>(seconds);
    if (current.rlim_max != RLIM_INFINITY && soft > current.rlim_max) soft = current.rlim_max;
    rlimit next{soft, current.rlim_max};
    ::setrlimit(RLIMIT_CPU, &next);
}

}  // namespace

int serve(int channel, const worker_config& config) {
    std::string name;
    std::string payload;
    for (;;) {
        proto::frame_header header{};
        bool eof = false;
        if (!read_exact(channel, reinterpret_cast<char*>(&header), sizeof header, eof)) {
            return eof ? 0 : fail("the channel to the pool broke");
        }
        if (!proto::check_header(header, config.max_frame).empty() ||
            header.kind != static_cast<std::uint8_t>(proto::frame_kind::request)) {
            return fail("the pool sent a malformed frame");
        }
        name.resize(header.name_length);
        payload.resize(header.payload_length);
        if (!read_exact(channel, name.data(), name.size(), eof) ||
            !read_exact(channel, payload.data(), payload.size(), eof)) {
            return fail("the channel to the pool broke inside a frame");
        }

        std::string result;
        std::string error_type;
        std::string error_message;
        auto fn = find_work(name);
        if (!fn) {
            error_type = "std::invalid_argument";
            error_message = "muster::process_pool: no work function named '" + name +
                            "' is registered in the worker";
        } else {
            if (config.cpu_seconds > 0) allow_cpu_seconds(config.cpu_seconds);
            try {
                result = (*fn)(std::string_view(payload));
            } catch (const std::bad_alloc& e) {
                error_type = current_exception_type();
                error_message = e.what();
                if (config.memory_limit > 0) {
                    error_message +=
                        " (the worker's memory limit is " + mebibytes(config.memory_limit) + ")";
                }
            } catch (const std::exception& e) {
                error_type = current_exception_type();
                error_message = e.what();
            } catch (...) {
                error_type = current_exception_type();
                error_message = "unknown exception";
            }
            if (error_type.empty() && result.size() > config.max_frame) {
                error_type = "std::length_error";
                error_message = "muster::process_pool: the result of '" + name + "' is " +
                                std::to_string(result.size()) + " bytes, over max_frame_bytes (" +
                                std::to_string(config.max_frame) + ")";
            }
        }
        if (error_type.size() > 0xffff) error_type.resize(0xffff);
        if (error_message.size() > config.max_frame) error_message.resize(config.max_frame);
        const bool sent = error_type.empty()
                              ? send_frame(channel, proto::frame_kind::result, header.task_id,
                                           header.tag, {}, result)
                              : send_frame(channel, proto::frame_kind::error, header.task_id,
                                           header.tag, error_type, error_message);
        if (!sent) return fail("could not send a result to the pool");
        // Give memory back between tasks rather than holding the largest
        // task's buffers for the worker's whole life.
        std::string().swap(result);
        std::string().swap(payload);
    }
}

namespace {

// Descriptors 0, 1 and 2 stay open (on /dev/null if the parent had them
// closed), so nothing the worker opens later becomes its stdin or stdout.
bool keep_standard_descriptors() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (opened < 0) return false;
        if (opened != fd) {
            ::dup2(opened, fd);
            ::close(opened);
        }
    }
    return true;
}

// Moves the channel from descriptor 3, where code that writes to a small
// descriptor number it does not own (a closed file's, another program's
// convention) would land on it, to a high one, close-on-exec. Descriptor 3
// is left free.
int move_channel() {
    int floor = proto::worker_channel_floor;
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
        files.rlim_cur <= static_cast<rlim_t>(floor)) {
        floor = static_cast<int>(files.rlim_cur) - 1;
    }
    int channel = ::fcntl(proto::worker_fd, F_DUPFD_CLOEXEC, floor);
    // Taken up there: any free one above the standard descriptors will do.
    if (channel < 0) channel = ::fcntl(proto::worker_fd, F_DUPFD_CLOEXEC, proto::worker_fd + 1);
    if (channel < 0) return -1;
    ::close(proto::worker_fd);
    return channel;
}

int worker_main(int argc, char** argv) {
    if (argc != proto::worker_argc) return fail("wrong number of arguments");
    worker_config config;
    if (!parse_number(argv[2], config.parent) || !parse_number(argv[3], config.memory_limit) ||
        !parse_number(argv[4], config.cpu_seconds) || !parse_number(argv[5], config.open_files) ||
        !parse_number(argv[6], config.max_frame)) {
        return fail("malformed arguments");
    }
    // Die with the parent; if it is already gone, the signal would never come.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != static_cast<pid_t>(config.parent)) return 1;

    struct stat st {};
    if (::fstat(proto::worker_fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return fail("descriptor 3 is not the pool's socket; workers are started by a process_pool");
    }
    if (!keep_standard_descriptors()) return fail("cannot open /dev/null");
    const int channel = move_channel();  // close-on-exec: not for programs the work may start
    if (channel < 0) return fail("cannot move the pool's socket to a free descriptor");

    if (config.open_files > 0) {
        rlimit l{static_cast<rlim_t>(config.open_files), static_cast<rlim_t>(config.open_files)};
        if (::setrlimit(RLIMIT_NOFILE, &l) != 0) return fail("cannot set RLIMIT_NOFILE");
    }
    if (config.memory_limit > 0) {
        if constexpr (sanitizer_reserves_address_space) {
            watch_memory(config.memory_limit);
        } else {
            rlimit l{static_cast<rlim_t>(config.memory_limit),
                     static_cast<rlim_t>(config.memory_limit)};
            if (::setrlimit(RLIMIT_AS, &l) != 0) return fail("cannot set RLIMIT_AS");
        }
    }

    const std::string pid = std::to_string(::getpid());
    if (!send_frame(channel, proto::frame_kind::hello, 0, 0, {}, pid)) {
        return fail("cannot reach the pool");
    }
    return serve(channel, config);
}

}  // namespace

bool worker_entry_called() noexcept { return entry_called.load(std::memory_order_relaxed); }

}  // namespace detail

std::optional<int> process_pool::worker_main_if_requested(int argc, char** argv) {
    detail::entry_called.store(true, std::memory_order_relaxed);
    if (argc < 2 || argv == nullptr || argv[1] == nullptr ||
        std::string_view(argv[1]) != detail::pool_protocol::worker_flag) {
        return std::nullopt;
    }
    return detail::worker_main(argc, argv);
}

}  // namespace muster
