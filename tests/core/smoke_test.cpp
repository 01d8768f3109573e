#include <muster/muster.hpp>

#include <gtest/gtest.h>
#include <boost/asio.hpp>

namespace asio = boost::asio;

namespace {

asio::awaitable<int> answer() { co_return 42; }

TEST(SmokeTest, AwaitableRunsOnIoContext) {
    asio::io_context io;
    int result = 0;
    asio::co_spawn(io, answer(), [&result](std::exception_ptr error, int value) {
        ASSERT_FALSE(error);
        result = value;
    });
    io.run();
    EXPECT_EQ(result, 42);
}

}  // namespace
