// A Lambda function built against an installed muster::lambda. Started
// without a Lambda environment it must say so and exit with 1.
#include <muster/lambda.hpp>

int main() {
    return muster::lambda::run(
        [](const boost::json::value& event) -> boost::asio::awaitable<boost::json::value> {
            co_return event;
        }) == 1
               ? 0
               : 1;
}
