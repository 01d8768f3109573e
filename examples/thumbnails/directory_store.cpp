#include "directory_store.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <muster/core/offload.hpp>

namespace thumbnails {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path);
}

void check_key(const std::string& key) {
    if (key.empty() || key.front() == '.' || key.find('/') != std::string::npos ||
        key.find('\0') != std::string::npos) {
        throw std::invalid_argument("directory_store: not a plain file name: '" + key + "'");
    }
}

/// Closes a descriptor on every path out.
struct descriptor {
    int fd = -1;
    ~descriptor() {
        if (fd >= 0) ::close(fd);
    }
};

void sync_directory(const std::string& dir) {
    descriptor d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0) fail("open", dir);
    if (::fsync(d.fd) != 0) fail("fsync", dir);
}

std::string write_file(const std::string& dir, const std::string& key, const std::string& bytes,
                       std::uint64_t sequence) {
    const std::string final_path = dir + "/" + key;
    const std::string temp_path = dir + "/." + key + "." + std::to_string(::getpid()) + "." +
                                  std::to_string(sequence) + ".tmp";
    {
        descriptor f{::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
        if (f.fd < 0) fail("open", temp_path);
        try {
            std::size_t written = 0;
            while (written < bytes.size()) {
                const ssize_t n = ::write(f.fd, bytes.data() + written, bytes.size() - written);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) fail("write", temp_path);
                written += static_cast<std::size_t>(n);
            }
            if (::fsync(f.fd) != 0) fail("fsync", temp_path);
        } catch (...) {
            ::unlink(temp_path.c_str());
            throw;
        }
    }
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(temp_path.c_str());
        errno = saved;
        fail("rename to", final_path);
    }
    // The directory entry is flushed by `sync`, once per batch.
    return final_path;
}

/// The pid in `.<key>.<pid>.<n>.tmp`, when the name has that form.
std::optional<pid_t> temp_file_pid(const std::string& name) {
    if (name.size() < 6 || name.front() != '.' || !name.ends_with(".tmp")) return std::nullopt;
    const std::string stem = name.substr(0, name.size() - 4);
    const auto last = stem.rfind('.');
    if (last == std::string::npos || last == 0) return std::nullopt;
    const auto before = stem.rfind('.', last - 1);
    if (before == std::string::npos || before == 0) return std::nullopt;
    pid_t pid = 0;
    const char* first = stem.data() + before + 1;
    const char* end = stem.data() + last;
    const auto [p, ec] = std::from_chars(first, end, pid);
    if (ec != std::errc{} || p != end) return std::nullopt;
    return pid;
}

}  // namespace

directory_store::directory_store(std::string directory, unsigned io_threads)
    : directory_(std::move(directory)), io_(std::max(io_threads, 1u)) {
    std::error_code ec;
    fs::create_directories(directory_, ec);
    if (ec) throw std::system_error(ec, "cannot create the thumbnail directory " + directory_);
    if (::access(directory_.c_str(), W_OK | X_OK) != 0) {
        fail("cannot write to the thumbnail directory", directory_);
    }
    for (const auto& entry : fs::directory_iterator(directory_, ec)) {
        const std::string name = entry.path().filename().string();
        const auto pid = temp_file_pid(name);
        // Only leftovers of processes that are gone: a live one may still rename its file.
        if (pid && *pid != ::getpid() && ::kill(*pid, 0) != 0 && errno == ESRCH) {
            fs::remove(entry.path(), ec);
        }
    }
}

directory_store::~directory_store() { io_.join(); }

boost::asio::awaitable<std::string> directory_store::put(std::string key, std::string bytes,
                                                         std::string /*content_type*/) {
    check_key(key);
    auto write = [dir = directory_, key = std::move(key), bytes = std::move(bytes),
                  n = sequence_.fetch_add(1)] { return write_file(dir, key, bytes, n); };
    auto written = muster::offload(io_, std::move(write));
    co_return co_await std::move(written);
}

boost::asio::awaitable<void> directory_store::remove(std::string key) {
    check_key(key);
    auto unlink = [path = directory_ + "/" + key] {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink", path);
    };
    auto removed = muster::offload(io_, std::move(unlink));
    co_await std::move(removed);
}

boost::asio::awaitable<void> directory_store::sync() {
    auto flush = [dir = directory_] { sync_directory(dir); };
    auto flushed = muster::offload(io_, std::move(flush));
    co_await std::move(flushed);
}

}  // namespace thumbnails
