// The deployed function: echoes its event with what it knows of where it
// runs. Built fully static, and bundled with a shared library of its own.
#include <muster/lambda.hpp>

#ifdef DEPLOY_WITH_GREETING
#include "greeting.hpp"
#endif

int main() {
    return muster::lambda::run(
        [](const boost::json::value& event) -> boost::asio::awaitable<boost::json::value> {
            boost::json::object out{{"event", event}};
#ifdef DEPLOY_WITH_GREETING
            out["greeting"] = greeting();
#endif
            co_return out;
        });
}
