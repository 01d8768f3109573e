// The no-op function the runtime benchmark starts: muster's runtime with a
// handler that answers "{}" at once.
#include <muster/lambda.hpp>

int main() {
    return muster::lambda::run(
        [](muster::lambda::invocation&) -> boost::asio::awaitable<muster::lambda::response> {
            co_return muster::lambda::response{"{}"};
        });
}
