// A program built against an installed muster::http: it makes a client and
// sends a request to a port nothing listens on, which must fail with a
// connect error (nothing leaves 127.0.0.1).
#include <muster/http.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace asio = boost::asio;

int main() {
    asio::io_context io;
    // Bind a free port, then close it: nothing listens there.
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = probe.local_endpoint().port();
    probe.close();

    muster::http::client client{io.get_executor()};
    auto request = client.get("http://127.0.0.1:" + std::to_string(port) + "/");
    int result = 1;
    asio::co_spawn(io, std::move(request),
                   [&result](std::exception_ptr error, const muster::http::response&) {
                       try {
                           if (error) std::rethrow_exception(error);
                       } catch (const muster::http::error& e) {
                           if (e.kind() == muster::http::error_kind::connect) result = 0;
                       } catch (...) {
                       }
                   });
    io.run();
    return result;
}
