// The emulator's HTTP request reading: the parser its Runtime API server and
// its invoke route both use (src/emulator/http_io.hpp's body_parser, with
// their header limit and no body limit, the body read into a 64 KiB scratch
// buffer piece by piece), over pipelined requests as a keep-alive session
// reads them, and what the invoke route reads from a request (its declared
// size, Expect: 100-continue, the base64 X-Amz-Client-Context, decoded by
// src/emulator/base64.hpp).
// Input: the bytes a client sends.
#include "base64.hpp"
#include "http_io.hpp"

#include <string>
#include <vector>

#include "fuzz_check.hpp"

namespace detail = muster::emulator::detail;
namespace beast = boost::beast;
namespace http = beast::http;
using muster_fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto in = muster_fuzz::text(data, size);
    std::vector<char> scratch(64 * 1024);
    while (!in.empty()) {
        detail::body_parser parser;
        parser.body_limit(boost::none);
        parser.header_limit(64 * 1024);
        beast::error_code ec;
        // The header, as async_read_header reads it.
        while (!parser.is_header_done()) {
            const auto used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
            in.remove_prefix(used);
            if (ec == http::error::need_more) return 0;  // the client sent no more
            if (ec) return 0;                            // answered 400, connection closed
            if (used == 0) return 0;
        }
        const auto& req = parser.get();
        (void)req.keep_alive();
        (void)req.target();
        (void)detail::wants_continue(parser);
        const auto declared = req.payload_size();
        if (auto context = req.find("X-Amz-Client-Context"); context != req.end()) {
            const std::string_view encoded = context->value();
            const auto decoded = detail::decode_base64(encoded);
            check(decoded.size() <= encoded.size() * 3 / 4, "more bytes than base64 can hold");
        }
        // The body, as read_body reads it.
        std::size_t body = 0;
        while (!parser.is_done()) {
            auto& b = parser.get().body();
            b.data = scratch.data();
            b.size = scratch.size();
            const auto used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
            in.remove_prefix(used);
            if (ec == http::error::need_buffer) ec = {};
            const std::size_t got = scratch.size() - parser.get().body().size;
            check(got <= scratch.size(), "a body piece larger than the buffer");
            body += got;
            if (ec == http::error::need_more || (!ec && used == 0 && got == 0)) {
                // End of input: a body without a length ends with the connection.
                parser.put_eof(ec);
                break;
            }
            if (ec) return 0;
        }
        if (parser.is_done() && declared) check(body == *declared, "a body of another length");
        if (!parser.is_done() || !parser.get().keep_alive()) return 0;
    }
    return 0;
}
