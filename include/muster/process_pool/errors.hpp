/// @file
/// The errors a `process_pool` task can end with, besides the core's
/// `timeout_error`.
#pragma once

#include <stdexcept>
#include <string>

namespace muster {

/// The worker running the task died: it was killed by a signal (a segfault,
/// an abort, the CPU time limit), exited on its own, closed its channel or
/// sent something that is not a well-formed frame, or something wrote to its
/// channel while the task ran (a frame that is not the answer to the task's
/// request, e.g. written by the work function). Only this task fails; the
/// pool replaces the worker.
///
/// `what()` reads like "muster::process_pool: worker killed by SIGSEGV while
/// running thumbnail".
class worker_crashed : public std::runtime_error {
  public:
    worker_crashed(std::string function, int signal, int exit_code, const std::string& what)
        : std::runtime_error(what),
          function_(std::move(function)),
          signal_(signal),
          exit_code_(exit_code) {}

    /// The work function the worker was running.
    const std::string& function() const noexcept { return function_; }
    /// The signal that ended the worker, or 0 when it exited.
    int signal() const noexcept { return signal_; }
    /// The worker's exit status when it exited, or -1 when a signal ended it.
    int exit_code() const noexcept { return exit_code_; }

  private:
    std::string function_;
    int signal_;
    int exit_code_;
};

/// The work function threw inside the worker. `what()` is the exception's
/// own message, unchanged; `type()` names its type as the worker saw it
/// (e.g. `"std::invalid_argument"`). The worker survived and runs other
/// tasks.
class work_error : public std::runtime_error {
  public:
    work_error(std::string function, std::string type, const std::string& what)
        : std::runtime_error(what), function_(std::move(function)), type_(std::move(type)) {}

    /// The work function that threw.
    const std::string& function() const noexcept { return function_; }
    /// The demangled type name of what it threw, or `"unknown exception"`.
    const std::string& type() const noexcept { return type_; }

  private:
    std::string function_;
    std::string type_;
};

/// No worker could be started: the executable could not be spawned, or it
/// exited or stayed silent instead of reporting ready (typically a program
/// whose `main` does not call `process_pool::worker_main_if_requested`
/// first).
class worker_start_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace muster
