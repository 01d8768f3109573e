#include "read_response.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/system_error.hpp>

#include "decode.hpp"

namespace muster::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using boost::system::error_code;

namespace {

void fill_head(response& out, const bhttp::response_header<>& h) {
    out.status = static_cast<int>(h.result_int());
    const auto reason = h.reason();
    out.reason.assign(reason.data(), reason.size());
    for (const auto& field : h) {
        const auto name = field.name_string();
        const auto value = field.value();
        out.headers.add(std::string_view(name.data(), name.size()),
                        std::string_view(value.data(), value.size()));
    }
}

/// Beast reads at most max(512, capacity - size) bytes at a time into the
/// connection's buffer, and the body parsers drain the buffer after every
/// read, so it never grows by itself: a 10 KB body took some 20 reads, each
/// a `recvmsg` and a trip through the reactor and Beast's timeout machinery.
/// Room for the rest of the body (at most 64 KiB, Beast's own cap per read;
/// 16 KiB when the length is unknown) makes that one or two reads. The
/// buffer already holds the part of the body that came with the header.
void make_read_room(beast::flat_buffer& buffer, boost::optional<std::uint64_t> length) {
    constexpr std::uint64_t most = 64 * 1024;
    const std::uint64_t buffered = buffer.size();
    const auto want = static_cast<std::size_t>(
        length ? std::min(*length - std::min(*length, buffered), most) : 16 * 1024);
    if (buffer.capacity() - buffer.size() < want) buffer.reserve(buffer.size() + want);
}

/// Once a body has been read, keeps the room made for it when it is small
/// (the next response on the connection then arrives in a single read, with
/// no allocation), and frees it otherwise, so an idle pooled connection holds
/// at most 16 KiB of buffer. Bytes of a next response, if any, are kept.
void release_read_room(beast::flat_buffer& buffer) {
    if (buffer.size() == 0 && buffer.capacity() > 16 * 1024) buffer.shrink_to_fit();
}

}  // namespace

template <class Stream>
asio::awaitable<bool> read_response(Stream& s, beast::flat_buffer& buffer, const http::options& o,
                                    bool head, bool& got_bytes, const read_plan& plan,
                                    response& out) {
    for (;;) {
        bhttp::response_parser<bhttp::empty_body> header_parser;
        header_parser.header_limit(static_cast<std::uint32_t>(o.max_header_size));
        // The body's limit depends on where the body goes, known only once
        // the header is in: checked by hand below, then set on the body's parser.
        header_parser.body_limit(boost::none);
        if (head) header_parser.skip(true);
        try {
            co_await bhttp::async_read_header(s, buffer, header_parser, asio::use_awaitable);
        } catch (...) {
            got_bytes = got_bytes || header_parser.got_some() || buffer.size() != 0;
            throw;
        }
        got_bytes = true;
        const unsigned code = header_parser.get().result_int();
        if (code >= 100 && code < 200 && code != 101) continue;  // interim: no body
        out = response{};
        fill_head(out, header_parser.get());

        const bool streams = plan.streams(static_cast<int>(code));
        const std::uint64_t limit = streams ? o.max_streamed_body_size : o.max_body_size;
        const auto length = header_parser.content_length();
        if (length && *length > limit && !head)
            throw boost::system::system_error(bhttp::error::body_limit);
        if (!header_parser.is_done()) make_read_room(buffer, length);

        if (!streams) {
            bhttp::response_parser<bhttp::string_body> parser(std::move(header_parser));
            parser.body_limit(o.max_body_size);
            co_await bhttp::async_read(s, buffer, parser, asio::use_awaitable);
            out.body = std::move(parser.get().body());
            release_read_room(buffer);
            co_return parser.get().keep_alive();
        }

        bhttp::response_parser<bhttp::buffer_body> parser(std::move(header_parser));
        if (o.max_streamed_body_size == std::numeric_limits<std::uint64_t>::max()) {
            parser.body_limit(boost::none);
        } else {
            parser.body_limit(o.max_streamed_body_size);
        }
        std::optional<detail::decoder> decoder;
        if (plan.decompress && !head) {
            if (auto enc = out.headers.get("Content-Encoding"); enc && detail::decodable(*enc))
                decoder.emplace(*enc, o.max_streamed_body_size, plan.what, plan.url);
        }
        std::vector<char> chunk(64 * 1024);
        while (!parser.is_done()) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            error_code ec;
            co_await bhttp::async_read(s, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec == bhttp::error::need_buffer) ec = {};
            if (ec) throw boost::system::system_error(ec);
            const std::size_t n = chunk.size() - parser.get().body().size;
            if (n == 0) continue;
            if (decoder) {
                decoder->feed(std::string_view(chunk.data(), n), *plan.sink);
            } else {
                (*plan.sink)(std::string_view(chunk.data(), n));
            }
        }
        if (decoder) decoder->finish();
        release_read_room(buffer);
        co_return parser.get().keep_alive();
    }
}

template asio::awaitable<bool> read_response(beast::tcp_stream&, beast::flat_buffer&,
                                             const http::options&, bool, bool&, const read_plan&,
                                             response&);
template asio::awaitable<bool> read_response(beast::ssl_stream<beast::tcp_stream>&,
                                             beast::flat_buffer&, const http::options&, bool, bool&,
                                             const read_plan&, response&);

}  // namespace muster::http::detail
