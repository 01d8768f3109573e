// Uses muster through nothing but its public include path and target.
#include <muster/muster.hpp>

#include <boost/asio.hpp>

namespace asio = boost::asio;

namespace {

asio::awaitable<int> answer() { co_return 42; }

}  // namespace

int main() {
    asio::io_context io;
    int result = 0;
    asio::co_spawn(io, answer(), [&result](std::exception_ptr error, int value) {
        if (!error) {
            result = value;
        }
    });
    io.run();
    return result == 42 ? 0 : 1;
}
