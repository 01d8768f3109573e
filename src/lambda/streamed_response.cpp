#include "streamed_response.hpp"

#include <utility>

namespace muster::lambda::detail {

namespace asio = boost::asio;

// `broken_` is set around every operation on the connection, so one that
// throws (or never completes) leaves it set.

asio::awaitable<void> streamed_response::open(std::string content_type) {
    broken_ = true;
    co_await client_.begin_response_stream(request_id_, std::move(content_type));
    opened_ = true;
    broken_ = false;
}

asio::awaitable<void> streamed_response::write(std::string bytes) {
    broken_ = true;
    co_await client_.write_chunk(std::move(bytes));
    broken_ = false;
}

asio::awaitable<std::optional<http_response>> streamed_response::finish(
    std::optional<error_report> failure) {
    if (!broken_ && !opened_) co_await open(out.content_type());
    if (broken_) {
        client_.abandon_stream();
        co_return std::nullopt;
    }
    co_return co_await client_.finish_response_stream(std::move(failure));
}

}  // namespace muster::lambda::detail
