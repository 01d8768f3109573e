#include "key_claims.hpp"

#include <cassert>

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace thumbnails {

namespace asio = boost::asio;

asio::awaitable<void> key_claims::claim(std::string key) {
    for (;;) {
        auto& e = entries_[key];
        if (!e.removal) {
            ++e.claims;
            co_return;
        }
        // The timer never expires by itself: end_removal cancels it. Held here, so it lives
        // through the wait even once the entry is gone.
        const std::shared_ptr<asio::steady_timer> removal = e.removal;
        boost::system::error_code ignored;
        co_await removal->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        const auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) {
            throw boost::system::system_error(asio::error::operation_aborted,
                                              "waiting for the removal of " + key);
        }
    }
}

void key_claims::release(const std::string& key) {
    const auto it = entries_.find(key);
    assert(it != entries_.end() && it->second.claims > 0);
    if (it == entries_.end() || it->second.claims == 0) return;
    --it->second.claims;
    forget_if_idle(it);
}

bool key_claims::begin_removal(const std::string& key) {
    auto& e = entries_[key];
    if (e.claims > 0 || e.removal) return false;
    e.removal =
        std::make_shared<asio::steady_timer>(executor_, asio::steady_timer::time_point::max());
    return true;
}

void key_claims::end_removal(const std::string& key) {
    const auto it = entries_.find(key);
    assert(it != entries_.end() && it->second.removal);
    if (it == entries_.end() || !it->second.removal) return;
    it->second.removal->cancel();
    it->second.removal.reset();
    forget_if_idle(it);
}

std::size_t key_claims::claims(const std::string& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? 0 : it->second.claims;
}

void key_claims::forget_if_idle(std::map<std::string, entry>::iterator it) {
    if (it->second.claims == 0 && !it->second.removal) entries_.erase(it);
}

}  // namespace thumbnails
