// thumbnails_origin: the image server of the thumbnail demo.
//
//   thumbnails_origin --root DIR [--port 0] [--slow-ms N] [--log FILE]
//
// Serves the files under DIR over HTTP/1.1 on 127.0.0.1, keeping connections
// alive for as long as the client does. GET /slow/<path> answers with the file
// <path> after N ms (default 3000). A missing file is a 404.
//
// Prints `listening on http://127.0.0.1:PORT` as its first line of standard
// output (flushed), and serves until SIGTERM or SIGINT; then prints one line,
//   thumbnails_origin: connections=C requests=R not_found=F slow=S
// and exits 0. With --log, each request is one line of FILE as it is answered:
//   <epoch µs when received> <connection> <request on it, from 1> <status> <bytes> <target>
// so that a reader can tell which connections a later batch reused; requests still
// unanswered at exit get their line then, with status 0 and 0 bytes.
//
// One thread; every connection is a coroutine on it.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_generator.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/message_generator.hpp>

#include <signal.h>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

constexpr std::string_view slow_prefix = "/slow/";

std::string_view content_type(const fs::path& file) {
    const std::string ext = file.extension().string();
    if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
    if (ext == ".png") return "image/png";
    if (ext == ".webp") return "image/webp";
    if (ext == ".json") return "application/json";
    return "application/octet-stream";
}

/// The file a target names under `root`, or nullopt when the target may not
/// name one (not absolute, a `..` or `.` segment, an escape sequence).
std::optional<fs::path> file_for(const fs::path& root, std::string_view path) {
    if (path.empty() || path.front() != '/' || path.find('%') != std::string_view::npos ||
        path.find('\\') != std::string_view::npos) {
        return std::nullopt;
    }
    fs::path file = root;
    std::string_view rest = path.substr(1);
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (segment == ".." || segment == ".") {
            return std::nullopt;
        }
        if (!segment.empty()) {
            file /= segment;
        }
    }
    return file;
}

struct counters {
    std::uint64_t connections = 0;
    std::uint64_t requests = 0;
    std::uint64_t not_found = 0;
    std::uint64_t slow = 0;
};

class origin {
  public:
    origin(asio::io_context& io, fs::path root, std::uint16_t port, std::chrono::milliseconds slow,
           std::FILE* log)
        : io_(io),
          acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)),
          root_(std::move(root)),
          slow_(slow),
          log_(log) {}

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    const counters& counts() const { return counts_; }

    asio::awaitable<void> accept() {
        for (;;) {
            auto accepting = acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            auto [error, socket] = co_await std::move(accepting);
            if (error) {
                // Out of descriptors, say: the connections already open still get answers.
                std::fprintf(stderr, "thumbnails_origin: accept: %s\n", error.message().c_str());
                asio::steady_timer pause(io_, std::chrono::milliseconds(50));
                auto pausing = pause.async_wait(asio::as_tuple(asio::use_awaitable));
                co_await std::move(pausing);
                continue;
            }
            const std::uint64_t id = ++counts_.connections;
            asio::co_spawn(io_, serve(std::move(socket), id), asio::detached);
        }
    }

    /// Logs the requests still waiting for their answer (a /slow/ one whose client has given
    /// up, say) with status 0, so that the log has a line for every request counted.
    void log_unanswered() {
        while (!unanswered_.empty()) {
            log(unanswered_.begin()->first, 0, 0);
        }
    }

  private:
    /// (connection, request on it): one request.
    using request_key = std::pair<std::uint64_t, std::uint64_t>;
    struct unanswered {
        std::chrono::system_clock::time_point received;
        std::string target;
    };

    /// An answer, ready to write, and its status for the log.
    struct reply {
        bhttp::message_generator message;
        unsigned status;
    };

    /// One connection: requests in turn until the client closes it or asks to.
    asio::awaitable<void> serve(tcp::socket socket, std::uint64_t connection) {
        beast::flat_buffer buffer;
        for (std::uint64_t sequence = 1;; ++sequence) {
            bhttp::request<bhttp::empty_body> request;
            auto reading =
                bhttp::async_read(socket, buffer, request, asio::as_tuple(asio::use_awaitable));
            auto [read_error, read_bytes] = co_await std::move(reading);
            if (read_error) {
                // The client closed the connection (end of stream) or sent garbage.
                co_return;
            }
            ++counts_.requests;
            const request_key key{connection, sequence};
            unanswered_.emplace(
                key, unanswered{std::chrono::system_clock::now(), std::string(request.target())});
            const bool keep_alive = request.keep_alive();

            auto answering = answer(request);
            reply r = co_await std::move(answering);
            auto writing = beast::async_write(socket, std::move(r.message),
                                              asio::as_tuple(asio::use_awaitable));
            auto [write_error, written] = co_await std::move(writing);
            log(key, r.status, write_error ? 0 : written);
            if (write_error || !keep_alive) {
                beast::error_code ignored;
                socket.shutdown(tcp::socket::shutdown_send, ignored);
                co_return;
            }
        }
    }

    /// The answer to `request` (a copy: a coroutine keeps no references).
    asio::awaitable<reply> answer(bhttp::request<bhttp::empty_body> request) {
        const std::string_view target = request.target();
        const std::string_view path = target.substr(0, target.find('?'));
        std::string_view file_path = path;
        if (path.starts_with(slow_prefix)) {
            ++counts_.slow;
            file_path = path.substr(slow_prefix.size() - 1);
            asio::steady_timer timer(io_, slow_);
            auto waiting = timer.async_wait(asio::as_tuple(asio::use_awaitable));
            co_await std::move(waiting);
        }

        if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
            co_return text(request, bhttp::status::method_not_allowed);
        }
        const std::optional<fs::path> file = file_for(root_, file_path);
        if (!file) {
            co_return text(request, bhttp::status::bad_request);
        }
        bhttp::file_body::value_type body;
        beast::error_code open_error;
        std::error_code kind_error;
        if (fs::is_regular_file(*file, kind_error)) {
            body.open(file->c_str(), beast::file_mode::scan, open_error);
        }
        if (!body.is_open()) {
            ++counts_.not_found;
            co_return text(request, bhttp::status::not_found);
        }

        const std::uint64_t size = body.size();
        bhttp::response<bhttp::file_body> response{bhttp::status::ok, request.version()};
        response.set(bhttp::field::server, "thumbnails_origin");
        response.set(bhttp::field::content_type, content_type(*file));
        response.keep_alive(request.keep_alive());
        if (request.method() == bhttp::verb::head) {
            response.content_length(size);
            bhttp::response<bhttp::empty_body> head{response.base()};
            co_return reply{std::move(head), 200};
        }
        response.body() = std::move(body);
        response.prepare_payload();
        co_return reply{std::move(response), 200};
    }

    static reply text(const bhttp::request<bhttp::empty_body>& request, bhttp::status status) {
        bhttp::response<bhttp::string_body> response{status, request.version()};
        response.set(bhttp::field::server, "thumbnails_origin");
        response.set(bhttp::field::content_type, "text/plain");
        response.keep_alive(request.keep_alive());
        if (request.method() != bhttp::verb::head) {
            response.body() = std::string(bhttp::obsolete_reason(status)) + "\n";
        }
        response.prepare_payload();
        return reply{std::move(response), static_cast<unsigned>(status)};
    }

    /// Writes the log line of an answered request.
    void log(request_key key, unsigned status, std::size_t bytes) {
        const auto found = unanswered_.find(key);
        if (found == unanswered_.end()) {
            return;
        }
        if (log_ != nullptr) {
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                found->second.received.time_since_epoch());
            std::fprintf(log_, "%lld %llu %llu %u %zu %s\n", static_cast<long long>(us.count()),
                         static_cast<unsigned long long>(key.first),
                         static_cast<unsigned long long>(key.second), status, bytes,
                         found->second.target.c_str());
            std::fflush(log_);
        }
        unanswered_.erase(found);
    }

    asio::io_context& io_;
    tcp::acceptor acceptor_;
    fs::path root_;
    std::chrono::milliseconds slow_;
    std::FILE* log_;
    counters counts_;
    std::map<request_key, unanswered> unanswered_;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Serve the thumbnail demo's images over HTTP/1.1 on 127.0.0.1"};
    std::string root;
    std::uint16_t port = 0;
    unsigned slow_ms = 3000;
    std::string log_path;
    app.add_option("--root", root, "Directory to serve")->required()->check(CLI::ExistingDirectory);
    app.add_option("--port", port, "Port (0 picks a free one)")->capture_default_str();
    app.add_option("--slow-ms", slow_ms, "Delay of every answer under /slow/")
        ->capture_default_str();
    app.add_option("--log", log_path, "Append one line per request to this file");
    CLI11_PARSE(app, argc, argv);

    // A client that goes away mid-answer must not end the server.
    ::signal(SIGPIPE, SIG_IGN);

    std::FILE* log = nullptr;
    if (!log_path.empty()) {
        log = std::fopen(log_path.c_str(), "a");
        if (log == nullptr) {
            std::fprintf(stderr, "thumbnails_origin: cannot open %s\n", log_path.c_str());
            return 2;
        }
    }

    asio::io_context io;
    std::optional<origin> server;
    try {
        server.emplace(io, fs::path(root), port, std::chrono::milliseconds(slow_ms), log);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "thumbnails_origin: cannot listen on 127.0.0.1:%u: %s\n",
                     static_cast<unsigned>(port), e.what());
        return 2;
    }
    std::printf("listening on http://127.0.0.1:%u\n", static_cast<unsigned>(server->port()));
    std::fflush(stdout);

    asio::co_spawn(io, server->accept(), asio::detached);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](const beast::error_code& error, int) {
        if (!error) {
            io.stop();
        }
    });
    io.run();

    server->log_unanswered();
    const counters& c = server->counts();
    std::printf(
        "thumbnails_origin: connections=%llu requests=%llu not_found=%llu slow=%llu\n",
        static_cast<unsigned long long>(c.connections), static_cast<unsigned long long>(c.requests),
        static_cast<unsigned long long>(c.not_found), static_cast<unsigned long long>(c.slow));
    std::fflush(stdout);
    if (log != nullptr) {
        std::fclose(log);
    }
    return 0;
}
