/// @file
/// The exceptions muster itself reports in outcomes.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

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

/// A `retry_policy::retry_if` threw while deciding whether to retry a
/// failure: nothing is retried, and the failure is reported as this error,
/// with the task's (or request's) own exception nested in it
/// (`rethrow_nested()`, `nested_ptr()`) and the predicate's exception in
/// `predicate_exception()`. The outcome is `failed`. Neither exception is
/// swallowed: a predicate that throws is a bug to see, not a "no".
///
/// @code
/// try {
///     std::rethrow_exception(r[i].error());
/// } catch (const muster::retry_if_error& e) {
///     log(e.what());  // "retry_if threw (...) deciding on: <the task's error>"
/// }
/// @endcode
class retry_if_error : public std::runtime_error, public std::nested_exception {
  public:
    /// Made while the failure being decided on is the exception in flight
    /// (inside its `catch`), which `std::nested_exception` captures.
    retry_if_error(const std::string& what, std::exception_ptr predicate_exception)
        : std::runtime_error(what), predicate_(std::move(predicate_exception)) {}

    /// What `retry_if` threw.
    std::exception_ptr predicate_exception() const noexcept { return predicate_; }

  private:
    std::exception_ptr predicate_;
};

}  // namespace muster
