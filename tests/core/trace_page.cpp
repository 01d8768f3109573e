// Writes the trace of a small invocation whose tasks end every way there is
// (ok, failed, timed_out, cancelled, not_started, nested collections,
// labels) as <dir>/page.trace.json and <dir>/page.html, for the browser test
// (trace_page_test.py). Timings are real timers, chosen so every bar is a
// good part of the timeline's width; every status comes from a timeout or a
// policy counted from a task's own admission, never from a race with a
// deadline, so a loaded machine stretches the page but never changes it.
#include <muster/core/trace.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <muster/core/gather.hpp>
#include <muster/core/options.hpp>
#include <muster/core/scope.hpp>
#include <muster/core/trace_html.hpp>
#include <muster/core/trace_json.hpp>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using muster::clock;

asio::awaitable<void> sleep(clock::duration d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

asio::awaitable<int> image(int i, std::string label, clock::duration d, bool fail) {
    co_await muster::name_task(std::move(label));
    co_await sleep(d);
    if (fail) throw std::runtime_error("image " + std::to_string(i) + ": HTTP 503 <retry later>");
    co_return i;
}

/// Runs two parts under fail_fast: one fails, the other is cancelled.
asio::awaitable<int> parts() {
    co_await muster::name_task("image 4 with parts");
    muster::options o;
    o.name = "parts";
    o.policy = muster::policy::fail_fast;
    std::vector<asio::awaitable<int>> tasks;
    tasks.push_back(image(40, "part a (fails)", 60ms, true));
    tasks.push_back(image(41, "part b (cancelled)", 10s, false));
    auto r = co_await muster::gather(std::move(tasks), o);
    co_return static_cast<int>(r.size());
}

asio::awaitable<void> invocation() {
    muster::options o;
    o.name = "images";
    o.limit = 4;
    o.task_timeout = 150ms;
    std::vector<asio::awaitable<int>> images;
    images.push_back(image(0, "image 0 \"a.jpg\" ok", 120ms, false));
    images.push_back(image(1, "image 1 <b.jpg> ok", 90ms, false));
    images.push_back(image(2, "image 2 fails", 60ms, true));
    images.push_back(image(3, "image 3 times out", 10s, false));
    images.push_back(parts());
    co_await muster::gather(std::move(images), o);

    // The first times out, which stops the collection: the second waited
    // all that time and never starts.
    muster::options late;
    late.name = "late";
    late.limit = 1;
    late.task_timeout = 100ms;
    late.policy = muster::policy::fail_fast;
    std::vector<asio::awaitable<int>> slow;
    slow.push_back(image(5, "late 5 times out", 10s, false));
    slow.push_back(
        image(6, "never shown: a task that never starts never names itself", 10s, false));
    co_await muster::gather(std::move(slow), late);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: trace_page <output-directory>\n");
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    auto rec = std::make_shared<muster::trace::recorder>("trace page test");
    rec->set_attribute("request_id", "page-1");
    {
        asio::io_context io;
        muster::root_scope scope(clock::time_point::max(), {}, rec);
        asio::co_spawn(scope.executor(io.get_executor()), invocation(), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
        io.run();
    }
    rec->mark("response posted");
    std::ofstream json(dir / "page.trace.json", std::ios::binary);
    muster::trace::write_chrome_json(*rec, json);
    std::ofstream html(dir / "page.html", std::ios::binary);
    muster::trace::write_html(*rec, html);
    json.close();
    html.close();
    if (!json || !html) {
        std::fprintf(stderr, "trace_page: cannot write into %s\n", argv[1]);
        return 1;
    }
    return 0;
}
