#include <muster/http/client.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/system_error.hpp>

#include <muster/core/detail/waiter.hpp>
#include <muster/core/retry.hpp>
#include <muster/core/scope.hpp>
#include <muster/http/redacted.hpp>
#include <muster/http/url.hpp>

#include "decode.hpp"
#include "retry_after.hpp"
#include "tls.hpp"

namespace muster::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace detail {

/// One open connection, plain or TLS, with the bytes read past the last
/// response.
struct connection {
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;
    clock::time_point idle_since{};

    beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }
    void close() noexcept {
        error_code ignored;
        tcp().socket().shutdown(asio::socket_base::shutdown_both, ignored);
        tcp().socket().close(ignored);
    }
};

/// Where a request was when it failed: decides the error kind.
enum class phase { wait, resolve, connect, handshake, exchange };

/// A request whose slot wait ended because its time ran out.
struct slot_timed_out {};

struct origin_pool;

/// A request waiting for a free connection. Shared with the pool (which
/// grants it) and the timer (which ends the wait at the deadline).
struct slot_wait {
    slot_wait(std::weak_ptr<client::state> o, origin_pool* p) : owner(std::move(o)), pool(p) {}
    slot_wait(const slot_wait&) = delete;
    slot_wait& operator=(const slot_wait&) = delete;
    /// A grant nobody took (the waiting coroutine was destroyed, e.g. its
    /// handler dropped by an ended invocation) goes back to the pool.
    ~slot_wait();

    std::weak_ptr<client::state> owner;
    origin_pool* pool;
    muster::detail::waiter wait;
    std::unique_ptr<connection> conn;  ///< The granted connection; null: open one.
    bool granted = false;
    bool taken = false;
    bool timed_out = false;
};

/// The pool of one origin. Invariant: `in_use + idle.size()` connections
/// (or rights to open one) exist, never more than the limit.
struct origin_pool {
    std::string key;
    std::vector<std::unique_ptr<connection>> idle;  ///< Most recently used last.
    std::deque<std::shared_ptr<slot_wait>> waiters;
    std::size_t in_use = 0;
    std::size_t opened = 0;
};

/// Arms `s`'s timeouts to end at `t` (or disarms them).
void expire_at(beast::tcp_stream& s, clock::time_point t) {
    if (t == clock::time_point::max()) {
        s.expires_never();
    } else {
        s.expires_at(t);
    }
}

}  // namespace detail

using detail::connection;
using detail::origin_pool;
using detail::phase;
using detail::slot_timed_out;
using detail::slot_wait;

struct client::state {
    state(asio::any_io_executor ex, http::options o) : io(std::move(ex)), opts(std::move(o)) {}

    asio::any_io_executor io;  ///< Where connections live: no scope, no ledger.
    http::options opts;
    std::map<std::string, std::unique_ptr<origin_pool>, std::less<>> pools;
    std::shared_ptr<asio::ssl::context> tls_context;

    origin_pool& pool_of(const std::string& key) {
        auto it = pools.find(key);
        if (it == pools.end()) {
            auto p = std::make_unique<origin_pool>();
            p->key = key;
            it = pools.emplace(key, std::move(p)).first;
        }
        return *it->second;
    }

    std::optional<url> http_proxy;
    std::optional<url> https_proxy;
    std::vector<std::string> no_proxy;  ///< Lower-case host names, domains or addresses.
    bool no_proxy_all = false;
    bool proxy_from_environment = false;

    /// The proxy for `u`, if any: by scheme, unless `no_proxy` names the host
    /// (exactly, or as a domain suffix; `*` names every host), and never for
    /// a loopback host when the proxy comes from the environment.
    std::optional<url> proxy_for(const url& u) const {
        const auto& proxy = u.https() ? https_proxy : http_proxy;
        if (!proxy || no_proxy_all) return std::nullopt;
        for (const auto& entry : no_proxy) {
            std::string_view e = entry;
            if (e.starts_with('.')) e.remove_prefix(1);
            if (u.host == e) return std::nullopt;
            if (u.host.size() > e.size() && u.host.ends_with(e) &&
                u.host[u.host.size() - e.size() - 1] == '.')
                return std::nullopt;
        }
        if (proxy_from_environment) {
            error_code not_ip;
            const auto address = asio::ip::make_address(u.host, not_ip);
            if (u.host == "localhost" || (!not_ip && address.is_loopback())) return std::nullopt;
        }
        return proxy;
    }

    asio::ssl::context& tls(const std::string& url) {
        if (!tls_context) tls_context = detail::make_tls_context(opts, url);
        return *tls_context;
    }

    /// True when the idle connection `c` may serve another request: young
    /// enough, still open, and (plain TCP) with nothing unexpected to read.
    bool reusable(connection& c, clock::time_point now) const {
        if (now - c.idle_since >= opts.idle_timeout || c.buffer.size() != 0) return false;
        auto& sock = c.tcp().socket();
        if (!sock.is_open()) return false;
        char byte;
        const auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return false;             // the server closed it
        if (n > 0) return c.tls.has_value();  // TLS: session tickets may arrive late
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }

    /// Gives a slot back: to the oldest waiter (with `c` if it can be
    /// reused), else to the pool.
    void release(origin_pool& p, std::unique_ptr<connection> c) {
        if (c) {
            c->tcp().expires_never();
            c->idle_since = clock::now();
        }
        if (!p.waiters.empty()) {
            auto w = std::move(p.waiters.front());
            p.waiters.pop_front();
            w->granted = true;
            w->conn = std::move(c);
            w->wait.wake();
            return;
        }
        --p.in_use;
        if (c) p.idle.push_back(std::move(c));
    }

    void prune(origin_pool& p, clock::time_point now) {
        // `idle` is in release order, so its front is the oldest: when that
        // one is young enough, all are, and the scan (once per request, over
        // up to max_connections_per_origin entries) is skipped.
        if (p.idle.empty() || now - p.idle.front()->idle_since < opts.idle_timeout) return;
        std::erase_if(p.idle, [&](const std::unique_ptr<connection>& c) {
            if (now - c->idle_since < opts.idle_timeout) return false;
            c->close();
            return true;
        });
    }
};

detail::slot_wait::~slot_wait() {
    if (!granted || taken) return;
    if (conn) conn->close();
    if (auto st = owner.lock()) st->release(*pool, nullptr);
}

namespace {

using state_ptr = std::shared_ptr<client::state>;

/// A slot in an origin's pool, held while a request runs. Giving it up
/// without `keep()` closes the connection: only a response read to its end
/// leaves a connection fit for reuse.
class lease {
  public:
    lease() = default;
    lease(state_ptr st, origin_pool* p, std::unique_ptr<connection> c)
        : st_(std::move(st)), pool_(p), conn_(std::move(c)) {}
    lease(lease&& o) noexcept
        : st_(std::move(o.st_)),
          pool_(std::exchange(o.pool_, nullptr)),
          conn_(std::move(o.conn_)) {}
    lease& operator=(lease&& o) noexcept {
        if (this != &o) {
            drop();
            st_ = std::move(o.st_);
            pool_ = std::exchange(o.pool_, nullptr);
            conn_ = std::move(o.conn_);
        }
        return *this;
    }
    ~lease() { drop(); }

    std::unique_ptr<connection>& conn() noexcept { return conn_; }

    /// Returns the connection to the pool for reuse.
    void keep() {
        if (!pool_) return;
        st_->release(*std::exchange(pool_, nullptr), std::move(conn_));
    }
    /// Closes the connection (if any) and frees the slot.
    void drop() noexcept {
        if (conn_) conn_->close();
        conn_.reset();
        if (!pool_) return;
        st_->release(*std::exchange(pool_, nullptr), nullptr);
    }

  private:
    state_ptr st_;
    origin_pool* pool_ = nullptr;
    std::unique_ptr<connection> conn_;
};

/// A free slot of `p`: an idle connection, the right to open one, or (at the
/// limit) a wait that ends when another request releases one, at
/// `deadline`, or when the caller is cancelled.
asio::awaitable<lease> acquire(state_ptr st, origin_pool* p, clock::time_point deadline) {
    const auto now = clock::now();
    st->prune(*p, now);
    while (!p->idle.empty()) {
        auto c = std::move(p->idle.back());
        p->idle.pop_back();
        if (st->reusable(*c, now)) {
            ++p->in_use;
            co_return lease(st, p, std::move(c));
        }
        c->close();
    }
    if (p->in_use < st->opts.max_connections_per_origin) {
        ++p->in_use;
        co_return lease(st, p, nullptr);
    }

    auto w = std::make_shared<slot_wait>(st, p);
    p->waiters.push_back(w);
    asio::steady_timer timer(st->io);
    if (deadline != clock::time_point::max()) timer.expires_at(deadline);
    if (deadline != clock::time_point::max())
        timer.async_wait([st, p, w](error_code ec) {
            if (ec || w->granted) return;
            std::erase(p->waiters, w);
            w->timed_out = true;
            w->wait.wake();
        });
    auto on_cancel = [p, w] {
        if (w->granted) return false;
        std::erase(p->waiters, w);
        return true;
    };
    auto ex = co_await asio::this_coro::executor;
    try {
        auto waiting = w->wait.async_wait(ex, asio::use_awaitable, std::move(on_cancel));
        co_await std::move(waiting);
    } catch (...) {
        timer.cancel();
        throw;
    }
    timer.cancel();
    if (w->timed_out) throw slot_timed_out{};
    // The releaser counted this slot as ours already.
    w->taken = true;
    co_return lease(st, p, std::move(w->conn));
}

/// Resolves `host` on a background thread. The resolver ignores per-operation
/// cancellation, so cancelling the caller cancels the resolver itself.
template <class Token>
auto async_resolve_cancellable(std::shared_ptr<tcp::resolver> r, std::string host, std::string port,
                               Token&& token) {
    return asio::async_initiate<Token, void(error_code, tcp::resolver::results_type)>(
        [](auto handler, std::shared_ptr<tcp::resolver> r, std::string host, std::string port) {
            auto slot = asio::get_associated_cancellation_slot(handler);
            if (slot.is_connected()) slot.assign([r](asio::cancellation_type) { r->cancel(); });
            r->async_resolve(host, port, std::move(handler));
        },
        token, std::move(r), std::move(host), std::move(port));
}

/// The addresses to try for `u`: an IP literal or `localhost` directly
/// (no resolver thread), any other name through the resolver.
asio::awaitable<std::vector<tcp::endpoint>> endpoints_of(asio::any_io_executor io, url u,
                                                         clock::time_point deadline) {
    error_code not_ip;
    const auto address = asio::ip::make_address(u.host, not_ip);
    if (!not_ip) co_return std::vector<tcp::endpoint>{tcp::endpoint(address, u.port)};
    if (u.host == "localhost") {
        co_return std::vector<tcp::endpoint>{
            tcp::endpoint(asio::ip::address_v4::loopback(), u.port),
            tcp::endpoint(asio::ip::address_v6::loopback(), u.port)};
    }
    auto r = std::make_shared<tcp::resolver>(io);
    asio::steady_timer timer(io);
    if (deadline != clock::time_point::max()) timer.expires_at(deadline);
    if (deadline != clock::time_point::max())
        timer.async_wait([r](error_code ec) {
            if (!ec) r->cancel();
        });
    tcp::resolver::results_type results;
    try {
        auto resolving =
            async_resolve_cancellable(r, u.host, std::to_string(u.port), asio::use_awaitable);
        results = co_await std::move(resolving);
    } catch (...) {
        timer.cancel();
        throw;
    }
    timer.cancel();
    std::vector<tcp::endpoint> out;
    for (const auto& e : results) out.push_back(e.endpoint());
    co_return out;
}

bool retryable_status(int status) noexcept {
    return status == 429 || (status >= 500 && status < 600);
}

bool redirect_status(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/// Whether a response's body goes to a sink: only a final one does, never
/// that of a redirect about to be followed or of a status about to be retried.
struct read_plan {
    const body_sink* sink = nullptr;
    bool follow = false;
    bool may_retry = false;
    bool decompress = false;  ///< Decode a gzip/deflate body on its way to the sink.
    std::string what;         ///< "METHOD url: ", for decoding errors.
    std::string url;

    bool streams(int status) const noexcept {
        return sink && *sink && !(follow && redirect_status(status)) &&
               !(may_retry && retryable_status(status));
    }
};

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

/// Reads one final response (skipping 1xx interim ones) from `s` into `out`
/// and tells whether the connection may be reused. `got_bytes` turns true as
/// soon as any byte of a response was parsed: from then on a failure can no
/// longer be blamed on a stale connection. The references live in the
/// caller's frame, which awaits this at once.
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

std::string ms_text(clock::duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

/// What the caller of `fail` knows about the request that failed.
struct failure_context {
    std::string method;
    std::string url;
    clock::time_point start;
    clock::time_point deadline;
    clock::time_point scope_deadline;
    clock::time_point connect_deadline = clock::time_point::max();
    bool scope_bound = false;  ///< The enclosing scope's deadline is the request's.
    std::string via;           ///< The proxy, when connecting to it failed.
    bool cancelled = false;
    bool got_bytes = false;
    std::size_t limit = 0;
};

bool is_timeout(const error_code& ec) {
    return ec == beast::error::timeout || ec == asio::error::timed_out;
}

/// The `muster::http::error` for `ec` in `where`.
error fail(const failure_context& f, phase where, const error_code& ec, SSL* ssl = nullptr) {
    const std::string what = f.method + " " + f.url + ": ";
    if (f.cancelled) return error(error_kind::cancelled, f.url, what + "the request was cancelled");
    const auto now = clock::now();
    const bool timed_out = is_timeout(ec) || (ec == asio::error::operation_aborted &&
                                              now >= std::min(f.deadline, f.connect_deadline));
    if (timed_out || where == phase::wait) {
        std::string why;
        if (f.scope_bound && now >= f.scope_deadline) {
            why = "the deadline of the enclosing scope was reached after " + ms_text(now - f.start);
        } else if (where == phase::wait) {
            why = "no connection became free within " + ms_text(f.deadline - f.start) +
                  " (at most " + std::to_string(f.limit) + " per origin)";
        } else if (where != phase::exchange && f.connect_deadline < f.deadline) {
            why = "could not connect within the connect timeout";
        } else {
            why = "no complete response within " + ms_text(f.deadline - f.start);
        }
        return error(error_kind::timeout, f.url, what + why);
    }
    switch (where) {
        case phase::wait:
        case phase::resolve:
            return error(error_kind::resolve, f.url,
                         what + "cannot resolve the host: " + ec.message());
        case phase::connect:
            return error(error_kind::connect, f.url,
                         what +
                             (f.via.empty() ? "cannot connect: "
                                            : "cannot connect to the proxy " + f.via + ": ") +
                             ec.message());
        case phase::handshake:
            return error(error_kind::tls, f.url,
                         what + "TLS handshake failed: " + detail::describe_tls_failure(ssl, ec));
        case phase::exchange:
            break;
    }
    if (ec == bhttp::error::header_limit)
        return error(error_kind::header_too_large, f.url,
                     what + "the response header is larger than max_header_size");
    if (ec == bhttp::error::body_limit)
        return error(error_kind::body_too_large, f.url,
                     what +
                         "the response body is larger than the limit (max_body_size, or "
                         "max_streamed_body_size for a sink); connection dropped");
    if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream ||
        ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated) {
        return error(error_kind::closed, f.url,
                     what +
                         (f.got_bytes ? "the connection closed before the response was "
                                        "complete (truncated): "
                                      : "the connection closed before any response: ") +
                         ec.message());
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category()) {
        return error(error_kind::protocol, f.url, what + "malformed response: " + ec.message());
    }
    return error(error_kind::closed, f.url, what + ec.message());
}

bool valid_token(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') ||
                        std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

bool valid_value(std::string_view s) {
    return s.find_first_of("\r\n") == std::string_view::npos &&
           s.find('\0') == std::string_view::npos;
}

/// Stale keep-alive connections fail like this before any byte arrives.
bool stale_connection_error(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::ssl::error::stream_truncated;
}

/// Opens `c` to `u`, directly or through `proxy`: resolve, connect, for
/// https through a proxy a CONNECT tunnel, then the TLS handshake.
asio::awaitable<void> open_connection(state_ptr st, connection* c, url u, std::optional<url> proxy,
                                      clock::time_point deadline, failure_context* f) {
    phase where = phase::resolve;
    error_code ec;
    std::string refused;
    try {
        auto resolving = endpoints_of(st->io, proxy ? *proxy : u, deadline);
        auto eps = co_await std::move(resolving);
        where = phase::connect;
        detail::expire_at(c->tcp(), deadline);
        co_await c->tcp().async_connect(eps, asio::use_awaitable);
        c->tcp().socket().set_option(tcp::no_delay(true));
        if (proxy && u.https()) {
            const std::string authority = u.host.find(':') != std::string::npos
                                              ? "[" + u.host + "]:" + std::to_string(u.port)
                                              : u.host + ":" + std::to_string(u.port);
            bhttp::request<bhttp::empty_body> connect_req(bhttp::verb::connect, authority, 11);
            connect_req.set(bhttp::field::host, authority);
            co_await bhttp::async_write(c->tcp(), connect_req, asio::use_awaitable);
            bhttp::response_parser<bhttp::empty_body> answer;
            answer.skip(true);  // a CONNECT response has no body
            answer.header_limit(static_cast<std::uint32_t>(st->opts.max_header_size));
            beast::flat_buffer buffer;
            co_await bhttp::async_read_header(c->tcp(), buffer, answer, asio::use_awaitable);
            if (answer.get().result_int() / 100 != 2) {
                const auto reason = answer.get().reason();
                refused = "the proxy " + proxy->origin() + " refused CONNECT " + authority + ": " +
                          std::to_string(answer.get().result_int()) + " " +
                          std::string(reason.data(), reason.size());
            } else if (buffer.size() != 0) {
                refused = "the proxy " + proxy->origin() + " sent data before the TLS handshake";
            }
        }
        if (refused.empty() && c->tls) {
            where = phase::handshake;
            co_await c->tls->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
        }
        if (refused.empty()) co_return;
    } catch (const boost::system::system_error& e) {
        ec = e.code();
    }
    if (!refused.empty())
        throw error(error_kind::connect, f->url, f->method + " " + f->url + ": " + refused);
    f->cancelled = f->cancelled || (co_await asio::this_coro::cancellation_state).cancelled() !=
                                       asio::cancellation_type::none;
    if (proxy) f->via = proxy->origin();
    SSL* ssl = c->tls ? c->tls->native_handle() : nullptr;
    throw fail(*f, where, ec, ssl);
}

/// One request on a pooled connection of `u`'s origin, with the one
/// transparent retry on a stale connection. The pointers live in the
/// caller's frame, which awaits this at once.
asio::awaitable<response> send(state_ptr st, const url* up, const std::optional<url>* proxy,
                               const bhttp::request<bhttp::string_body>* rp, failure_context* fp,
                               const read_plan* plan) {
    auto cs = co_await asio::this_coro::cancellation_state;
    const url& u = *up;
    const auto& req = *rp;
    failure_context& f = *fp;
    const bool head = req.method() == bhttp::verb::head;
    const bool idempotent = is_idempotent(f.method);

    origin_pool& pool =
        st->pool_of(*proxy ? u.origin() + " via " + (*proxy)->origin() : u.origin());
    for (int attempt = 0;; ++attempt) {
        lease l;
        bool waited_out = false;
        error_code ec;
        try {
            auto acquiring = acquire(st, &pool, f.deadline);
            l = co_await std::move(acquiring);
        } catch (const slot_timed_out&) {
            waited_out = true;
        } catch (const boost::system::system_error& e) {
            ec = e.code();
        }
        if (waited_out) throw fail(f, phase::wait, asio::error::timed_out);
        if (ec) {
            f.cancelled = cs.cancelled() != asio::cancellation_type::none;
            throw fail(f, phase::wait, ec);
        }

        const bool reused = l.conn() != nullptr;
        if (!reused) {
            auto c = std::make_unique<connection>();
            if (u.https()) {
                c->tls.emplace(st->io, st->tls(f.url));
                detail::prepare_tls(c->tls->native_handle(), u.host, st->opts.verify_peer);
            } else {
                c->plain.emplace(st->io);
            }
            l.conn() = std::move(c);
            ++pool.opened;
            f.connect_deadline = std::min(f.deadline, clock::now() + st->opts.connect_timeout);
            auto opening = open_connection(st, l.conn().get(), u, *proxy, f.connect_deadline, fp);
            co_await std::move(opening);
            f.connect_deadline = clock::time_point::max();
        }

        connection& c = *l.conn();
        f.got_bytes = false;
        response out;
        bool keep_alive = false;
        try {
            detail::expire_at(c.tcp(), f.deadline);
            if (c.tls) {
                co_await bhttp::async_write(*c.tls, req, asio::use_awaitable);
                auto reading =
                    read_response(*c.tls, c.buffer, st->opts, head, f.got_bytes, *plan, out);
                keep_alive = co_await std::move(reading);
            } else {
                co_await bhttp::async_write(*c.plain, req, asio::use_awaitable);
                auto reading =
                    read_response(*c.plain, c.buffer, st->opts, head, f.got_bytes, *plan, out);
                keep_alive = co_await std::move(reading);
            }
        } catch (const boost::system::system_error& e) {
            ec = e.code();
        }
        if (ec) {
            l.drop();
            f.cancelled = cs.cancelled() != asio::cancellation_type::none;
            // A pooled connection the server had already closed: try once more
            // on a fresh one, when sending twice is harmless.
            if (reused && attempt == 0 && idempotent && !f.got_bytes && !f.cancelled &&
                stale_connection_error(ec) && clock::now() < f.deadline) {
                continue;
            }
            throw fail(f, phase::exchange, ec);
        }
        if (keep_alive) {
            l.keep();
        } else {
            l.drop();
        }
        co_return out;
    }
}

/// The delay before retry `attempt + 1` (full jitter, as the core's
/// collections do it), or the server's `Retry-After` when that is longer.
clock::duration retry_delay(const retry_policy& p, unsigned attempt, const response* r) {
    clock::duration d = muster::retry_delay(p, attempt);
    if (r) {
        if (auto after = r->headers.get("Retry-After")) {
            if (auto wait = detail::retry_after(*after, std::chrono::system_clock::now()))
                d = std::max<clock::duration>(d, *wait);
        }
    }
    return d;
}

/// True for the header fields that carry or are bound to a credential of
/// the origin they were meant for (see `options::follow_redirects`).
bool credential_header(std::string_view name) noexcept {
    const auto starts = [name](std::string_view prefix) {
        return name.size() >= prefix.size() && iequals(name.substr(0, prefix.size()), prefix);
    };
    return iequals(name, "Authorization") || iequals(name, "Proxy-Authorization") ||
           iequals(name, "Cookie") || starts("X-Amz-") || starts("X-Goog-");
}

/// Removes every credential-bearing field before a request goes to another origin.
void drop_credentials(http::headers& h) {
    std::vector<std::string> names;
    for (const auto& [name, value] : h)
        if (credential_header(name)) names.push_back(name);
    for (const auto& name : names) h.erase(name);
}

bool retryable_error(error_kind k) noexcept {
    return k == error_kind::connect || k == error_kind::resolve || k == error_kind::closed;
}

asio::awaitable<response> run(state_ptr st, http::request r, body_sink sink) {
    const auto ex = co_await asio::this_coro::executor;
    const http::options& o = st->opts;
    failure_context f;
    f.method = r.method;
    f.url = r.url;
    f.start = clock::now();
    f.scope_deadline = muster::deadline_of(ex);
    f.limit = o.max_connections_per_origin;
    const auto timeout = r.timeout.value_or(o.request_timeout);
    f.deadline = timeout >= clock::time_point::max() - f.start ? clock::time_point::max()
                                                               : f.start + timeout;
    if (f.scope_deadline < f.deadline) {
        // The scope's deadline binds. Whoever owns it (a collection) cancels
        // the request exactly then and reports it timed_out; our own timer
        // is a millisecond later so that it only acts when nobody else does
        // (a root scope, which cancels nothing).
        f.scope_bound = true;
        f.deadline = f.scope_deadline + std::chrono::milliseconds(1);
    }

    url u = url::parse(r.url);
    f.url = u.str();
    if (!valid_token(r.method))
        throw error(error_kind::invalid_request, f.url,
                    "\"" + r.method + "\" is not an HTTP method");
    for (const auto& [name, value] : r.headers) {
        if (!valid_token(name) || !valid_value(value))
            throw error(error_kind::invalid_request, f.url,
                        "the header \"" + name + "\" has an invalid name or value");
    }
    if (!r.headers.contains("User-Agent") && !o.user_agent.empty())
        r.headers.set("User-Agent", o.user_agent);
    if (o.decompress && !r.headers.contains("Accept-Encoding"))
        r.headers.set("Accept-Encoding", "gzip, deflate");
    if (o.send_trace_id && !r.headers.contains("X-Amzn-Trace-Id")) {
        // The invocation's root scope carries it (also with several
        // invocations at once); a runtime that only sets the environment
        // variable is honoured too.
        std::string_view trace = muster::trace_id_of(ex);
        if (trace.empty()) {
            if (const char* env = std::getenv("_X_AMZN_TRACE_ID")) trace = env;
        }
        if (!trace.empty() && valid_value(trace))
            r.headers.set("X-Amzn-Trace-Id", std::string(trace));
    }
    const bool user_host = r.headers.contains("Host");

    unsigned attempt = 1;
    unsigned redirects = 0;
    for (;;) {
        const std::optional<url> proxy = st->proxy_for(u);
        bhttp::request<bhttp::string_body> req;
        req.method_string(r.method);
        // Through a proxy, plain http asks for the absolute URL.
        req.target(proxy && !u.https() ? u.str() : u.target);
        req.version(11);
        for (const auto& [name, value] : r.headers) req.insert(name, value);
        if (!user_host) req.set(bhttp::field::host, u.host_header());
        req.body() = r.body;
        req.prepare_payload();

        std::optional<response> out;
        std::exception_ptr failure;
        error_kind kind = error_kind::protocol;
        read_plan plan;
        plan.sink = &sink;
        plan.follow = o.follow_redirects;
        plan.may_retry = attempt < o.retry.attempts && is_idempotent(r.method);
        plan.decompress = o.decompress;
        plan.what = f.method + " " + f.url + ": ";
        plan.url = f.url;
        try {
            auto sending = send(st, &u, &proxy, &req, &f, &plan);
            out.emplace(co_await std::move(sending));
            // A streamed body was decoded on its way to the sink (and is empty here).
            if (o.decompress && r.method != "HEAD") {
                if (auto enc = out->headers.get("Content-Encoding"))
                    out->body = detail::decode_content(*enc, std::move(out->body), o.max_body_size,
                                                       f.method + " " + f.url + ": ", f.url);
            }
        } catch (const error& e) {
            failure = std::current_exception();
            kind = e.kind();
        } catch (const boost::system::system_error& e) {
            // Awaiting anything once cancelled throws operation_aborted.
            f.cancelled = true;
            throw fail(f, phase::exchange, e.code());
        }

        // Retries: idempotent requests, on connection errors, 429 and 5xx,
        // never past the deadline.
        const bool again = attempt < o.retry.attempts && is_idempotent(r.method) &&
                           (failure ? retryable_error(kind) : retryable_status(out->status));
        if (again && failure && !retry_if_allows(o.retry, failure)) {
            std::rethrow_exception(failure);  // a retry_if_error when the predicate threw
        }
        if (again) {
            const auto delay = retry_delay(o.retry, attempt, out ? &*out : nullptr);
            if (clock::now() + delay < f.deadline) {
                ++attempt;
                asio::steady_timer pause(ex, delay);
                error_code ec;
                try {
                    co_await pause.async_wait(asio::use_awaitable);
                } catch (const boost::system::system_error& e) {
                    ec = e.code();
                }
                if (ec) {
                    f.cancelled = true;
                    throw fail(f, phase::exchange, ec);
                }
                continue;
            }
        }
        if (failure) std::rethrow_exception(failure);

        if (o.follow_redirects && redirect_status(out->status)) {
            if (auto location = out->headers.get("Location")) {
                if (redirects >= o.max_redirects) {
                    throw error(error_kind::too_many_redirects, f.url,
                                f.method + " " + f.url + ": more than " +
                                    std::to_string(o.max_redirects) + " redirects");
                }
                ++redirects;
                url next = u.resolve(*location);
                if (out->status == 303 ||
                    ((out->status == 301 || out->status == 302) && r.method == "POST")) {
                    if (r.method != "HEAD") r.method = "GET";
                    r.body.clear();
                    r.headers.erase("Content-Type");
                    r.headers.erase("Content-Length");
                }
                if (next.origin() != u.origin()) drop_credentials(r.headers);
                u = std::move(next);
                f.url = u.str();
                f.method = r.method;
                attempt = 1;
                continue;
            }
        }
        if (sink && !plan.streams(out->status) && !out->body.empty()) {
            // Read into memory because it might have been retried or
            // followed; it is final after all, so the sink gets it now.
            std::string body = std::move(out->body);
            out->body.clear();
            sink(body);
        }
        co_return std::move(*out);
    }
}

}  // namespace

namespace {

/// The first of the environment variables `names` that is set, or empty.
std::optional<std::string> from_environment(std::initializer_list<const char*> names) {
    for (const char* n : names)
        if (const char* v = std::getenv(n)) return std::string(v);
    return std::nullopt;
}

std::optional<url> parse_proxy(const std::string& value, const char* what) {
    if (value.empty()) return std::nullopt;
    std::string text = value.find("://") == std::string::npos ? "http://" + value : value;
    try {
        url u = url::parse(text);
        if (u.https())
            throw std::invalid_argument(std::string("muster::http: ") + what + "=" +
                                        redacted(text) + ": only http:// proxies are supported");
        return u;
    } catch (const error& e) {
        throw std::invalid_argument(std::string("muster::http: ") + what + "=" + redacted(text) +
                                    " is not a proxy URL (" + e.what() + ")");
    }
}

void configure_proxies(client::state& st) {
    const http::options& o = st.opts;
    std::optional<std::string> http_value = o.http_proxy;
    std::optional<std::string> https_value = o.https_proxy;
    std::optional<std::string> no_value = o.no_proxy;
    if (!http_value && !https_value) st.proxy_from_environment = true;
    if (!http_value) http_value = from_environment({"http_proxy", "HTTP_PROXY"});
    if (!https_value) https_value = from_environment({"https_proxy", "HTTPS_PROXY"});
    if (!no_value) no_value = from_environment({"no_proxy", "NO_PROXY"});
    st.http_proxy = parse_proxy(http_value.value_or(""), "http_proxy");
    st.https_proxy = parse_proxy(https_value.value_or(""), "https_proxy");
    const std::string no_list = no_value.value_or("");
    std::string_view rest = no_list;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item == "*") st.no_proxy_all = true;
        // "host:port" and "[v6]" entries name the host only.
        if (item.starts_with('[')) {
            item = item.substr(1, item.find(']') - 1);
        } else if (item.find(':') == item.rfind(':')) {
            item = item.substr(0, item.find(':'));
        }
        std::string lowered;
        for (char ch : item)
            lowered += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
        if (!lowered.empty()) st.no_proxy.push_back(std::move(lowered));
    }
}

}  // namespace

client::client(asio::any_io_executor ex, http::options o) {
    o.validate();
    state_ = std::make_shared<state>(muster::without_scope(ex), std::move(o));
    configure_proxies(*state_);
}

client::client(asio::any_io_executor ex) : client(std::move(ex), http::options{}) {}

// Not coroutines themselves: the awaitable they return holds the pool, so
// the client object may go away before it is awaited.
asio::awaitable<response> client::request(http::request r) const {
    return run(state_, std::move(r), nullptr);
}

asio::awaitable<response> client::request(http::request r, body_sink sink) const {
    return run(state_, std::move(r), std::move(sink));
}

asio::awaitable<response> client::get(std::string url, http::headers h) const {
    http::request r;
    r.url = std::move(url);
    r.headers = std::move(h);
    return run(state_, std::move(r), nullptr);
}

pool_stats client::stats(std::string_view origin) const {
    pool_stats s;
    auto it = state_->pools.find(origin);
    if (it == state_->pools.end()) return s;
    const origin_pool& p = *it->second;
    s.idle = p.idle.size();
    s.in_use = p.in_use;
    s.waiting = p.waiters.size();
    s.opened = p.opened;
    return s;
}

void client::close_idle() const {
    for (auto& [key, p] : state_->pools) {
        for (auto& c : p->idle) c->close();
        p->idle.clear();
    }
}

const http::options& client::options() const noexcept { return state_->opts; }

asio::any_io_executor client::get_executor() const { return state_->io; }

}  // namespace muster::http
