/// @file
/// The exceptions muster itself reports in outcomes.
#pragma once

#include <stdexcept>
#include <string>

#include <muster/core/status.hpp>

namespace muster {

/// Base of the errors muster puts into an outcome when a task did not run to
/// completion by itself (`timed_out`, `cancelled`, `not_started`). A task's
/// own exception is never replaced by one of these: a `failed` outcome holds
/// exactly what the task threw. One exception: a task that throws a
/// `timeout_error` itself (a time limit muster enforced inside it, such as a
/// `process_pool` task timeout) is recorded `timed_out`, holding that error.
class task_error : public std::runtime_error {
  public:
    task_error(muster::status s, const std::string& what) : std::runtime_error(what), status_(s) {}

    /// The status of the outcome this error describes.
    muster::status status() const noexcept { return status_; }

  private:
    muster::status status_;
};

/// The task's `task_timeout` or the scope's deadline expired while it ran.
class timeout_error : public task_error {
  public:
    explicit timeout_error(const std::string& what) : task_error(status::timed_out, what) {}
};

/// The task was cancelled because its collection stopped (a policy, or the
/// enclosing scope was cancelled).
class cancelled_error : public task_error {
  public:
    explicit cancelled_error(const std::string& what) : task_error(status::cancelled, what) {}
};

/// The collection stopped before the task was admitted.
class not_started_error : public task_error {
  public:
    explicit not_started_error(const std::string& what) : task_error(status::not_started, what) {}
};

}  // namespace muster
