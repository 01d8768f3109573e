/// @file
/// The collector whose tasks come from an input range (gather, as_completed).
#pragma once

#include <cstddef>
#include <iterator>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include <muster/core/detail/collector.hpp>
#include <muster/core/results.hpp>

namespace muster::detail {

/// The value type of the tasks an input range `R` yields.
template <class R>
using range_task_value_t =
    typename task_traits<std::ranges::range_reference_t<std::views::all_t<R>>>::value_type;

/// True when `R` is an input range whose elements are tasks or task factories.
template <class R>
concept task_range = std::ranges::input_range<std::views::all_t<R>> &&
    task_traits<std::ranges::range_reference_t<std::views::all_t<R>>>::valid;

template <class T, class V>
class range_collector final : public collector<T> {
    using ref = std::ranges::range_reference_t<V>;
    using traits = task_traits<ref>;
    /// A forward view whose dereference makes a new awaitable each time
    /// (such as `views::transform(inputs, fn)`) can be dereferenced again for
    /// a retry.
    static constexpr bool remakes_on_deref =
        !traits::is_factory && std::ranges::forward_range<V> && !std::is_reference_v<ref>;

  public:
    range_collector(asio::any_io_executor ex, options o, bool streaming, V view)
        : collector<T>(std::move(ex), std::move(o), streaming),
          view_(std::move(view)),
          it_(std::ranges::begin(view_)),
          queued_(this->now()) {
        retrying_ = this->opts().retry.attempts > 1;
        if constexpr (!traits::is_factory && !remakes_on_deref) {
            if (retrying_) {
                throw std::invalid_argument(
                    "muster: retry.attempts > 1 needs tasks that can be made again: pass callables "
                    "returning awaitable<T>, or a view that creates each awaitable (such as "
                    "std::views::transform)");
            }
        }
        if constexpr (std::ranges::sized_range<V>) {
            this->known_size_ = static_cast<std::size_t>(std::ranges::size(view_));
            outcomes_.resize(this->known_size_);
            this->order_.reserve(this->known_size_);
        }
    }

    /// Moves the outcomes out; valid once the collector is done.
    results<T> take_results() {
        results<T> r;
        results_access::outcomes(r) = std::move(outcomes_);
        results_access::order(r) = std::move(this->order_);
        results_access::recount(r);
        return r;
    }

    /// Moves one finished outcome out (as_completed).
    outcome<T> take(std::size_t index) { return std::move(outcomes_[index]); }

    using collector<T>::ready_;
    using collector<T>::consumer_;
    using collector<T>::schedule_pump;

  protected:
    bool take(admission<T>& a) override {
        if (it_ == std::ranges::end(view_)) return false;
        a.index = next_index_++;
        outcome_access::times(slot(a.index)).queued = queued_;
        try {
            if constexpr (traits::is_factory) {
                if (retrying_) {
                    a.factory = make_factory<T>(std::forward<ref>(*it_));
                } else {
                    a.first.emplace(std::invoke(*it_));
                }
            } else if constexpr (remakes_on_deref) {
                if (retrying_) {
                    a.factory = [it = it_]() -> task<T> { return *it; };
                } else {
                    a.first.emplace(*it_);
                }
            } else {
                a.first.emplace(std::move(*it_));
                if (!a.first->valid()) {
                    // A container gathered twice, or an awaitable already awaited.
                    a.first.reset();
                    throw std::invalid_argument(
                        "muster: this task was already moved from or awaited (a container of "
                        "awaitables is consumed by the collection that runs it)");
                }
            }
        } catch (...) {
            a.error = std::current_exception();
        }
        ++it_;
        return true;
    }

    bool exhausted() const override { return it_ == std::ranges::end(view_); }

    void drain_not_started() override {
        for (; it_ != std::ranges::end(view_); ++it_) {
            const std::size_t i = next_index_++;
            outcome_access::times(slot(i)).queued = queued_;
            this->record_not_started(i);
        }
    }

    outcome<T>& slot(std::size_t index) override {
        if constexpr (!std::ranges::sized_range<V>) {
            if (index >= outcomes_.size()) outcomes_.resize(index + 1);
        }
        return outcomes_[index];
    }

  private:
    V view_;
    std::ranges::iterator_t<V> it_;
    std::vector<outcome<T>> outcomes_;
    std::size_t next_index_ = 0;
    clock::time_point queued_;
    bool retrying_ = false;
};

/// Throws `operation_aborted` when the calling coroutine is already
/// cancelled, so that nothing is started that the caller would not wait for.
inline task<void> throw_if_already_cancelled() {
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
        throw boost::system::system_error(asio::error::operation_aborted,
                                          "muster: the calling task is cancelled");
    }
}

}  // namespace muster::detail
