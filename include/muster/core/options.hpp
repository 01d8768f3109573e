/// @file
/// `options`: how a collection admits, times, stops and retries its tasks.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <muster/core/outcome.hpp>

namespace muster {

/// When a collection stops early. Stopping means: admit nothing more (those
/// tasks are `not_started`), cancel what runs (those tasks are `cancelled`),
/// wait for them, and return every outcome.
///
/// - `collect_all` (the default): never stop early; every task runs.
/// - `fail_fast`: stop at the first task that did not succeed (`failed` or
///   `timed_out`).
/// - `quorum(k)`: stop as soon as `k` tasks succeeded, or as soon as `k`
///   successes can no longer be reached.
/// - `tolerate(n)`: accept up to `n` failures; stop at failure `n + 1`.
class policy {
  public:
    enum class kind : unsigned char { collect_all, fail_fast, quorum, tolerate };

    static const policy collect_all;
    static const policy fail_fast;
    static constexpr policy quorum(std::size_t k) noexcept { return policy{kind::quorum, k}; }
    static constexpr policy tolerate(std::size_t n) noexcept { return policy{kind::tolerate, n}; }

    constexpr kind which() const noexcept { return kind_; }
    /// `k` for `quorum(k)`, `n` for `tolerate(n)`, 0 otherwise.
    constexpr std::size_t count() const noexcept { return n_; }

    friend constexpr bool operator==(policy, policy) noexcept = default;

  private:
    constexpr policy(kind k, std::size_t n) noexcept : kind_(k), n_(n) {}
    kind kind_;
    std::size_t n_;
};

inline constexpr policy policy::collect_all{policy::kind::collect_all, 0};
inline constexpr policy policy::fail_fast{policy::kind::fail_fast, 0};

/// How a failed task is tried again.
///
/// The delay before attempt `n + 1` is drawn uniformly from
/// `[0, min(max_backoff, initial_backoff * multiplier^(n-1))]` ("full
/// jitter"), or is that bound itself when `jitter` is false. A retry whose
/// delay would end past the task's timeout or the scope's deadline is not
/// made: the task keeps its last error. Only `failed` attempts are retried,
/// and only when `retry_if` (if set) returns true for
/// the exception; timeouts and cancellations are never retried.
///
/// Retrying needs a fresh awaitable per attempt, so it works when the input
/// makes one on demand: a range of callables returning `awaitable<T>`, or a
/// forward view whose elements are created on dereference (such as
/// `std::views::transform(urls, fetch)`). Asking for retries with a range of
/// ready-made awaitables is a `std::invalid_argument`.
struct retry_policy {
    /// Total attempts per task, including the first. 1 means no retry.
    unsigned attempts = 1;
    std::chrono::milliseconds initial_backoff{100};
    std::chrono::milliseconds max_backoff{10'000};
    double multiplier = 2.0;
    /// Which failures to retry; all of them when empty. One that throws
    /// retries nothing: the task fails with a `retry_if_error` holding both
    /// exceptions (errors.hpp), as do the HTTP client's and `muster::aws`'s
    /// requests.
    std::function<bool(std::exception_ptr)> retry_if;
    /// Full jitter (the default). False: every delay is its upper bound, an
    /// exact schedule (for tests on a `muster::testing::manual_clock`, or a
    /// service that wants retries evenly spaced). Last, so that a policy
    /// written positionally before it existed keeps its meaning.
    bool jitter = true;
};

/// A collection's name (`options::name`): a short label, kept inline.
///
/// It converts from `const char*`, `std::string` and `std::string_view`,
/// and reads back as `std::string_view` (`view()`, or implicitly) or
/// `std::string` (`str()`). Names longer than `max_size` bytes are cut at a
/// UTF-8 character boundary.
///
/// Why not `std::string`: `options` is an aggregate, and GCC 12 miscompiles
/// an aggregate temporary created inside a `co_await` expression, as in
/// `co_await gather(tasks)` (the default argument) or
/// `co_await gather(tasks, {.limit = 8})`: each member is built in a
/// temporary of its own and copied into the aggregate bit by bit, and both
/// are destroyed. A `std::string` member then frees memory it does not own.
/// This type is trivially copyable and trivially destructible, so such
/// copies are harmless.
class collection_name {
  public:
    static constexpr std::size_t max_size = 63;

    constexpr collection_name() noexcept = default;
    collection_name(std::string_view s) noexcept { assign(s); }
    collection_name(const char* s) noexcept {
        assign(s ? std::string_view(s) : std::string_view());
    }
    collection_name(const std::string& s) noexcept { assign(s); }

    std::string_view view() const noexcept { return {text_, size_}; }
    operator std::string_view() const noexcept { return view(); }
    std::string str() const { return std::string(view()); }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }

    friend bool operator==(const collection_name& a, const collection_name& b) noexcept {
        return a.view() == b.view();
    }

  private:
    void assign(std::string_view s) noexcept {
        std::size_t n = std::min(s.size(), max_size);
        // Never keep half of a multi-byte character.
        if (n < s.size()) {
            while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0u) == 0x80u) --n;
        }
        if (n > 0) std::memcpy(text_, s.data(), n);
        size_ = static_cast<std::uint8_t>(n);
    }

    char text_[max_size] = {};
    std::uint8_t size_ = 0;
};

static_assert(std::is_trivially_copyable_v<collection_name> &&
              std::is_trivially_destructible_v<collection_name>);

/// How a collection runs its tasks. Every field has a usable default: an
/// unlimited, collect-all collection without timeouts, retries or deadline of
/// its own (it still obeys the deadline of an enclosing scope).
struct options {
    /// Means "no limit" for `limit` and `max_unread`.
    static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

    /// Maximum tasks in flight at once. Inputs are pulled from a lazy range
    /// only when a slot is free, so no more than `limit` task frames exist at
    /// once. Zero is an error (`std::invalid_argument`).
    std::size_t limit = unlimited;

    /// Time allowed to each task, counted from its admission (not while it
    /// waits for a slot), covering its retries. Unset: no per-task timeout.
    std::optional<clock::duration> task_timeout;

    /// When to stop early; see `policy`.
    muster::policy policy = muster::policy::collect_all;

    /// How failed tasks are retried; see `retry_policy`.
    retry_policy retry;

    /// An absolute deadline for the whole collection. The effective deadline
    /// is the earlier of this and the enclosing scope's.
    std::optional<clock::time_point> deadline;

    /// `as_completed` and `group::next` only: at most this many finished,
    /// unread results are held; admission pauses while the consumer is that
    /// far behind. Tasks already in flight always run to completion.
    std::size_t max_unread = unlimited;

    /// A label for the collection's tasks in a trace (e.g. "records"): each
    /// task that `muster::name_task` does not name is shown as `name #index`.
    /// Used only when the root scope records a trace (see `trace::recorder`).
    collection_name name;

    /// Throws `std::invalid_argument` naming the first field that makes no
    /// sense (a zero limit, a negative timeout, zero attempts...).
    void validate() const {
        if (limit == 0) throw std::invalid_argument("muster::options: limit must be at least 1");
        if (task_timeout && *task_timeout < clock::duration::zero())
            throw std::invalid_argument("muster::options: task_timeout must not be negative");
        if (retry.attempts == 0)
            throw std::invalid_argument("muster::options: retry.attempts must be at least 1");
        if (retry.multiplier < 1.0)
            throw std::invalid_argument("muster::options: retry.multiplier must be at least 1");
        if (retry.initial_backoff.count() < 0 || retry.max_backoff.count() < 0)
            throw std::invalid_argument("muster::options: retry backoff must not be negative");
        if (max_unread == 0)
            throw std::invalid_argument("muster::options: max_unread must be at least 1");
        if (policy.which() == muster::policy::kind::quorum && policy.count() == 0)
            throw std::invalid_argument("muster::options: quorum(k) needs k >= 1");
    }
};

}  // namespace muster
