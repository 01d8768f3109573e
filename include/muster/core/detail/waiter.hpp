/// @file
/// `waiter`: one suspended coroutine waiting for another on the same
/// io_context, woken by a call. Internal; the collector and the HTTP
/// client's connection pool use it.
#pragma once

#include <cstdint>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <muster/core/detail/held_handler.hpp>

namespace muster::detail {

namespace asio = boost::asio;

/// One suspended coroutine waiting for the collector. Completions are always
/// posted, never run inline, so nothing completes inside a cancellation
/// handler or inside a child's teardown.
class waiter {
  public:
    using signature = void(boost::system::error_code);

    bool waiting() const noexcept { return handler_.held(); }

    /// Starts a wait that `wake` completes. If the awaiting operation is
    /// cancelled, `on_cancel()` runs on the executor's thread; when it returns
    /// true the wait ends with `operation_aborted` (posted), otherwise the
    /// wait goes on.
    template <class Token, class OnCancel>
    auto async_wait(asio::any_io_executor ex, Token&& token, OnCancel on_cancel) {
        return asio::async_initiate<Token, signature>(
            [this, ex = std::move(ex), on_cancel = std::move(on_cancel)](auto handler) mutable {
                const std::uint64_t gen = ++generation_;
                ex_ = std::move(ex);
                handler_.hold(std::move(handler));
                // The hook goes into the wrapper's slot: wrapping the handler
                // installs a cancellation state in the handler's own slot,
                // which would destroy a hook put there first.
                auto slot = handler_->get_cancellation_slot();
                if (slot.is_connected()) {
                    slot.template emplace<cancel_hook<OnCancel>>(this, gen, std::move(on_cancel));
                }
            },
            token);
    }

    /// Completes the pending wait, if any, with `ec`.
    void wake(boost::system::error_code ec = {}) {
        if (!handler_) return;
        auto h = handler_.take();
        h.get_cancellation_slot().clear();
        asio::post(ex_, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
    }

  private:
    template <class OnCancel>
    struct cancel_hook {
        cancel_hook(waiter* w, std::uint64_t gen, OnCancel f)
            : self(w), generation(gen), fn(std::move(f)) {}
        void operator()(asio::cancellation_type_t) {
            if (!fn()) return;
            // Not inline: this hook lives in the slot that wake() clears.
            asio::post(self->ex_, [w = self, gen = generation] {
                if (w->generation_ == gen) w->wake(asio::error::operation_aborted);
            });
        }
        waiter* self;
        std::uint64_t generation;
        OnCancel fn;
    };

    asio::any_io_executor ex_;
    held_handler<signature> handler_;
    std::uint64_t generation_ = 0;
};

}  // namespace muster::detail
