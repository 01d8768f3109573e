/// @file
/// `from_callback`: await a callback-style API (an SDK's `*Async` call) whose
/// callback may fire on any thread, through a `completion<T>` handle.
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
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
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/detail/handoff.hpp>
#include <muster/core/detail/held_handler.hpp>

namespace muster {

/// What `from_callback` throws when every copy of its `completion` handle
/// was destroyed without any of them being completed: the API dropped the
/// callback, and waiting longer would wait forever.
///
/// Thread-safety: an ordinary exception; it is made on the thread that
/// dropped the last handle and thrown on the awaiting coroutine's.
///
/// @code
/// try {
///     co_await muster::from_callback<int>([](muster::completion<int>) { /* forgot it */ });
/// } catch (const muster::callback_dropped_error& e) {
///     log(e.what());  // "muster::from_callback: the callback was dropped without being called"
/// }
/// @endcode
class callback_dropped_error : public std::runtime_error {
  public:
    callback_dropped_error()
        : std::runtime_error(
              "muster::from_callback: the callback was dropped without being called") {}
};

template <class T>
class completion;

namespace detail {

struct no_value {};

/// The state one `from_callback` shares between the awaiting coroutine and
/// every copy of its `completion` handle, on any thread. `completed_` decides,
/// once, what the await completes with; everything after that is ignored.
template <class T>
class callback_state : public std::enable_shared_from_this<callback_state<T>> {
  public:
    using signature = void(std::exception_ptr);

    /// Initiation, on the awaiting coroutine's thread, before `start` runs.
    template <class Handler>
    void prepare(Handler handler, const boost::asio::any_io_executor& io) {
        namespace asio = boost::asio;
        handoff_.hold(asio::any_io_executor(asio::get_associated_executor(handler, io)));
        slot_ = asio::get_associated_cancellation_slot(handler);
        handler_.hold(std::move(handler));
    }

    /// Hooks cancellation once `start` returned (on the same thread).
    template <class Canceller>
    void hook_cancellation(Canceller canceller) {
        if (slot_.is_connected()) {
            slot_.template emplace<cancel_hook<Canceller>>(this, std::move(canceller));
        }
    }

    /// `start` threw (on the awaiting coroutine's thread): its exception is
    /// what the await throws, whatever the handle was completed with.
    void start_failed(std::exception_ptr e) {
        start_error_ = e;
        complete([this, &e] { error_ = e; });
    }

    /// Decides the outcome if nobody did yet, by running `store` (which fills
    /// `value_` or `error_`), then posts the completion. Any thread.
    template <class Store>
    bool complete(Store&& store) {
        if (completed_.exchange(true, std::memory_order_acq_rel)) return false;
        try {
            store();
        } catch (...) {
            error_ = std::current_exception();
        }
        post_completion();
        return true;
    }

    template <class... Args>
    bool set_value(Args&&... args) {
        return complete([&] {
            if constexpr (!std::is_void_v<T>) value_.emplace(std::forward<Args>(args)...);
        });
    }

    bool set_exception(std::exception_ptr e) {
        return complete([&] { error_ = std::move(e); });
    }

    void add_handle() noexcept { handles_.fetch_add(1, std::memory_order_relaxed); }
    void drop_handle() {
        if (handles_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            complete([this] { error_ = std::make_exception_ptr(callback_dropped_error()); });
        }
    }

    /// The value, once the awaited operation completed without error.
    T take() {
        if constexpr (!std::is_void_v<T>) {
            T value = std::move(*value_);
            value_.reset();  // here, not on whichever thread drops the last handle
            return value;
        }
    }

  private:
    template <class Canceller>
    struct cancel_hook {
        cancel_hook(callback_state* s, Canceller c) : self(s), canceller(std::move(c)) {}
        void operator()(boost::asio::cancellation_type_t type) { self->cancel(type, canceller); }
        callback_state* self;
        Canceller canceller;
    };

    // Wherever the cancellation signal is emitted: the awaiting coroutine's
    // thread. The canceller runs after the outcome is decided, so a callback
    // it fires synchronously is simply ignored.
    template <class Canceller>
    void cancel(boost::asio::cancellation_type_t type, Canceller& canceller) {
        using boost::asio::cancellation_type;
        if ((type & (cancellation_type::terminal | cancellation_type::partial |
                     cancellation_type::total)) == cancellation_type::none) {
            return;
        }
        if (completed_.exchange(true, std::memory_order_acq_rel)) return;
        error_ = std::make_exception_ptr(boost::system::system_error(
            boost::asio::error::operation_aborted, "muster::from_callback"));
        if constexpr (!std::is_same_v<Canceller, no_value>) {
            try {
                std::invoke(canceller);
            } catch (...) {
                error_ = std::current_exception();  // reported instead of operation_aborted
            }
        }
        post_completion();
    }

    // By the one side that decided the outcome. Never completes inline: the
    // handler runs on its own executor, where `deliver` also unhooks the
    // cancellation slot, and only once the completing thread is done with
    // that executor. The io_context's work is released after that.
    void post_completion() {
        handoff_.post([self = this->shared_from_this()] { self->deliver(); });
    }

    // On the handler's executor.
    void deliver() {
        slot_.clear();
        auto handler = handler_.take();
        // The state may die on a foreign thread (the last handle's); nothing
        // that the coroutine will touch is left in it.
        auto error =
            start_error_ ? std::exchange(start_error_, nullptr) : std::exchange(error_, nullptr);
        error_ = nullptr;
        std::move(handler)(std::move(error));
    }

    std::atomic<bool> completed_{false};
    std::atomic<std::size_t> handles_{0};
    std::conditional_t<std::is_void_v<T>, no_value, std::optional<T>> value_;
    std::exception_ptr error_;        // written by the side that set `completed_`
    std::exception_ptr start_error_;  // the awaiting coroutine's thread only
    completion_handoff handoff_;
    boost::asio::cancellation_slot slot_;
    detail::held_handler<signature> handler_;
};

template <class T, class... Args>
concept completion_value_args = (std::is_void_v<T> && sizeof...(Args) == 0) ||
                                (!std::is_void_v<T> && std::constructible_from<T, Args...>);

template <class T, class Start>
using start_result_t = std::invoke_result_t<Start, completion<T>>;

/// A canceller: called once, with no arguments, to abort the request.
template <class C>
concept canceller = std::move_constructible<C> && std::invocable<C&>;

template <class R>
concept start_result = std::is_void_v<R> || canceller<std::decay_t<R>>;

/// `start` takes the handle and returns nothing, or a canceller.
template <class Start, class T>
concept callback_start = std::move_constructible<Start> && std::invocable<Start, completion<T>> &&
    start_result<start_result_t<T, Start>>;

template <class T, class Start>
struct initiate_from_callback;

}  // namespace detail

/// The handle a `from_callback` start function receives: completing it
/// completes the await.
///
/// Completion: the first of `set_value`, `operator()`, `set_exception` and
/// `set_error` on any copy decides the outcome and returns true; every later
/// call on any copy returns false and changes nothing. So does every call
/// after the await was cancelled. Completing never runs the awaiting
/// coroutine inline: it is resumed on its own executor.
///
/// Lifetime: copies share one reference-counted state, so a handle may
/// outlive the await (a callback arriving after cancellation is harmless).
/// When the last copy is destroyed without any completion, the await fails
/// with `callback_dropped_error`. A copy held by the canceller counts.
///
/// Thread-safety: every member may be called from any thread, concurrently
/// on the same or on different copies (copying and destroying one object
/// concurrently is, as usual, not allowed). Under ThreadSanitizer, make an
/// exception_ptr in a statement of its own before passing it:
/// libstdc++'s exception types share their message buffer between copies
/// through reference counting that TSan does not see, so a temporary still
/// alive when the await resumes is reported as a race.
///
/// @code
/// co_await muster::from_callback<std::string>([&](muster::completion<std::string> c) {
///     sdk.get_async(key, [c](const sdk::result& r) {
///         if (r.ok()) return c.set_value(r.body());
///         auto error = std::make_exception_ptr(sdk_error(r.message()));
///         return c.set_exception(std::move(error));
///     });
/// });
/// @endcode
template <class T>
class completion {
    static_assert(!std::is_reference_v<T>, "from_callback<T&> is not supported; use a pointer");

  public:
    using value_type = T;

    completion(const completion& other) noexcept : state_(other.state_) {
        if (state_) state_->add_handle();
    }
    completion(completion&& other) noexcept = default;
    completion& operator=(const completion& other) {
        completion(other).swap(*this);
        return *this;
    }
    completion& operator=(completion&& other) noexcept {
        completion(std::move(other)).swap(*this);
        return *this;
    }
    ~completion() {
        if (state_) state_->drop_handle();
    }

    /// Completes with a value constructed from `args` (no arguments for
    /// `completion<void>`). Returns false when already completed. If the
    /// value's constructor throws, the await throws that.
    template <class... Args>
    requires detail::completion_value_args<T, Args...>
    bool set_value(Args&&... args) const {
        return state_ && state_->set_value(std::forward<Args>(args)...);
    }

    /// The same as `set_value`, so the handle itself can be the callback.
    template <class... Args>
    requires detail::completion_value_args<T, Args...>
    bool operator()(Args&&... args) const { return set_value(std::forward<Args>(args)...); }

    /// Completes with an exception, which the await rethrows. A null `e` is
    /// replaced by a `std::invalid_argument`. Returns false when already
    /// completed.
    bool set_exception(std::exception_ptr e) const {
        if (!e) {
            e = std::make_exception_ptr(std::invalid_argument(
                "muster::from_callback: set_exception called with a null exception_ptr"));
        }
        return state_ && state_->set_exception(std::move(e));
    }

    /// Completes with an error code, which the await throws as
    /// `boost::system::system_error`. A success code (nothing to report) is
    /// replaced by a `std::invalid_argument`. Returns false when already
    /// completed.
    bool set_error(boost::system::error_code ec) const {
        // Made in a statement of its own: the exception's temporaries (which
        // share the message buffer) are gone before the completion is posted.
        auto e =
            ec ? std::make_exception_ptr(boost::system::system_error(ec, "muster::from_callback"))
               : std::make_exception_ptr(std::invalid_argument(
                     "muster::from_callback: set_error called with a success error_code"));
        return set_exception(std::move(e));
    }

    /// Exchanges the states two handles refer to; completes nothing.
    void swap(completion& other) noexcept { state_.swap(other.state_); }

  private:
    explicit completion(std::shared_ptr<detail::callback_state<T>> s) : state_(std::move(s)) {
        state_->add_handle();
    }

    std::shared_ptr<detail::callback_state<T>> state_;

    template <class U, class Start>
    friend struct detail::initiate_from_callback;
};

namespace detail {

template <class T, class Start>
struct initiate_from_callback {
    std::shared_ptr<callback_state<T>> state;
    Start start;
    boost::asio::any_io_executor io;

    template <class Handler>
    void operator()(Handler&& handler) {
        state->prepare(std::forward<Handler>(handler), io);
        // Our own handle keeps the outcome open until `start` has returned,
        // so a start that drops its copy is reported only after it returned.
        completion<T> ours(state);
        try {
            if constexpr (std::is_void_v<start_result_t<T, Start>>) {
                std::invoke(std::move(start), completion<T>(ours));
                state->hook_cancellation(no_value{});
            } else {
                state->hook_cancellation(std::invoke(std::move(start), completion<T>(ours)));
            }
        } catch (...) {
            state->start_failed(std::current_exception());
        }
    }
};

}  // namespace detail

/// Awaits a callback-style API: calls `start` with a `completion<T>` handle
/// and completes when that handle is completed, from whatever thread.
///
/// `start` is called once, inside the `co_await`, on the awaiting
/// coroutine's thread. It passes the handle (or copies of it) to the API as
/// its callback. It may return a canceller, a callable taking no arguments
/// that aborts the request (for example the SDK's cancel call).
///
/// Completion: with the value of the first completion of the handle
/// (`set_value` or `operator()`); the coroutine is resumed on its own
/// executor, never on the callback's thread. The io_context's outstanding
/// work is held while waiting, so `run()` does not return under it. When the
/// coroutine resumes, the thread that completed the handle is done with its
/// executor and io_context: the io_context may be destroyed as soon as the
/// coroutine has finished.
///
/// Errors: the exception of `set_exception`; `boost::system::system_error`
/// for `set_error`; what `start` threw, if it threw (even if it had completed
/// the handle first); `callback_dropped_error` when every copy of the handle
/// was destroyed without completing it; what the canceller threw, if it threw.
///
/// Cancellation (terminal, partial or total; a coroutine passes only terminal
/// unless it reset its cancellation state): if no completion has arrived, the
/// canceller (if any) is called on the cancelling thread and the await
/// completes at once with `boost::system::system_error(operation_aborted)`;
/// it does not wait for the callback. A callback arriving later returns
/// false and is otherwise harmless.
///
/// Lifetime: `start` and the canceller are destroyed on the awaiting
/// coroutine's thread, at the latest when the await completes. The handle's
/// state is reference-counted and lives as long as the longest-lived copy.
///
/// Thread-safety: await from a coroutine on a single-threaded io_context (or
/// a strand). The handle may be completed from any thread.
///
/// @code
/// auto object = co_await muster::from_callback<Aws::S3::Model::GetObjectOutcome>(
///     [&](muster::completion<Aws::S3::Model::GetObjectOutcome> c) {
///         s3.GetObjectAsync(request, [c](auto&&, auto&&, auto outcome, auto&&) {
///             c.set_value(std::move(outcome));
///         });
///     });
/// @endcode
template <class T = void, detail::callback_start<T> Start>
boost::asio::awaitable<T> from_callback(Start start) {
    namespace asio = boost::asio;
    auto state = std::make_shared<detail::callback_state<T>>();
    asio::any_io_executor io = co_await asio::this_coro::executor;
    // Named, not a temporary in the co_await expression: GCC 12 destroys an
    // aggregate temporary there twice (here: one reference too few on `state`).
    detail::initiate_from_callback<T, Start> init{state, std::move(start), std::move(io)};
    co_await asio::async_initiate<const asio::use_awaitable_t<>&,
                                  typename detail::callback_state<T>::signature>(
        std::move(init), asio::use_awaitable);
    co_return state->take();
}

}  // namespace muster
