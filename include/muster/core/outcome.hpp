/// @file
/// `outcome<T>`: how one collected task ended, with its value or its error.
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <muster/core/errors.hpp>
#include <muster/core/status.hpp>

namespace muster {

namespace detail {
struct outcome_access;
}

/// The clock of every timing and deadline in muster.
using clock = std::chrono::steady_clock;

/// Where an outcome's timings come from. All three points are on `clock`; a
/// point a task never reached (`started` for a task that was `not_started`)
/// is the default-constructed time point.
struct timings {
    clock::time_point queued;    ///< The collection received the task.
    clock::time_point started;   ///< The task was admitted (its slot taken).
    clock::time_point finished;  ///< The task's last attempt finished.

    /// Time from admission to the end; zero for a task that never started.
    clock::duration run_time() const noexcept {
        return started == clock::time_point{} ? clock::duration::zero() : finished - started;
    }
    /// Time spent waiting for a slot.
    clock::duration queue_time() const noexcept {
        return started == clock::time_point{} ? finished - queued : started - queued;
    }
};

namespace detail {

/// What every outcome has, whatever its value type.
class outcome_base {
  public:
    /// How the task ended.
    muster::status status() const noexcept { return status_; }
    /// True when `status() == status::ok`.
    bool ok() const noexcept { return status_ == muster::status::ok; }
    explicit operator bool() const noexcept { return ok(); }

    /// The error: what the task threw for `failed`; a `timeout_error`,
    /// `cancelled_error` or `not_started_error` for the other non-ok statuses;
    /// null for `ok`.
    std::exception_ptr error() const noexcept { return error_; }

    /// The error's message (`what()` of the exception), or an empty string
    /// for `ok`.
    std::string message() const {
        if (!error_) return {};
        try {
            std::rethrow_exception(error_);
        } catch (const std::exception& e) {
            return e.what();
        } catch (...) {
            return "unknown exception";
        }
    }

    /// When the task was queued, admitted and finished.
    const muster::timings& timings() const noexcept { return timings_; }

    /// How many times the task was started: 0 for `not_started`, more than 1
    /// when the retry policy ran it again.
    unsigned attempts() const noexcept { return attempts_; }

  protected:
    /// What `with_error` checks and sets.
    void set_error(muster::status s, std::exception_ptr e) {
        if (s == muster::status::ok || !e) {
            throw std::invalid_argument(
                "muster::outcome::with_error: the status must not be ok and the error must be set");
        }
        status_ = s;
        error_ = std::move(e);
    }

    void rethrow_if_not_ok() const {
        if (ok()) return;
        if (error_) std::rethrow_exception(error_);
        throw not_started_error("muster: the outcome holds no value: the task never ran");
    }

    std::exception_ptr error_;
    muster::timings timings_{};
    unsigned attempts_ = 0;
    muster::status status_ = muster::status::not_started;

    friend struct detail::outcome_access;
};

}  // namespace detail

/// How one task ended: its status, its value or its error, its timings and
/// attempt count.
///
/// An outcome is a plain value: copyable when `T` is, movable always. A
/// default-constructed outcome is `not_started` with no error.
///
/// @code
/// auto r = co_await muster::gather(tasks, o);
/// for (auto& o : r)
///     if (o.ok()) use(o.value());
///     else log(o.status(), o.message());
/// @endcode
template <class T>
class outcome : public detail::outcome_base {
    static_assert(!std::is_reference_v<T>, "outcome<T&> is not supported; return a pointer");

  public:
    using value_type = T;

    outcome() = default;

    /// An outcome that ended without a value: status `s` with `error`, no
    /// timings and no attempts. For code that reports work it never ran, or
    /// ran by other means, alongside outcomes from a collection (an item a
    /// batch skipped, a result read from elsewhere).
    ///
    /// Errors: `std::invalid_argument` when `s` is `ok` or `error` is null.
    ///
    /// @code
    /// auto o = muster::outcome<int>::with_error(
    ///     muster::status::not_started,
    ///     std::make_exception_ptr(muster::not_started_error("skipped: duplicate")));
    /// @endcode
    static outcome with_error(muster::status s, std::exception_ptr error) {
        outcome o;
        o.set_error(s, std::move(error));
        return o;
    }

    /// The value. Throws the outcome's error when the status is not `ok`: the
    /// task's own exception for `failed`, a `task_error` otherwise.
    T& value() & {
        rethrow_if_not_ok();
        return *value_;
    }
    const T& value() const& {
        rethrow_if_not_ok();
        return *value_;
    }
    T&& value() && {
        rethrow_if_not_ok();
        return std::move(*value_);
    }

    /// The value when `ok`, otherwise `fallback`. Never throws.
    template <class U>
    T value_or(U&& fallback) const& {
        return ok() ? *value_ : static_cast<T>(std::forward<U>(fallback));
    }
    template <class U>
    T value_or(U&& fallback) && {
        return ok() ? std::move(*value_) : static_cast<T>(std::forward<U>(fallback));
    }

    /// Pointer to the value when `ok`, otherwise null.
    T* get_if() noexcept { return ok() ? &*value_ : nullptr; }
    const T* get_if() const noexcept { return ok() ? &*value_ : nullptr; }

  private:
    std::optional<T> value_;
    friend struct detail::outcome_access;
};

/// The outcome of a task that returns nothing: status, error, timings.
template <>
class outcome<void> : public detail::outcome_base {
  public:
    using value_type = void;

    /// An outcome with status `s` and `error`, as `outcome<T>::with_error`.
    ///
    /// Errors: `std::invalid_argument` when `s` is `ok` or `error` is null.
    static outcome with_error(muster::status s, std::exception_ptr error) {
        outcome o;
        o.set_error(s, std::move(error));
        return o;
    }

    /// Returns when `ok`; otherwise throws the outcome's error.
    void value() const { rethrow_if_not_ok(); }

  private:
    friend struct detail::outcome_access;
};

namespace detail {

/// The one place that writes outcomes, so the public type stays read-only.
struct outcome_access {
    template <class T, class... Args>
    static void set_value(outcome<T>& o, Args&&... args) {
        if constexpr (!std::is_void_v<T>) o.value_.emplace(std::forward<Args>(args)...);
        o.status_ = status::ok;
        o.error_ = nullptr;
    }
    static void set_error(outcome_base& o, status s, std::exception_ptr e) {
        o.status_ = s;
        o.error_ = std::move(e);
    }
    static timings& times(outcome_base& o) { return o.timings_; }
    static void set_attempts(outcome_base& o, unsigned n) { o.attempts_ = n; }

    /// Copies everything but the value: used by the variadic gather, which
    /// runs heterogeneous tasks through one `void` engine.
    template <class T>
    static void copy_header(outcome<T>& to, const outcome_base& from) {
        to.status_ = from.status_;
        to.error_ = from.error_;
        to.timings_ = from.timings_;
        to.attempts_ = from.attempts_;
    }
};

}  // namespace detail
}  // namespace muster
