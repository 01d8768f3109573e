/// @file
/// `held_handler`: a type-erased completion handler kept until it is
/// completed. Internal.
#pragma once

#include <optional>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>

namespace muster::detail {

/// An `any_completion_handler<Signature>` held by an asynchronous operation
/// until it completes: `hold` it when the operation starts, `take` it to
/// complete it.
///
/// Why not a plain `any_completion_handler` member: Asio 1.81's
/// `any_completion_handler` move assignment wraps the handler in itself, so
/// one that is ever move-assigned completes the wrong thing. Held here, it
/// is only ever move-constructed (emplaced, then moved out).
template <class Signature>
class held_handler {
  public:
    using handler_type = boost::asio::any_completion_handler<Signature>;

    /// Keeps `handler` (nothing must be held yet).
    template <class Handler>
    void hold(Handler&& handler) {
        handler_.emplace(std::forward<Handler>(handler));
    }

    /// True while a handler is held.
    bool held() const noexcept { return handler_.has_value(); }
    explicit operator bool() const noexcept { return held(); }

    /// The held handler (one must be held), e.g. for its cancellation slot.
    handler_type& operator*() noexcept { return *handler_; }
    handler_type* operator->() noexcept { return &*handler_; }

    /// Gives up the held handler (one must be held), to complete it.
    handler_type take() {
        handler_type h(std::move(*handler_));
        handler_.reset();
        return h;
    }

  private:
    std::optional<handler_type> handler_;
};

}  // namespace muster::detail
