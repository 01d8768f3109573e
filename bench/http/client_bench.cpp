// muster::http's side of the HTTP client benchmark: N GETs (default 1,000)
// through one `muster::http::client`, collected by `muster::gather`, against
// bench/http/origin_server.cpp. The peers (aiohttp_get.py, fetch_get.mjs and
// wrk) run the same workload against the same server; bench/http/run.sh
// alternates them. Prints JSON on stdout.
//
// --mode timed (default), three configurations:
//   unlimited  gather without a limit, max_connections_per_origin = N, so
//              every request gets its own connection (a client of its own);
//   limit_100  gather with `limit = 100`, max_connections_per_origin = 100
//              (a client of its own);
//   raw_100    the floor for C++: the same batch over 100 keep-alive
//              connections with raw Asio and Beast's parser, no muster.
// The first round of each opens the connections ("cold"); then --runs timed
// rounds alternate between the configurations on their warm connections.
// Time is wall time around the batch (`co_await gather(...)`), creating the
// tasks included; CPU time is the process's user + system time around it.
//
// --mode memory: in a fresh process (so no freed memory of earlier rounds is
// reused), one GET to load code and warm the allocator on a throwaway client,
// then N GETs at once, unlimited, each answered after --memory-delay-ms
// (default 2,000). The process's anonymous resident memory (RssAnon of
// /proc/self/status: heap and stacks, not the mapped code) is sampled every
// 10 ms from the start of the gather until 90% of the delay has passed (no
// response can have arrived yet); the peak minus the value just before the
// gather, divided by N, is the memory per in-flight request. The server's
// `/stats` confirms that all N requests were waiting on it at once.
//
// Usage: http_client_bench --port P [--mode timed|memory] [--requests N]
//                          [--runs R] [--body-bytes B] [--memory-delay-ms D]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <muster/core/gather.hpp>
#include <muster/http.hpp>

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace http = muster::http;
using asio::ip::tcp;
using steady = std::chrono::steady_clock;

struct settings {
    unsigned short port = 0;
    std::string mode = "timed";
    std::size_t requests = 1000;
    unsigned runs = 5;
    std::size_t body_bytes = 10 * 1024;
    long memory_delay_ms = 2000;
};

/// Kilobytes of one `/proc/self/status` field (`RssAnon`, `VmRSS`), or -1.
long status_kb(const char* field) {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    const std::size_t n = std::char_traits<char>::length(field);
    while (std::fgets(line, sizeof line, f)) {
        if (std::char_traits<char>::compare(line, field, n) == 0 && line[n] == ':') {
            kb = std::strtol(line + n + 1, nullptr, 10);
            break;
        }
    }
    std::fclose(f);
    return kb;
}

/// One GET; the body's size, or an exception for anything but a 200.
asio::awaitable<std::size_t> get_body_size(http::client c, std::string url) {
    auto getting = c.get(std::move(url));
    http::response r = co_await std::move(getting);
    if (r.status != 200) throw std::runtime_error("HTTP " + std::to_string(r.status));
    co_return r.body.size();
}

/// CPU time this process has used (user and system), in milliseconds.
double cpu_ms() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
    return ms(u.ru_utime) + ms(u.ru_stime);
}

struct batch_time {
    double wall_ms = 0;
    double cpu_ms = 0;
    double request_ms = 0;  ///< Mean time of a request, from admission to its response.
};

/// Wall and CPU time taken by `n` GETs of `url` through `c`, gathered with
/// `o`. Throws unless every one succeeded with a body of `body_bytes`.
asio::awaitable<batch_time> gather_gets(http::client c, std::string url, std::size_t n,
                                        muster::options o, std::size_t body_bytes) {
    auto fetch = [c, url](std::size_t) { return get_body_size(c, url); };
    auto tasks = std::views::iota(std::size_t{0}, n) | std::views::transform(fetch);
    const double cpu0 = cpu_ms();
    const auto t0 = steady::now();
    auto r = co_await muster::gather(tasks, o);
    const auto t1 = steady::now();
    const double cpu1 = cpu_ms();
    double run_ms = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
        run_ms += std::chrono::duration<double, std::milli>(r[i].timings().run_time()).count();
        if (!r[i].ok())
            throw std::runtime_error("request " + std::to_string(i) + ": " + r[i].message());
        if (r[i].value() != body_bytes)
            throw std::runtime_error("request " + std::to_string(i) + ": body of " +
                                     std::to_string(r[i].value()) + " bytes");
    }
    co_return batch_time{std::chrono::duration<double, std::milli>(t1 - t0).count(), cpu1 - cpu0,
                         run_ms / static_cast<double>(std::max<std::size_t>(r.size(), 1))};
}

/// `"max_waiting"` of the server's `/stats` (and resets it there).
asio::awaitable<long> server_max_waiting(http::client c, std::string origin) {
    auto getting = c.get(origin + "/stats");
    http::response r = co_await std::move(getting);
    const auto at = r.body.find("\"max_waiting\":");
    if (r.status != 200 || at == std::string::npos)
        throw std::runtime_error("unexpected /stats answer: " + r.body);
    co_return std::strtol(r.body.c_str() + at + 14, nullptr, 10);
}

/// The same batch without muster, as a floor for C++ on this machine: one
/// coroutine per keep-alive connection, each sending a fixed request and
/// reading the response with Beast's parser into a buffer with room for it,
/// taking the next of the batch's GETs until none is left. No pool, no
/// timeouts, no cancellation, no gather.
struct raw_batch {
    tcp::endpoint server;
    std::string request;
    std::size_t body_bytes = 0;
    std::vector<std::unique_ptr<tcp::socket>> sockets;
    std::vector<boost::beast::flat_buffer> buffers;
    std::size_t next = 0;
    std::size_t n = 0;
};

asio::awaitable<void> raw_worker(std::shared_ptr<raw_batch> b, std::size_t k) {
    tcp::socket& s = *b->sockets[k];
    if (!s.is_open()) {
        co_await s.async_connect(b->server, asio::use_awaitable);
        s.set_option(tcp::no_delay(true));
        b->buffers[k].reserve(b->body_bytes + 1024);
    }
    while (b->next < b->n) {
        ++b->next;
        co_await asio::async_write(s, asio::buffer(b->request), asio::use_awaitable);
        bhttp::response_parser<bhttp::string_body> parser;
        co_await bhttp::async_read(s, b->buffers[k], parser, asio::use_awaitable);
        if (parser.get().result_int() != 200 || parser.get().body().size() != b->body_bytes)
            throw std::runtime_error("raw batch: unexpected response");
    }
}

asio::awaitable<batch_time> raw_gets(std::shared_ptr<raw_batch> b, std::size_t n) {
    auto ex = co_await asio::this_coro::executor;
    const double cpu0 = cpu_ms();
    const auto t0 = steady::now();
    b->next = 0;
    b->n = n;
    using op = decltype(asio::co_spawn(ex, raw_worker(b, 0), asio::deferred));
    std::vector<op> workers;
    for (std::size_t k = 0; k < b->sockets.size(); ++k)
        workers.push_back(asio::co_spawn(ex, raw_worker(b, k), asio::deferred));
    auto group = asio::experimental::make_parallel_group(std::move(workers));
    auto all = group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    auto [order, errors] = co_await std::move(all);
    const auto t1 = steady::now();
    const double cpu1 = cpu_ms();
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
    co_return batch_time{std::chrono::duration<double, std::milli>(t1 - t0).count(), cpu1 - cpu0,
                         0};
}

struct configuration {
    std::string name;
    std::optional<std::size_t> limit;  ///< gather's limit; unset: unlimited.
    std::size_t max_connections = 0;   ///< The client's max_connections_per_origin.
    double cold_ms = 0;
    std::vector<double> runs_ms;
    std::vector<double> cpu_ms;
    std::vector<double> request_ms;
};

std::string json_array(const std::vector<double>& v) {
    std::ostringstream s;
    s << '[';
    for (std::size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
    s << ']';
    return s.str();
}

asio::awaitable<void> timed(settings s, std::ostream* out) {
    auto ex = co_await asio::this_coro::executor;
    const std::string url = "http://127.0.0.1:" + std::to_string(s.port) + "/";
    std::vector<configuration> configs(3);
    configs[0].name = "unlimited";
    configs[0].max_connections = s.requests;
    configs[1].name = "limit_100";
    configs[1].limit = 100;
    configs[1].max_connections = 100;
    configs[2].name = "raw_100";  // the floor: no muster, 100 connections
    configs[2].limit = 100;
    configs[2].max_connections = 100;
    auto raw = std::make_shared<raw_batch>();
    raw->server = tcp::endpoint(asio::ip::address_v4::loopback(), s.port);
    raw->request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(s.port) + "\r\n\r\n";
    raw->body_bytes = s.body_bytes;
    raw->buffers.resize(100);
    for (int k = 0; k < 100; ++k) raw->sockets.push_back(std::make_unique<tcp::socket>(ex));

    std::vector<http::client> clients;
    for (const auto& cfg : configs) {
        if (cfg.name == "raw_100") break;
        http::options ho;
        ho.max_connections_per_origin = cfg.max_connections;
        http::client c{ex, ho};
        clients.push_back(c);
    }
    for (unsigned round = 0; round <= s.runs; ++round) {
        for (std::size_t k = 0; k < configs.size(); ++k) {
            batch_time t;
            if (configs[k].name == "raw_100") {
                auto batch = raw_gets(raw, s.requests);
                t = co_await std::move(batch);
            } else {
                muster::options o;
                if (configs[k].limit) o.limit = *configs[k].limit;
                auto batch = gather_gets(clients[k], url, s.requests, o, s.body_bytes);
                t = co_await std::move(batch);
            }
            if (round == 0) {
                configs[k].cold_ms = t.wall_ms;
            } else {
                configs[k].runs_ms.push_back(t.wall_ms);
                configs[k].cpu_ms.push_back(t.cpu_ms);
                if (t.request_ms > 0) configs[k].request_ms.push_back(t.request_ms);
            }
        }
    }

    *out << "{\"client\":\"muster::http\",\"requests\":" << s.requests << ",\"configs\":{";
    for (std::size_t k = 0; k < configs.size(); ++k) {
        const auto& cfg = configs[k];
        *out << (k ? "," : "") << '"' << cfg.name
             << "\":{\"limit\":" << (cfg.limit ? std::to_string(*cfg.limit) : "null")
             << ",\"max_connections_per_origin\":" << cfg.max_connections
             << ",\"cold_ms\":" << cfg.cold_ms << ",\"runs_ms\":" << json_array(cfg.runs_ms)
             << ",\"cpu_ms\":" << json_array(cfg.cpu_ms)
             << ",\"request_ms\":" << json_array(cfg.request_ms) << '}';
    }
    *out << "}}\n";
}

/// Samples RssAnon every 10 ms until `until`, keeping the peak.
struct rss_sampler {
    steady::time_point until;
    long peak_kb = 0;
};

asio::awaitable<void> sample(std::shared_ptr<rss_sampler> s) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    while (steady::now() < s->until) {
        s->peak_kb = std::max(s->peak_kb, status_kb("RssAnon"));
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<void> memory(settings s, std::ostream* out) {
    auto ex = co_await asio::this_coro::executor;
    const std::string origin = "http://127.0.0.1:" + std::to_string(s.port);
    const std::string url = origin + "/?delay_ms=" + std::to_string(s.memory_delay_ms);
    {
        // Code paths, the allocator's first arenas, the resolver-free connect
        // path: paid once per process, not per request.
        http::client warm{ex};
        muster::options one;
        auto batch = gather_gets(warm, origin + "/", 1, one, s.body_bytes);
        co_await std::move(batch);
        auto resetting = server_max_waiting(warm, origin);
        co_await std::move(resetting);
    }
    http::options ho;
    ho.max_connections_per_origin = s.requests;
    http::client c{ex, ho};

    const long before_kb = status_kb("RssAnon");
    const long rss_before_kb = status_kb("VmRSS");
    auto sampler = std::make_shared<rss_sampler>();
    sampler->until = steady::now() + std::chrono::milliseconds(s.memory_delay_ms * 9 / 10);
    sampler->peak_kb = before_kb;
    asio::co_spawn(ex, sample(sampler), asio::detached);
    muster::options unlimited;
    auto batch = gather_gets(c, url, s.requests, unlimited, s.body_bytes);
    const batch_time t = co_await std::move(batch);

    http::client probe{ex};
    auto asking = server_max_waiting(probe, origin);
    const long max_waiting = co_await std::move(asking);
    const double per_request = static_cast<double>(sampler->peak_kb - before_kb) * 1024.0 /
                               static_cast<double>(s.requests);
    *out << "{\"client\":\"muster::http\",\"memory\":{\"requests\":" << s.requests
         << ",\"delay_ms\":" << s.memory_delay_ms << ",\"rss_anon_before_kb\":" << before_kb
         << ",\"rss_anon_peak_kb\":" << sampler->peak_kb << ",\"rss_before_kb\":" << rss_before_kb
         << ",\"bytes_per_request\":" << per_request << ",\"server_max_waiting\":" << max_waiting
         << ",\"batch_ms\":" << t.wall_ms << "}}\n";
}

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "http_client_bench: " << why
              << "\nusage: http_client_bench --port P [--mode timed|memory] [--requests N] "
                 "[--runs R] [--body-bytes B] [--memory-delay-ms D]\n";
    std::exit(2);
}

settings parse_args(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) usage(arg + " needs a value");
        const std::string value = argv[++i];
        const long number = std::strtol(value.c_str(), nullptr, 10);
        if (arg == "--mode") {
            if (value != "timed" && value != "memory") usage("--mode is timed or memory");
            s.mode = value;
        } else if (arg == "--port" && number > 0 && number < 65536) {
            s.port = static_cast<unsigned short>(number);
        } else if (arg == "--requests" && number > 0) {
            s.requests = static_cast<std::size_t>(number);
        } else if (arg == "--runs" && number > 0) {
            s.runs = static_cast<unsigned>(number);
        } else if (arg == "--body-bytes" && number >= 0) {
            s.body_bytes = static_cast<std::size_t>(number);
        } else if (arg == "--memory-delay-ms" && number > 0) {
            s.memory_delay_ms = number;
        } else {
            usage("bad option " + arg + " " + value);
        }
    }
    if (s.port == 0) usage("--port is required");
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const settings s = parse_args(argc, argv);
    asio::io_context io(1);
    std::exception_ptr failure;
    auto body = s.mode == "memory" ? memory(s, &std::cout) : timed(s, &std::cout);
    asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::cerr << "http_client_bench: " << e.what() << '\n';
        }
        return 1;
    }
    return 0;
}
