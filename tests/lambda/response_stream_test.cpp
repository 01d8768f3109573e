// The response stream's own contract, on an in-memory sink: when the
// response starts, what a write sends, what it refuses.
#include <muster/lambda/response_stream.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

namespace response_stream_test {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using muster::lambda::http_response_prelude;
using muster::lambda::response_stream;

/// Records what the stream sends; each write takes one turn of the loop.
class recording_sink final : public response_stream::sink {
  public:
    asio::awaitable<void> open(std::string content_type) override {
        opened.push_back(std::move(content_type));
        co_return;
    }
    asio::awaitable<void> write(std::string bytes) override {
        if (auto h = hold) {  // this frame's copy: the timer lives until the wait ends
            boost::system::error_code ignored;
            co_await h->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        }
        chunks.push_back(std::move(bytes));
    }
    /// When set, a write waits until it is cancelled (the socket is slow).
    std::shared_ptr<asio::steady_timer> hold;
    std::vector<std::string> opened;
    std::vector<std::string> chunks;
};

void run(std::function<asio::awaitable<void>()> body) {
    asio::io_context io;
    std::exception_ptr failure;
    asio::co_spawn(io, body(), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
}

TEST(ResponseStreamTest, NothingIsSentBeforeTheFirstWrite) {
    recording_sink sink;
    response_stream out(sink);
    out.set_content_type("text/plain");
    EXPECT_FALSE(out.started());
    EXPECT_TRUE(sink.opened.empty());
    run([&]() -> asio::awaitable<void> {
        co_await out.write("a");
        co_await out.write("");  // nothing to send: no empty chunk, which would end the body
        co_await out.write("bc");
    });
    EXPECT_TRUE(out.started());
    EXPECT_EQ(sink.opened, std::vector<std::string>{"text/plain"});
    EXPECT_EQ(sink.chunks, (std::vector<std::string>{"a", "bc"}));
    EXPECT_EQ(out.bytes_written(), 3u);
    out.set_content_type("application/json");
    EXPECT_EQ(out.content_type(), "text/plain") << "the headers are gone";
}

TEST(ResponseStreamTest, DefaultContentTypeIsOctetStream) {
    recording_sink sink;
    response_stream out(sink);
    run([&]() -> asio::awaitable<void> { co_await out.write(""); });
    EXPECT_EQ(sink.opened, std::vector<std::string>{"application/octet-stream"});
    EXPECT_TRUE(sink.chunks.empty());
}

TEST(ResponseStreamTest, PreludeIsJsonThenEightNulBytesWithTheIntegrationContentType) {
    recording_sink sink;
    response_stream out(sink);
    run([&]() -> asio::awaitable<void> {
        http_response_prelude prelude(404, {{"x-a", "1"}, {"x-a", "2"}}, {"k=v"});
        co_await out.write_prelude(std::move(prelude));
        co_await out.write("not here");
    });
    EXPECT_EQ(sink.opened,
              std::vector<std::string>{"application/vnd.awslambda.http-integration-response"});
    ASSERT_EQ(sink.chunks.size(), 2u);
    const std::string& p = sink.chunks[0];
    ASSERT_GE(p.size(), 8u);
    EXPECT_EQ(p.substr(p.size() - 8), std::string(8, '\0'));
    EXPECT_EQ(json::parse(p.substr(0, p.size() - 8)),
              json::parse(R"({"statusCode":404,"headers":{"x-a":"1, 2"},"cookies":["k=v"]})"));
}

TEST(ResponseStreamTest, PreludeAfterTheFirstWriteIsRefused) {
    recording_sink sink;
    response_stream out(sink);
    EXPECT_THROW(run([&]() -> asio::awaitable<void> {
                     co_await out.write("body");
                     co_await out.write_prelude({});
                 }),
                 std::logic_error);
}

TEST(ResponseStreamTest, WriteAfterCloseIsRefused) {
    recording_sink sink;
    response_stream out(sink);
    out.close();
    EXPECT_THROW(run([&]() -> asio::awaitable<void> { co_await out.write("late"); }),
                 std::logic_error);
    EXPECT_TRUE(sink.opened.empty());
}

TEST(ResponseStreamTest, SecondWriteWhileOneIsInProgressIsRefused) {
    recording_sink sink;
    response_stream out(sink);
    bool refused = false;
    run([&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        sink.hold = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
        // The first write waits in the sink; the second starts meanwhile.
        asio::co_spawn(ex, out.write("one"), asio::detached);
        for (int i = 0; i < 3; ++i) co_await asio::post(ex, asio::use_awaitable);
        try {
            co_await out.write("two");
        } catch (const std::logic_error&) {
            refused = true;
        }
        sink.hold->cancel();
        sink.hold.reset();  // gone before the io_context is
    });
    EXPECT_TRUE(refused);
    EXPECT_EQ(sink.chunks, std::vector<std::string>{"one"});
}

}  // namespace

}  // namespace response_stream_test
