#include "test_origin.hpp"

#include <fcntl.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace thumbnails_test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

std::optional<unsigned> delay_of(std::string_view target) {
    const auto at = target.find("delay_ms=");
    if (at == std::string_view::npos) return std::nullopt;
    const std::string_view text = target.substr(at + 9);
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{}) return std::nullopt;
    return n;
}

bool is_held(std::string_view target) {
    const auto query = target.find('?');
    return query != std::string_view::npos && target.find("held", query) != std::string_view::npos;
}

}  // namespace

struct test_origin::impl {
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    const std::uint16_t port = acceptor.local_endpoint().port();
    std::thread thread;
    mutable std::mutex mutex;
    std::map<std::string, std::string, std::less<>> bodies;
    std::vector<request> served;
    std::size_t accepted = 0;
    std::size_t holding = 0;
    // On the io_context's thread only.
    bool released = false;
    std::vector<asio::steady_timer*> held;

    asio::awaitable<void> accept() {
        for (;;) {
            tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
            // The function under test is a child of this process: it must not inherit the
            // origin's sockets (Asio does not set close-on-exec).
            ::fcntl(s.native_handle(), F_SETFD, FD_CLOEXEC);
            std::size_t id = 0;
            {
                const std::lock_guard lock(mutex);
                id = ++accepted;
            }
            asio::co_spawn(io, serve(std::move(s), id), asio::detached);
        }
    }

    asio::awaitable<void> serve(tcp::socket s, std::size_t id) {
        boost::beast::flat_buffer buffer;
        try {
            for (;;) {
                bhttp::request<bhttp::string_body> req;
                co_await bhttp::async_read(s, buffer, req, asio::use_awaitable);
                const std::string target(req.target());
                if (is_held(target) && !released) {
                    asio::steady_timer gate(io, asio::steady_timer::time_point::max());
                    held.push_back(&gate);
                    {
                        const std::lock_guard lock(mutex);
                        ++holding;
                    }
                    boost::system::error_code ec;
                    co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                    std::erase(held, &gate);
                    const std::lock_guard lock(mutex);
                    --holding;
                }
                if (const auto delay = delay_of(target)) {
                    asio::steady_timer timer(io, std::chrono::milliseconds(*delay));
                    co_await timer.async_wait(asio::use_awaitable);
                }
                bhttp::response<bhttp::string_body> res;
                res.version(11);
                res.keep_alive(req.keep_alive());
                {
                    const std::lock_guard lock(mutex);
                    served.push_back({id, target});
                    const auto it = bodies.find(std::string_view(target).substr(0, target.find('?')));
                    if (it == bodies.end()) {
                        res.result(bhttp::status::not_found);
                        res.body() = "not found\n";
                    } else {
                        res.result(bhttp::status::ok);
                        res.set(bhttp::field::content_type, "application/octet-stream");
                        res.body() = it->second;
                    }
                }
                res.prepare_payload();
                co_await bhttp::async_write(s, res, asio::use_awaitable);
                if (!req.keep_alive()) break;
            }
        } catch (const std::exception&) {
            // The client closed the connection or gave up waiting.
        }
    }
};

test_origin::test_origin() : impl_(std::make_unique<impl>()) {
    ::fcntl(impl_->acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
    asio::co_spawn(impl_->io, impl_->accept(), asio::detached);
    impl_->thread = std::thread([io = &impl_->io] { io->run(); });
}

test_origin::~test_origin() {
    impl_->io.stop();
    impl_->thread.join();
}

void test_origin::add(const std::string& path, std::string body) {
    const std::lock_guard lock(impl_->mutex);
    impl_->bodies[path] = std::move(body);
}

void test_origin::release() {
    asio::post(impl_->io, [self = impl_.get()] {
        self->released = true;
        for (auto* gate : self->held) gate->cancel();
    });
}

std::size_t test_origin::held() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->holding;
}

std::string test_origin::url() const {
    return "http://127.0.0.1:" + std::to_string(impl_->port);
}

std::vector<test_origin::request> test_origin::requests() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->served;
}

std::size_t test_origin::connections() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->accepted;
}

}  // namespace thumbnails_test
