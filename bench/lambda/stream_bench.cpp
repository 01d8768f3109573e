// Time to first byte and per-chunk overhead of a streamed response against
// a buffered response of the same results, as the caller of muster's
// emulator sees them (what `muster invoke` and `muster serve` pass on).
//
// The function (stream_function.cpp) runs the same tasks and produces the
// same NDJSON lines both ways; one emulator runs it streamed, another
// buffered, and invocations alternate between them so background load falls
// on both alike. Two workloads:
//   staggered  8 tasks finishing 10, 20, ... 80 ms after the start: time to
//              the first byte (the first result, or the whole response) and
//              to the last;
//   many       N tasks that finish at once: the whole response. Streamed
//              minus buffered, divided by N, is what streaming costs per
//              line; with `each` (every line a chunk of its own), the cost
//              of one chunk.
//
// With `--ric INDEX_MJS DIR`, AWS's Node client (aws-lambda-ric) runs the
// same workloads from DIR/index.mjs (`streamed`, `buffered`) in the same
// alternation. Node's buffered handler returns a JSON string (its text in
// quotes, newlines escaped), so its byte count differs a little.
//
// Usage: stream_bench FUNCTION [--invocations K] [--many N] [--ric INDEX_MJS DIR]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/emulator/emulator.hpp>

namespace {

namespace asio = boost::asio;
namespace emu = muster::emulator;
using steady = std::chrono::steady_clock;

struct sample {
    double first_ms = 0;
    double total_ms = 0;
    std::size_t bytes = 0;
};

double ms_since(steady::time_point t0, steady::time_point t) {
    return std::chrono::duration<double, std::milli>(t - t0).count();
}

asio::awaitable<sample> invoke_once(emu::emulator& function, std::string payload) {
    sample s;
    const auto t0 = steady::now();
    std::optional<steady::time_point> first;
    emu::invoke_request request;
    request.payload = std::move(payload);
    request.on_stream_chunk = [&](std::string_view chunk) {
        if (!first) first = steady::now();
        s.bytes += chunk.size();
    };
    emu::invoke_result r = co_await function.invoke(std::move(request));
    const auto end = steady::now();
    if (!r.ok()) {
        std::fprintf(stderr, "stream_bench: invocation failed: %s\n", r.payload.c_str());
        std::exit(1);
    }
    if (!r.streamed) s.bytes = r.payload.size();
    s.first_ms = ms_since(t0, first.value_or(end));
    s.total_ms = ms_since(t0, end);
    co_return s;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

emu::function_config config(std::vector<std::string> command, const std::string& handler,
                            int null_fd) {
    emu::function_config c;
    c.command = std::move(command);
    c.handler = handler;
    c.timeout = std::chrono::seconds(30);
    c.freeze = false;  // the same for both; left out of what is measured
    c.environment = {{"MUSTER_METRICS", "off"}, {"AWS_LAMBDA_LOG_LEVEL", "ERROR"}};
    c.function_output_fd = null_fd;
    c.platform_log = [](std::string_view) {};
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: stream_bench FUNCTION [--invocations K] [--many N] "
                     "[--ric INDEX_MJS DIR]\n");
        return 2;
    }
    const std::string function = argv[1];
    int invocations = 200;
    int many = 1000;
    std::string ric;
    std::string ric_dir;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string_view a = argv[i];
        if (a == "--invocations") invocations = std::atoi(argv[i + 1]);
        if (a == "--many") many = std::atoi(argv[i + 1]);
        if (a == "--ric" && i + 2 < argc) {
            ric = argv[i + 1];
            ric_dir = argv[i + 2];
            ++i;
        }
    }
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);

    std::string staggered = R"({"ms":[80,70,60,50,40,30,20,10]})";
    std::string all_at_once = R"({"ms":[)";
    for (int i = 0; i < many; ++i) all_at_once += i ? ",0" : "0";
    all_at_once += "]}";

    asio::io_context io;
    struct contender {
        std::string name;
        std::string response;
        std::unique_ptr<emu::emulator> function;
        std::vector<double> stag_first, stag_total, many_total;
        std::size_t stag_bytes = 0, many_bytes = 0;
    };
    std::vector<contender> all;
    const auto add = [&](std::string name, std::string response, std::vector<std::string> command,
                         const std::string& handler, const std::string& dir) {
        auto c = config(std::move(command), handler, null_fd);
        if (!dir.empty()) c.task_root = dir;
        contender x;
        x.name = std::move(name);
        x.response = std::move(response);
        x.function = std::make_unique<emu::emulator>(io.get_executor(), std::move(c));
        all.push_back(std::move(x));
    };
    add("muster", "streamed", {function}, "streamed", "");
    add("muster", "buffered", {function}, "buffered", "");
    add("muster", "streamed, a chunk per line", {function}, "each", "");
    if (!ric.empty()) {
        add("aws-lambda-ric (Node 20)", "streamed", {"node", ric, "index.streamed"},
            "index.streamed", ric_dir);
        add("aws-lambda-ric (Node 20)", "buffered", {"node", ric, "index.buffered"},
            "index.buffered", ric_dir);
    }

    auto run = [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 20; ++i) {  // warm every process
            for (auto& c : all) co_await invoke_once(*c.function, all_at_once);
        }
        for (int i = 0; i < invocations; ++i) {
            for (auto& c : all) {
                const sample x = co_await invoke_once(*c.function, staggered);
                c.stag_first.push_back(x.first_ms);
                c.stag_total.push_back(x.total_ms);
                c.stag_bytes = x.bytes;
                const sample y = co_await invoke_once(*c.function, all_at_once);
                c.many_total.push_back(y.total_ms);
                c.many_bytes = y.bytes;
            }
        }
        for (auto& c : all) co_await c.function->shutdown();
    };
    asio::co_spawn(io, run(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    io.run();

    std::printf("invocations per series: %d (alternating), tasks in 'many': %d\n\n", invocations,
                many);
    std::printf(
        "| runtime | response | staggered: first byte ms | staggered: last byte ms | many: "
        "whole response ms | many: bytes |\n");
    std::printf("|---|---|---:|---:|---:|---:|\n");
    for (const auto& c : all) {
        std::printf("| %s | %s | %.2f | %.2f | %.2f | %zu |\n", c.name.c_str(), c.response.c_str(),
                    median(c.stag_first), median(c.stag_total), median(c.many_total), c.many_bytes);
    }
    const auto find = [&all](std::string_view name, std::string_view response) {
        for (const auto& c : all)
            if (c.name == name && c.response == response) return median(c.many_total);
        return 0.0;
    };
    std::printf("\nper line in 'many' (streamed minus buffered, divided by %d):\n", many);
    for (const auto& c : all) {
        if (c.response == "buffered") continue;
        std::printf("  %s, %s: %.2f us\n", c.name.c_str(), c.response.c_str(),
                    (median(c.many_total) - find(c.name, "buffered")) * 1000.0 / many);
    }
    return 0;
}
