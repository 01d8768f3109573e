// Sends N sequential invocations to a `muster serve` (or any server with
// AWS's invoke route) over one keep-alive connection and prints how many
// it completed per second. The first request (which starts the function)
// is a warm-up and is not timed.
//
//   emulator_invoke_driver PORT [N] [PAYLOAD]

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace net = boost::asio;
namespace http = boost::beast::http;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PORT [N] [PAYLOAD]\n", argv[0]);
        return 2;
    }
    std::string port = argv[1];
    int n = argc > 2 ? std::atoi(argv[2]) : 10000;
    std::string payload = argc > 3 ? argv[3] : "{}";

    net::io_context io;
    net::ip::tcp::socket socket(io);
    net::ip::tcp::resolver resolver(io);
    net::connect(socket, resolver.resolve("127.0.0.1", port));
    socket.set_option(net::ip::tcp::no_delay(true));

    http::request<http::string_body> request{http::verb::post,
                                             "/2015-03-31/functions/function/invocations", 11};
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::content_type, "application/json");
    request.keep_alive(true);
    request.body() = payload;
    request.prepare_payload();

    boost::beast::flat_buffer buffer;
    int failures = 0;
    auto once = [&] {
        http::write(socket, request);
        http::response<http::string_body> response;
        http::read(socket, buffer, response);
        if (response.result() != http::status::ok || response.count("X-Amz-Function-Error") != 0) {
            ++failures;
        }
    };
    once();
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        once();
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("invocations: %d  seconds: %.3f  per_second: %.0f  mean_us: %.1f  failures: %d\n",
                n, seconds, n / seconds, seconds * 1e6 / n, failures);
    return failures == 0 ? 0 : 1;
}
