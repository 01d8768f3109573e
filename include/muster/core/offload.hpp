/// @file
/// `offload`: run a CPU-bound callable on a thread pool and await its result.
/// The process-wide pool it uses by default, `cpu_pool()`, is in
/// `cpu_pool.hpp`, included here.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/executor.hpp>
#include <boost/asio/is_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/cpu_pool.hpp>
#include <muster/core/detail/handoff.hpp>
#include <muster/core/detail/held_handler.hpp>

namespace muster {

namespace detail {

/// Whether `offload` hands `Fn` a stop token.
template <class Fn>
inline constexpr bool takes_stop_token_v = std::is_invocable_v<Fn, std::stop_token>;

/// What `offload(fn)` returns: `fn`'s result with references and cv removed.
template <class Fn>
using offload_result_t = std::remove_cvref_t<typename std::conditional_t<
    takes_stop_token_v<Fn>, std::invoke_result<Fn, std::stop_token>, std::invoke_result<Fn>>::type>;

template <class Fn>
concept invocable_on_pool = std::invocable<Fn> || std::invocable<Fn, std::stop_token>;

template <class T>
concept void_or_movable = std::is_void_v<T> || std::move_constructible<T>;

template <class Fn>
concept offloadable =
    std::move_constructible<Fn> && invocable_on_pool<Fn> && void_or_movable<offload_result_t<Fn>>;

template <class Executor>
concept pool_executor = boost::asio::execution::is_executor<Executor>::value ||
    boost::asio::is_executor<Executor>::value;

struct no_stop_source {};

/// One offloaded call, shared by the awaiting coroutine (its frame holds a
/// reference), the pool (the posted job holds one) and the completion posted
/// back. `phase_` decides, once, whether the call runs or is skipped.
template <class Fn>
class offload_state : public std::enable_shared_from_this<offload_state<Fn>> {
  public:
    using result_type = offload_result_t<Fn>;
    using signature = void(std::exception_ptr);

    explicit offload_state(Fn fn) : fn_(std::move(fn)) {}

    /// Initiation, on the awaiting coroutine's thread: keeps the handler and
    /// the io_context's work, hooks cancellation, sends the call to the pool.
    template <class Handler, class PoolExecutor>
    void start(Handler handler, const boost::asio::any_io_executor& io, const PoolExecutor& pool) {
        namespace asio = boost::asio;
        handoff_.hold(asio::any_io_executor(asio::get_associated_executor(handler, io)));
        slot_ = asio::get_associated_cancellation_slot(handler);
        handler_.hold(std::move(handler));
        if (slot_.is_connected()) slot_.template emplace<cancel_hook>(this);
        asio::post(pool, [self = this->shared_from_this()] { self->run(); });
    }

    /// The value, once the awaited operation completed without error.
    result_type take() {
        if constexpr (!std::is_void_v<result_type>) {
            result_type value = std::move(*result_);
            result_.reset();  // here, not on the pool thread that may drop the state last
            return value;
        }
    }

  private:
    enum class phase : std::uint8_t {
        queued,    // posted to the pool; cancellation may still skip it
        running,   // the pool thread owns fn; cancellation only asks it to stop
        finished,  // fn returned or threw; the completion is posted
        skipped,   // cancelled before it started; fn will never run
    };

    struct cancel_hook {
        explicit cancel_hook(offload_state* s) noexcept : self(s) {}
        offload_state* self;
        void operator()(boost::asio::cancellation_type_t type) const { self->cancel(type); }
    };

    // On a pool thread.
    void run() noexcept {
        phase expected = phase::queued;
        if (!phase_.compare_exchange_strong(expected, phase::running, std::memory_order_acq_rel)) {
            fn_.reset();  // skipped: fn is still destroyed on the pool, like a fn that ran
            return;
        }
        try {
            if constexpr (std::is_void_v<result_type>) {
                invoke();
            } else {
                result_.emplace(invoke());
            }
        } catch (...) {
            error_ = std::current_exception();
        }
        fn_.reset();
        phase_.store(phase::finished, std::memory_order_release);
        post_completion();
    }

    decltype(auto) invoke() {
        if constexpr (takes_stop_token_v<Fn>) {
            return std::invoke(std::move(*fn_), stop_.get_token());
        } else {
            return std::invoke(std::move(*fn_));
        }
    }

    // Wherever the cancellation signal is emitted: the awaiting coroutine's
    // thread.
    void cancel(boost::asio::cancellation_type_t type) {
        using boost::asio::cancellation_type;
        if ((type & (cancellation_type::terminal | cancellation_type::partial |
                     cancellation_type::total)) == cancellation_type::none) {
            return;
        }
        phase expected = phase::queued;
        if (phase_.compare_exchange_strong(expected, phase::skipped, std::memory_order_acq_rel)) {
            error_ = std::make_exception_ptr(boost::system::system_error(
                boost::asio::error::operation_aborted, "muster::offload"));
            post_completion();
        } else if (expected == phase::running) {
            if constexpr (takes_stop_token_v<Fn>) stop_.request_stop();
        }
    }

    // By whichever side decided the outcome (the pool after the call, or the
    // canceller before it). Never completes inline: the handler runs on its
    // own executor, where `deliver` also unhooks the cancellation slot, and
    // only once the pool thread is done with that executor.
    void post_completion() {
        handoff_.post([self = this->shared_from_this()] { self->deliver(); });
    }

    // On the handler's executor.
    void deliver() {
        slot_.clear();
        auto handler = handler_.take();
        // The state may die on the pool thread; nothing that the coroutine
        // will touch is left in it.
        std::move(handler)(std::exchange(error_, nullptr));
    }

    std::optional<Fn> fn_;
    [[no_unique_address]] std::conditional_t<takes_stop_token_v<Fn>, std::stop_source,
                                             no_stop_source>
        stop_;
    std::atomic<phase> phase_{phase::queued};
    std::conditional_t<std::is_void_v<result_type>, no_stop_source, std::optional<result_type>>
        result_;
    std::exception_ptr error_;
    completion_handoff handoff_;
    boost::asio::cancellation_slot slot_;
    detail::held_handler<signature> handler_;
};

template <class Fn, class PoolExecutor>
struct initiate_offload {
    std::shared_ptr<offload_state<Fn>> state;
    PoolExecutor pool;
    boost::asio::any_io_executor io;

    template <class Handler>
    void operator()(Handler&& handler) {
        state->start(std::forward<Handler>(handler), io, pool);
    }
};

}  // namespace detail

/// Runs `fn` on `pool` and completes with its result.
///
/// `fn` is called once, as an rvalue, on a thread of `pool`. If it is
/// invocable with a `std::stop_token` it receives one, and cancelling the
/// awaiting operation asks it to stop (`request_stop()`); stopping is
/// cooperative, `fn` decides when to return. `fn` is destroyed on the pool.
///
/// Completion: with `fn`'s return value (moved; a reference result is
/// copied; move-only results are fine) once `fn` has returned, or with what it
/// threw once it has thrown. The awaiting coroutine resumes on its own
/// executor, never on the pool. The io_context's outstanding work is held
/// while `fn` runs, so `run()` does not return under it. When the coroutine
/// resumes, the pool thread is done with its executor and io_context: the
/// io_context may be destroyed as soon as the coroutine has finished.
///
/// Errors: whatever `fn` throws is rethrown in the awaiting coroutine with
/// its type. `boost::system::system_error` with
/// `boost::asio::error::operation_aborted` when cancelled before `fn` started.
///
/// Cancellation (terminal, partial or total; a coroutine passes only terminal
/// unless it reset its cancellation state): if `fn` has not started yet, it
/// never will, and the operation completes at once with `operation_aborted`.
/// If `fn` is running, the stop token is requested and the operation still
/// waits for `fn` to finish: it never completes while `fn` runs. A `fn` that
/// finishes despite the request delivers its value or exception as usual.
/// Within muster's collections, deadlines and task timeouts arrive this way.
///
/// Lifetime: `fn` and its result live in a reference-counted state shared
/// with the pool; `pool` must outlive the call.
///
/// Thread-safety: await from a coroutine on a single-threaded io_context (or
/// a strand); `fn` runs concurrently with it and must synchronise whatever it
/// shares with it.
///
/// @code
/// boost::asio::thread_pool decoders(4);
/// auto decode = [bytes = std::move(bytes)] { return decode_png(bytes); };
/// // Named first: GCC 12 may destroy a capturing lambda twice when it is
/// // written inside the co_await expression (see the README).
/// auto pixels = co_await muster::offload(decoders.get_executor(), std::move(decode));
/// @endcode
template <detail::pool_executor Executor, detail::offloadable Fn>
boost::asio::awaitable<detail::offload_result_t<Fn>> offload(Executor pool, Fn fn) {
    namespace asio = boost::asio;
    auto state = std::make_shared<detail::offload_state<Fn>>(std::move(fn));
    asio::any_io_executor io = co_await asio::this_coro::executor;
    // Named, not a temporary in the co_await expression: GCC 12 destroys an
    // aggregate temporary there twice (here: one reference too few on `state`).
    detail::initiate_offload<Fn, Executor> init{state, std::move(pool), std::move(io)};
    co_await asio::async_initiate<const asio::use_awaitable_t<>&,
                                  typename detail::offload_state<Fn>::signature>(
        std::move(init), asio::use_awaitable);
    co_return state->take();
}

/// Runs `fn` on `pool`: `offload(pool.get_executor(), std::move(fn))`. See
/// there for completion, errors and cancellation. `pool` must outlive the
/// call.
///
/// @code
/// boost::asio::thread_pool pool(2);
/// int n = co_await muster::offload(pool, [] { return count_primes(1'000'000); });
/// @endcode
template <detail::offloadable Fn>
boost::asio::awaitable<detail::offload_result_t<Fn>> offload(boost::asio::thread_pool& pool,
                                                             Fn fn) {
    return offload(pool.get_executor(), std::move(fn));
}

/// Runs `fn` on the process-wide `cpu_pool()`:
/// `offload(cpu_pool().get_executor(), std::move(fn))`. See there for
/// completion, errors and cancellation; in addition, the first use throws
/// what `cpu_pool()` throws.
///
/// @code
/// auto job = [img = std::move(img)](std::stop_token st) {
///     return resize(img, 256, st);  // checks st.stop_requested() between rows
/// };
/// auto thumb = co_await muster::offload(std::move(job));
/// @endcode
template <detail::offloadable Fn>
boost::asio::awaitable<detail::offload_result_t<Fn>> offload(Fn fn) {
    return offload(cpu_pool().get_executor(), std::move(fn));
}

}  // namespace muster
