#include "runtime_api.hpp"

#include <stdexcept>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

#include <muster/lambda/events/base64.hpp>
#include <muster/version.hpp>

namespace muster::lambda::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {
/// The error's type, beside its document (or in the stream's trailers).
constexpr std::string_view error_type_header = "Lambda-Runtime-Function-Error-Type";

// Not written inline in a co_await: GCC 12 rejects the braced list there.
std::vector<header> error_headers(const error_report& e) {
    return {{std::string(error_type_header), e.type}};
}
}  // namespace

std::string endpoint::target(std::string_view path) const {
    std::string t = prefix;
    t += path;
    return t;
}

endpoint parse_endpoint(std::string_view value) {
    const std::string original(value);
    if (value.empty()) throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API is empty");
    if (value.starts_with("http://")) {
        value.remove_prefix(7);
    } else if (value.find("://") != std::string_view::npos) {
        throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API=" + original +
                                    ": only http:// is supported");
    }
    endpoint ep;
    const auto slash = value.find('/');
    std::string_view authority = value.substr(0, slash);
    if (slash != std::string_view::npos) {
        std::string_view prefix = value.substr(slash);
        while (prefix.ends_with('/')) prefix.remove_suffix(1);
        ep.prefix = std::string(prefix);
    }
    std::string_view host;
    std::string_view port;
    if (authority.starts_with('[')) {  // [::1]:9001
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API=" + original +
                                        ": unterminated IPv6 address");
        }
        host = authority.substr(1, close - 1);
        std::string_view rest = authority.substr(close + 1);
        if (rest.starts_with(':')) port = rest.substr(1);
        else if (!rest.empty()) {
            throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API=" + original +
                                        ": expected ':' after the IPv6 address");
        }
    } else {
        const auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (host.empty()) {
        throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API=" + original + ": no host");
    }
    if (port.empty()) port = "80";
    for (char c : port) {
        if (c < '0' || c > '9') {
            throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API=" + original +
                                        ": the port is not a number");
        }
    }
    if (port.size() > 5 || std::stoul(std::string(port)) > 65535) {
        throw std::invalid_argument("AWS_LAMBDA_RUNTIME_API=" + original +
                                    ": the port is out of range");
    }
    ep.host = std::string(host);
    ep.port = std::string(port);
    return ep;
}

std::string encode_path_segment(std::string_view segment) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(segment.size());
    for (unsigned char c : segment) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

std::string response_path(std::string_view request_id) {
    return "/2018-06-01/runtime/invocation/" + encode_path_segment(request_id) + "/response";
}

std::string error_path(std::string_view request_id) {
    return "/2018-06-01/runtime/invocation/" + encode_path_segment(request_id) + "/error";
}

runtime_api_client::runtime_api_client(asio::any_io_executor ex, endpoint ep)
    : endpoint_(std::move(ep)), stream_(std::move(ex)) {}

asio::awaitable<void> runtime_api_client::connect() {
    // Lambda gives an IP address: connect to it directly. Asio resolves
    // names on a background thread, which a cold start need not pay for.
    boost::system::error_code not_an_address;
    const auto address = asio::ip::make_address(endpoint_.host, not_an_address);
    if (!not_an_address) {
        const tcp::endpoint target(address, static_cast<unsigned short>(std::stoul(endpoint_.port)));
        co_await stream_.async_connect(target, asio::use_awaitable);
    } else {
        tcp::resolver resolver(stream_.get_executor());
        auto results = co_await resolver.async_resolve(endpoint_.host, endpoint_.port,
                                                       asio::use_awaitable);
        co_await stream_.async_connect(results, asio::use_awaitable);
    }
    stream_.socket().set_option(tcp::no_delay(true));
    buffer_.clear();
    connected_ = true;
}

asio::awaitable<http_response> runtime_api_client::exchange(
    http::request<http::string_body> request) {
    request.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
    request.set(http::field::user_agent, "muster/" MUSTER_VERSION_STRING);
    request.keep_alive(true);
    request.prepare_payload();

    for (int attempt = 0;; ++attempt) {
        const bool reused = connected_;
        if (!connected_) co_await connect();
        bool answered = false;
        try {
            co_await http::async_write(stream_, request, asio::use_awaitable);
            http::response_parser<http::string_body> parser;
            parser.body_limit(max_payload_bytes);
            // Wait for the first byte separately, so a failure after part of
            // an answer arrived is never mistaken for a stale connection.
            co_await http::async_read_header(stream_, buffer_, parser, asio::use_awaitable);
            answered = true;
            co_await http::async_read(stream_, buffer_, parser, asio::use_awaitable);
            co_return release(parser);
        } catch (const boost::system::system_error&) {
            stream_.close();
            connected_ = false;
            if (!reused || answered || attempt > 0) throw;
        }
    }
}

asio::awaitable<http_response> runtime_api_client::read_answer() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_payload_bytes);
    co_await http::async_read(stream_, buffer_, parser, asio::use_awaitable);
    co_return release(parser);
}

http_response runtime_api_client::release(http::response_parser<http::string_body>& parser) {
    http_response response = parser.release();
    if (!response.keep_alive()) {
        boost::system::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
        connected_ = false;
    }
    return response;
}

asio::awaitable<void> runtime_api_client::begin_response_stream(std::string request_id,
                                                                std::string content_type) {
    http::request<http::empty_body> request(http::verb::post,
                                            endpoint_.target(response_path(request_id)), 11);
    request.set(http::field::host, endpoint_.host + ":" + endpoint_.port);
    request.set(http::field::user_agent, "muster/" MUSTER_VERSION_STRING);
    request.set(http::field::content_type, content_type);
    request.set("Lambda-Runtime-Function-Response-Mode", "streaming");
    request.set(http::field::trailer,
                "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body");
    request.keep_alive(true);
    request.chunked(true);

    for (int attempt = 0;; ++attempt) {
        const bool reused = connected_;
        if (!connected_) co_await connect();
        try {
            http::request_serializer<http::empty_body> serializer(request);
            co_await http::async_write_header(stream_, serializer, asio::use_awaitable);
            co_return;
        } catch (const boost::system::system_error&) {
            stream_.close();
            connected_ = false;
            if (!reused || attempt > 0) throw;
        }
    }
}

asio::awaitable<void> runtime_api_client::write_chunk(std::string bytes) {
    try {
        co_await asio::async_write(stream_, http::make_chunk(asio::buffer(bytes)),
                                   asio::use_awaitable);
    } catch (const boost::system::system_error&) {
        abandon_stream();
        throw;
    }
}

asio::awaitable<http_response> runtime_api_client::finish_response_stream(
    std::optional<error_report> failure) {
    http::fields fields;
    if (failure) {
        fields.set(error_type_header, failure->type);
        fields.set("Lambda-Runtime-Function-Error-Body", base64_encode(error_body(*failure)));
    }
    try {
        co_await asio::async_write(stream_, http::make_chunk_last(fields), asio::use_awaitable);
        co_return co_await read_answer();
    } catch (const boost::system::system_error&) {
        abandon_stream();
        throw;
    }
}

void runtime_api_client::abandon_stream() {
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    connected_ = false;
}

asio::awaitable<http_response> runtime_api_client::next() {
    http::request<http::string_body> request(
        http::verb::get, endpoint_.target("/2018-06-01/runtime/invocation/next"), 11);
    co_return co_await exchange(std::move(request));
}

asio::awaitable<http_response> runtime_api_client::post_response(std::string request_id,
                                                                 std::string body,
                                                                 std::string content_type) {
    co_return co_await post(response_path(request_id), std::move(body), std::move(content_type));
}

asio::awaitable<http_response> runtime_api_client::post_error(std::string request_id,
                                                              error_report error) {
    co_return co_await post(error_path(request_id), error_body(error), "application/json",
                            error_headers(error));
}

asio::awaitable<http_response> runtime_api_client::post_init_error(error_report error) {
    co_return co_await post(std::string(init_error_path), error_body(error), "application/json",
                            error_headers(error));
}

asio::awaitable<http_response> runtime_api_client::post(std::string path, std::string body,
                                                        std::string content_type,
                                                        std::vector<header> headers) {
    http::request<http::string_body> request(http::verb::post, endpoint_.target(path), 11);
    request.set(http::field::content_type, content_type);
    for (auto& h : headers) request.set(h.name, h.value);
    request.body() = std::move(body);
    co_return co_await exchange(std::move(request));
}

}  // namespace muster::lambda::detail
