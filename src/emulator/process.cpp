#include "process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

extern char** environ;

namespace muster::emulator::detail {

namespace {

int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// The whole of a small /proc file; empty when it is gone. Plain read(2):
// this runs at the end of invocations, so it must cost microseconds.
std::string read_proc_file(const std::string& path) {
    std::string out;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return out;
    }
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

// "VmHWM:   1234 kB" from /proc/<pid>/status; 0 when gone.
std::size_t read_vm_hwm_kib(pid_t pid) {
    std::string status = read_proc_file("/proc/" + std::to_string(pid) + "/status");
    auto at = status.find("VmHWM:");
    if (at == std::string::npos) {
        return 0;
    }
    at += 6;
    while (at < status.size() && (status[at] == ' ' || status[at] == '\t')) {
        ++at;
    }
    std::size_t kib = 0;
    std::from_chars(status.data() + at, status.data() + status.size(), kib);
    return kib;
}

void collect_children(pid_t pid, std::vector<pid_t>& out, int depth) {
    if (depth > 64) {
        return;
    }
    std::string tasks_dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* tasks = ::opendir(tasks_dir.c_str());
    if (tasks == nullptr) {
        return;
    }
    std::vector<pid_t> found;
    while (dirent* task = ::readdir(tasks)) {
        if (task->d_name[0] == '.') {
            continue;
        }
        std::string children = read_proc_file(tasks_dir + "/" + task->d_name + "/children");
        const char* p = children.data();
        const char* end = p + children.size();
        while (p < end) {
            pid_t child = 0;
            auto [next, ec] = std::from_chars(p, end, child);
            if (ec == std::errc()) {
                found.push_back(child);
                p = next;
            } else {
                ++p;
            }
        }
    }
    ::closedir(tasks);
    for (pid_t child : found) {
        out.push_back(child);
        collect_children(child, out, depth + 1);
    }
}

}  // namespace

child_process::~child_process() { kill_and_reap(); }

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)), pidfd_(std::exchange(other.pidfd_, -1)) {}

child_process& child_process::operator=(child_process&& other) noexcept {
    if (this != &other) {
        kill_and_reap();
        pid_ = std::exchange(other.pid_, 0);
        pidfd_ = std::exchange(other.pidfd_, -1);
    }
    return *this;
}

child_process child_process::spawn(const spawn_spec& spec, std::error_code& ec) {
    ec.clear();
    child_process child;
    if (spec.argv.empty()) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return child;
    }

    std::vector<char*> argv;
    for (const auto& a : spec.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : spec.environment) {
        envp.push_back(const_cast<char*>(e.c_str()));
    }
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);

    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (spec.output_fd != 1) {
        posix_spawn_file_actions_adddup2(&actions, spec.output_fd, 1);
    }
    if (spec.output_fd != 2) {
        posix_spawn_file_actions_adddup2(&actions, spec.output_fd, 2);
    }
    // Nothing else of ours: descriptors are not close-on-exec by default
    // (Asio's sockets are not), and a client connection or listening socket
    // inherited by the function would outlive our closing it: no EOF or
    // reset for the client, the port held after we exit.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!spec.working_directory.empty()) {
        posix_spawn_file_actions_addchdir_np(&actions, spec.working_directory.c_str());
    }

    // The emulator ignores SIGPIPE and may block or catch signals; none of
    // that may leak into the function.
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    pid_t pid = 0;
    // glibc's posix_spawn reports a failed exec (ENOENT, EACCES, ...) here.
    int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        ec = std::error_code(rc, std::generic_category());
        return child;
    }
    child.pid_ = pid;
    child.pidfd_ = open_pidfd(pid);
    if (child.pidfd_ < 0) {
        ec = std::error_code(errno, std::generic_category());
        child.kill_and_reap();
    }
    return child;
}

void child_process::signal_group(int sig) const noexcept {
    if (pid_ > 0) {
        ::kill(-pid_, sig);
    }
}

bool child_process::try_reap(int& status) noexcept {
    if (pid_ <= 0) {
        return false;
    }
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r != pid_) {
        return false;
    }
    // The leader is gone; whatever it left behind in its group goes too, as
    // the whole sandbox does on Lambda.
    ::kill(-pid_, SIGKILL);
    release();
    return true;
}

void child_process::kill_and_reap() noexcept {
    if (pid_ > 0) {
        ::kill(-pid_, SIGKILL);
        ::kill(-pid_, SIGCONT);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    release();
}

void child_process::release() noexcept {
    if (pidfd_ >= 0) {
        ::close(pidfd_);
    }
    pidfd_ = -1;
    pid_ = 0;
}

std::size_t child_process::tree_peak_rss_kib() const {
    if (pid_ <= 0) {
        return 0;
    }
    std::vector<pid_t> pids{pid_};
    collect_children(pid_, pids, 0);
    std::size_t total = 0;
    for (pid_t p : pids) {
        total += read_vm_hwm_kib(p);
    }
    return total;
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) {
        return "exit status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        switch (sig) {
            case SIGKILL:
                return "signal: killed";
            case SIGTERM:
                return "signal: terminated";
            case SIGSEGV:
                return "signal: segmentation fault";
            case SIGABRT:
                return "signal: aborted";
            default: {
                const char* name = ::sigabbrev_np(sig);
                return std::string("signal: ") + (name ? name : std::to_string(sig));
            }
        }
    }
    return "unknown wait status " + std::to_string(status);
}

}  // namespace muster::emulator::detail
