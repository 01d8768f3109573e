#include <muster/emulator/emulator.hpp>

// The public emulator over its one state object: made and started with the
// emulator, closed when it goes.

#include "emulator_state.hpp"

#include <cstdio>

namespace muster::emulator {
namespace detail {

emulator_state::emulator_state(net::any_io_executor ex, function_config config)
    : executor_(ex),
      config_(std::move(config)),
      acceptor_(ex),
      init_timer_(ex),
      exit_signal_(ex),
      idle_signal_(ex) {
    if (!config_.platform_log) {
        config_.platform_log = [](std::string_view line) {
            std::string text(line);
            text += '\n';
            std::fwrite(text.data(), 1, text.size(), stderr);
        };
    }
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    log_stream_ = ids_.log_stream_name(config_.function_version);
}

void emulator_state::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    shutting_down_ = true;
    beast::error_code ignored;
    acceptor_.close(ignored);
    for (auto& [id, socket] : connections_) {
        socket->close(ignored);
    }
    kill_runtime();
    child_.kill_and_reap();
    pidfd_watch_.reset();
    init_timer_.cancel();
    abandon_waiters();
    reject_queued("the emulator was closed");
    auto active = active_;
    for (auto& [id, inv] : active) {
        complete(inv, rejected_result("ServiceException", "the emulator was closed"));
        inv->deadline_timer.cancel();
        inv->state = invocation::phase::ended;
    }
    active_.clear();
    exit_signal_.cancel();
    idle_signal_.cancel();
}

}  // namespace detail

emulator::emulator(boost::asio::any_io_executor executor, function_config config)
    : state_(std::make_shared<detail::emulator_state>(executor, std::move(config))) {
    state_->start();
}

emulator::~emulator() { state_->close(); }

boost::asio::awaitable<invoke_result> emulator::invoke(invoke_request request) {
    return detail::emulator_state::invoke(state_, std::move(request));
}

boost::asio::awaitable<void> emulator::shutdown() {
    return detail::emulator_state::shutdown(state_);
}

std::uint16_t emulator::runtime_api_port() const noexcept { return state_->port(); }

int emulator::bootstrap_pid() const noexcept { return state_->pid(); }

}  // namespace muster::emulator
