/// @file
/// `results<T>`: every outcome of a collection, in input order.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include <muster/core/outcome.hpp>

namespace muster {

namespace detail {
struct results_access;
}

/// Every outcome of a `gather` or `with_group`, in input (or spawn) order,
/// with the order in which they finished and counts by status.
///
/// There is exactly one outcome per input: a task that never ran is present
/// as `not_started`. `completion_order()` lists the indices of the tasks that
/// ran (every status but `not_started`) in the order they finished.
template <class T>
class results {
  public:
    using value_type = outcome<T>;
    using iterator = typename std::vector<outcome<T>>::iterator;
    using const_iterator = typename std::vector<outcome<T>>::const_iterator;

    std::size_t size() const noexcept { return outcomes_.size(); }
    bool empty() const noexcept { return outcomes_.empty(); }

    outcome<T>& operator[](std::size_t i) noexcept { return outcomes_[i]; }
    const outcome<T>& operator[](std::size_t i) const noexcept { return outcomes_[i]; }
    outcome<T>& at(std::size_t i) { return outcomes_.at(i); }
    const outcome<T>& at(std::size_t i) const { return outcomes_.at(i); }

    iterator begin() noexcept { return outcomes_.begin(); }
    iterator end() noexcept { return outcomes_.end(); }
    const_iterator begin() const noexcept { return outcomes_.begin(); }
    const_iterator end() const noexcept { return outcomes_.end(); }

    /// Indices of the tasks that ran, in the order they finished.
    std::span<const std::size_t> completion_order() const noexcept { return order_; }

    /// How many outcomes have status `s`.
    std::size_t count(status s) const noexcept { return counts_[static_cast<std::size_t>(s)]; }

    /// True when every task succeeded (also for an empty collection).
    bool all_ok() const noexcept { return count(status::ok) == size(); }

  private:
    std::vector<outcome<T>> outcomes_;
    std::vector<std::size_t> order_;
    std::array<std::size_t, status_count> counts_{};
    friend struct detail::results_access;
};

namespace detail {

struct results_access {
    template <class T>
    static std::vector<outcome<T>>& outcomes(results<T>& r) {
        return r.outcomes_;
    }
    template <class T>
    static std::vector<std::size_t>& order(results<T>& r) {
        return r.order_;
    }
    /// Recounts statuses once the outcomes are final.
    template <class T>
    static void recount(results<T>& r) {
        r.counts_ = {};
        for (const auto& o : r.outcomes_) ++r.counts_[static_cast<std::size_t>(o.status())];
    }
};

}  // namespace detail
}  // namespace muster
