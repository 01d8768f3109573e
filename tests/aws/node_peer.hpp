#pragma once

// Starts a Node program from tests/aws/peers (s3rver, dynalite, the
// throttling stand-in) as a child process with no AWS_* variables in its
// environment, and reads the port it listens on from its first line
// ("listening PORT"). The child exits when its stdin closes, so it never
// outlives the test process; the destructor also ends it.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <poll.h>

extern char** environ;

namespace muster_test {

/// Removes every AWS_* variable from this process's environment (children
/// inherit what is left): no test may find real credentials.
inline void clear_aws_environment() {
    std::vector<std::string> names;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        if (entry.rfind("AWS_", 0) == 0) names.push_back(entry.substr(0, entry.find('=')));
    }
    for (const auto& n : names) ::unsetenv(n.c_str());
}

/// ESM resolves packages from the script's directory upwards, and the peers
/// are installed elsewhere: a script runs through a symlink in the peers
/// directory (named after this process, so parallel tests do not collide;
/// removed by the caller once Node has loaded it), with
/// `--preserve-symlinks-main`.
inline std::string peer_link(const std::string& peers_dir, const std::string& script) {
    namespace fs = std::filesystem;
    const fs::path link = fs::path(peers_dir) / ("muster-" + std::to_string(::getpid()) + "-" +
                                                 fs::path(script).filename().string());
    std::error_code ec;
    fs::remove(link, ec);
    fs::create_symlink(script, link);
    return link.string();
}

class node_peer {
  public:
    /// Runs `node script args...` with NODE_PATH at the installed peers.
    node_peer(const std::string& peers_dir, const std::string& script,
              std::vector<std::string> args = {}) {
        clear_aws_environment();
        int out[2];
        int in[2];
        if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe failed");
        link_ = peer_link(peers_dir, script);
        std::vector<std::string> argv_s{"node", "--preserve-symlinks-main", link_};
        for (auto& a : args) argv_s.push_back(std::move(a));
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            std::vector<char*> argv;
            for (auto& a : argv_s) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execvp("node", argv.data());
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        stdin_ = in[1];
        stdout_ = out[0];
        std::string line;
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (line.find('\n') == std::string::npos) {
            pollfd p{stdout_, POLLIN, 0};
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                give_up - std::chrono::steady_clock::now());
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
                throw std::runtime_error(script + " did not start in time");
            char buf[256];
            const ssize_t n = ::read(stdout_, buf, sizeof buf);
            if (n <= 0) throw std::runtime_error(script + " exited before listening");
            line.append(buf, static_cast<std::size_t>(n));
        }
        const auto at = line.find("listening ");
        if (at == std::string::npos) throw std::runtime_error(script + " said: " + line);
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(at + 10)));
        std::error_code ec;
        std::filesystem::remove(link_, ec);
    }

    ~node_peer() {
        std::error_code ec;
        std::filesystem::remove(link_, ec);
        ::close(stdin_);
        ::close(stdout_);
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }

    node_peer(const node_peer&) = delete;
    node_peer& operator=(const node_peer&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  private:
    std::string link_;
    pid_t pid_ = -1;
    int stdin_ = -1;
    int stdout_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace muster_test
