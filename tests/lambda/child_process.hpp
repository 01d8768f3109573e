/// @file
/// Runs a program as a child process with a chosen environment, its output
/// captured in files, for tests that treat the program as a black box.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace muster_test {

class child_process {
  public:
    /// Starts `argv[0]` with exactly `env` as its environment (plus PATH,
    /// HOME and the sanitizer options of the test's own environment).
    child_process(std::vector<std::string> argv, std::map<std::string, std::string> env);
    ~child_process();  ///< Kills the child if it still runs.
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    /// Waits for the exit; its code, or 128+signal, or `std::nullopt` on timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    bool running();
    void kill();

    std::string out() const;  ///< Everything written to stdout so far.
    std::string err() const;  ///< Everything written to stderr so far.

  private:
    int pid_ = -1;
    std::optional<int> status_;
    std::string out_path_;
    std::string err_path_;
};

}  // namespace muster_test
