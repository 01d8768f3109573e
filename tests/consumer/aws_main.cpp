// A program built against an installed muster::aws: it signs a request with
// a published test vector's credentials, and puts an object to an S3
// endpoint on a port nothing listens on, which must fail with a connect
// error (nothing leaves 127.0.0.1).
#include <muster/aws.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace asio = boost::asio;

int main() {
    muster::http::request signed_request;
    signed_request.url = "https://example.amazonaws.com/";
    muster::aws::signing_params p;
    p.credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
    p.region = "us-east-1";
    p.service = "service";
    p.time = std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));
    const auto parts = muster::aws::sign(signed_request, p);
    if (parts.signature != "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        return 2;

    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = probe.local_endpoint().port();
    probe.close();

    muster::aws::config cfg;
    cfg.credentials = {"AKIDTEST", "secret", ""};
    cfg.s3_endpoint = "http://127.0.0.1:" + std::to_string(port);
    cfg.retry.attempts = 1;
    muster::http::client http{io.get_executor()};
    muster::aws::s3 s3{http, cfg};
    auto put = s3.put_object("bucket", "key", "body");
    int result = 1;
    asio::co_spawn(io, std::move(put),
                   [&result](std::exception_ptr error, const muster::aws::put_result&) {
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
