#pragma once

// The bootstrap as a child process: started in its own process group, so
// that freezing, thawing and killing reach every process it started.

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace muster::emulator::detail {

struct spawn_spec {
    std::vector<std::string> argv;
    std::vector<std::string> environment;  // "K=V"
    std::filesystem::path working_directory;
    int output_fd = 2;
};

class child_process {
  public:
    child_process() = default;
    ~child_process();
    child_process(child_process&& other) noexcept;
    child_process& operator=(child_process&& other) noexcept;

    // Starts argv[0] (searched in PATH when it has no '/') as the leader of a
    // new process group, stdin from /dev/null, stdout and stderr on
    // output_fd, every signal at its default disposition and unblocked.
    static child_process spawn(const spawn_spec& spec, std::error_code& ec);

    pid_t pid() const noexcept { return pid_; }
    // A pidfd: readable once the process has exited. Owned by this object.
    int pidfd() const noexcept { return pidfd_; }
    bool running() const noexcept { return pid_ > 0; }

    // Sends sig to the whole process group.
    void signal_group(int sig) const noexcept;

    // Reaps the process if it has exited. Returns true with its wait status
    // in status when it had. After that the object is empty.
    bool try_reap(int& status) noexcept;

    // SIGKILL to the group, then a blocking reap of the leader.
    void kill_and_reap() noexcept;

    // Sum of VmHWM over the leader and its descendants, in KiB.
    std::size_t tree_peak_rss_kib() const;

  private:
    void release() noexcept;

    pid_t pid_ = 0;
    int pidfd_ = -1;
};

// "exit status 3", "signal: killed": what Lambda says of an exited runtime.
std::string describe_wait_status(int status);

}  // namespace muster::emulator::detail
