// A Lambda function built on muster's runtime, for the runtime's tests.
// `_HANDLER` picks the behaviour; MUSTER_TEST_INIT_FAIL=1 makes init throw.
#include <muster/lambda.hpp>
#include <muster/testing/manual_clock.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <filesystem>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace lambda = muster::lambda;
using lambda::invocation;
using lambda::response;
using muster::clock;

asio::awaitable<void> sleep_for(std::chrono::milliseconds ms) {
    asio::steady_timer t(co_await asio::this_coro::executor, ms);
    co_await t.async_wait(asio::use_awaitable);
}

std::int64_t field(const json::value& v, const char* name, std::int64_t fallback) {
    if (const auto* o = v.if_object())
        if (const auto* f = o->if_contains(name))
            if (f->is_int64()) return f->as_int64();
    return fallback;
}

void say(const std::string& line) {
    const std::string l = line + "\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, l.data(), l.size());
}

asio::awaitable<response> info(invocation& inv) {
    json::object o;
    o["request_id"] = inv.request_id();
    o["function_arn"] = inv.function_arn();
    o["trace_id"] = inv.trace_id();
    o["client_context"] = inv.client_context();
    o["cognito_identity"] = inv.cognito_identity();
    o["tenant_id"] = inv.tenant_id();
    o["payload"] = inv.payload();
    const char* trace = std::getenv("_X_AMZN_TRACE_ID");
    o["env_trace_id"] = trace ? json::value(trace) : json::value(nullptr);
    const std::string scope_trace = co_await muster::current_trace_id();
    o["scope_trace_id"] = scope_trace;
    o["has_deadline"] = inv.has_deadline();
    if (inv.has_deadline()) {
        o["remaining_ms"] =
            std::chrono::duration_cast<std::chrono::milliseconds>(inv.remaining()).count();
        const auto scope_left = co_await muster::remaining();
        o["scope_remaining_ms"] =
            std::chrono::duration_cast<std::chrono::milliseconds>(scope_left).count();
    }
    if (inv.platform_deadline()) {
        const auto platform_left = *inv.platform_deadline() - std::chrono::system_clock::now();
        o["platform_remaining_ms"] =
            std::chrono::duration_cast<std::chrono::milliseconds>(platform_left).count();
    }
    co_return response::json(o);
}

asio::awaitable<int> nap(std::chrono::milliseconds ms, int v) {
    co_await sleep_for(ms);
    co_return v;
}

/// Gathers `n` tasks of `task_ms` each and reports how they ended.
asio::awaitable<json::value> fanout(const json::value& event) {
    const auto n = field(event, "n", 100);
    const auto task_ms = std::chrono::milliseconds(field(event, "task_ms", 10000));
    const auto started = clock::now();
    std::vector<asio::awaitable<int>> tasks;
    for (std::int64_t i = 0; i < n; ++i) tasks.push_back(nap(task_ms, static_cast<int>(i)));
    muster::options o;
    o.limit = static_cast<std::size_t>(field(event, "limit", 1000));
    auto results = co_await muster::gather(std::move(tasks), o);
    json::object counts;
    for (auto s : {muster::status::ok, muster::status::failed, muster::status::timed_out,
                   muster::status::cancelled, muster::status::not_started}) {
        counts[muster::to_string(s)] = results.count(s);
    }
    co_return json::object{
        {"counts", counts},
        {"elapsed_ms",
         std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started).count()}};
}

/// Runs `tasks` tasks of `ms` each and says whether every task saw this
/// invocation's deadline.
asio::awaitable<response> concurrent(invocation& inv) {
    const json::value event = json::parse(inv.payload());
    const auto k = field(event, "tasks", 1);
    const auto ms = std::chrono::milliseconds(field(event, "ms", 100));
    std::vector<asio::awaitable<bool>> tasks;
    const auto expected = inv.deadline();
    for (std::int64_t i = 0; i < k; ++i) {
        tasks.push_back(
            [](std::chrono::milliseconds ms, clock::time_point expected) -> asio::awaitable<bool> {
                co_await sleep_for(ms);
                co_return co_await muster::current_deadline() == expected;
            }(ms, expected));
    }
    auto results = co_await muster::gather(std::move(tasks), muster::options{});
    bool all = true;
    for (auto& r : results) all = all && r.ok() && r.value();
    co_return response::json(json::object{{"request_id", inv.request_id()},
                                          {"tasks", results.count(muster::status::ok)},
                                          {"deadline_matches", all}});
}

asio::awaitable<int> part(std::chrono::milliseconds ms) {
    co_await sleep_for(ms);
    co_return 1;
}

/// One record of the traced handler: 0-2 succeed, 3 always fails, 4 runs
/// past its task timeout, 5 runs a nested collection.
asio::awaitable<int> record(std::size_t i) {
    if (i < 3) {
        co_await muster::name_task("record " + std::to_string(i) + " http://images.example.com/" +
                                   std::to_string(i) + ".jpg");
        co_await sleep_for(std::chrono::milliseconds(20));
        co_return static_cast<int>(i);
    }
    if (i == 3) {
        co_await sleep_for(std::chrono::milliseconds(5));
        throw std::runtime_error("HTTP 503 from images.example.com");
    }
    if (i == 4) {
        co_await sleep_for(std::chrono::seconds(10));
        co_return 4;
    }
    muster::options o;
    o.name = "parts";
    std::vector<asio::awaitable<int>> parts;
    parts.push_back(part(std::chrono::milliseconds(5)));
    parts.push_back(part(std::chrono::milliseconds(10)));
    auto r = co_await muster::gather(std::move(parts), o);
    co_return static_cast<int>(r.count(muster::status::ok));
}

/// Collections whose tasks end every way there is, for MUSTER_TRACE; its
/// after_response work is a collection too.
asio::awaitable<response> traced(invocation& inv) {
    muster::options o;
    o.name = "records";
    o.limit = 3;
    o.task_timeout = std::chrono::milliseconds(100);
    o.retry.attempts = 2;
    o.retry.initial_backoff = std::chrono::milliseconds(1);
    auto records = co_await muster::gather(
        std::views::iota(std::size_t{0}, std::size_t{6}) | std::views::transform(record), o);

    muster::options late;
    late.name = "late";
    late.limit = 1;
    late.deadline = clock::now() + std::chrono::milliseconds(30);
    std::vector<asio::awaitable<void>> slow;
    slow.push_back(sleep_for(std::chrono::seconds(1)));
    slow.push_back(sleep_for(std::chrono::seconds(1)));
    auto stopped = co_await muster::gather(std::move(slow), late);

    const auto after_ms = field(json::parse(inv.payload()), "after_ms", 300);
    inv.after_response([after_ms]() -> asio::awaitable<void> {
        muster::options c;
        c.name = "cleanup";
        std::vector<asio::awaitable<void>> flush;
        flush.push_back(sleep_for(std::chrono::milliseconds(after_ms)));
        co_await muster::gather(std::move(flush), c);
    });
    co_return response::json(
        json::object{{"ok", records.count(muster::status::ok)},
                     {"not_started", stopped.count(muster::status::not_started)}});
}

lambda::handler_function pick(const std::string& name) {
    if (name == "info") return info;
    if (name == "concurrent") return concurrent;
    if (name == "traced") return traced;
    if (name == "throw") {
        return [](invocation& inv) -> asio::awaitable<response> {
            throw std::runtime_error("it broke: " + inv.payload());
            co_return response{};
        };
    }
    if (name == "function_error") {
        return [](invocation&) -> asio::awaitable<response> {
            throw lambda::function_error("ImageTooLarge", "42 MB is over the limit");
            co_return response{};
        };
    }
    if (name == "leak_timer") {
        return [](invocation&) -> asio::awaitable<response> {
            auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                              std::chrono::milliseconds(100));
            timer->async_wait([timer](boost::system::error_code) { say("LEAKED TIMER FIRED"); });
            co_return response::json(json::object{{"ok", true}});
        };
    }
    if (name == "sleep") {
        return [](invocation& inv) -> asio::awaitable<response> {
            const auto ms = field(json::parse(inv.payload()), "ms", 100);
            co_await sleep_for(std::chrono::milliseconds(ms));
            co_return response::json(json::object{{"slept", ms}});
        };
    }
    if (name == "after_response") {
        return [](invocation& inv) -> asio::awaitable<response> {
            inv.after_response([]() -> asio::awaitable<void> {
                co_await sleep_for(std::chrono::milliseconds(200));
                say("AFTER RESPONSE RAN");
            });
            inv.after_response([] { throw std::runtime_error("flush failed"); });
            co_return response::json(json::object{{"ok", true}});
        };
    }
    if (name == "big") {
        return [](invocation& inv) -> asio::awaitable<response> {
            const auto bytes = field(json::parse(inv.payload()), "bytes", 7 * 1024 * 1024);
            co_return response::text(std::string(static_cast<std::size_t>(bytes), 'x'));
        };
    }
    if (name == "log") {
        return [](invocation& inv) -> asio::awaitable<response> {
            inv.log().debug("a debug line");
            inv.log().info("an info line");
            inv.log().warn("a warn line");
            inv.log().error("an error line");
            co_return response::text("logged");
        };
    }
    return nullptr;
}

/// A task of the streamed fan-out: sleeps `ms`, fails when `ms` is negative.
asio::awaitable<std::int64_t> streamed_task(std::int64_t ms) {
    co_await sleep_for(std::chrono::milliseconds(ms < 0 ? -ms : ms));
    if (ms < 0)
        throw lambda::function_error("TaskFailed", "task of " + std::to_string(-ms) + " ms");
    co_return ms;
}

lambda::streaming_handler_function pick_streaming(const std::string& name) {
    using lambda::response_stream;
    if (name == "stream_gate") {
        // Writes "first", waits until the file named by the event's "gate"
        // exists (the caller creates it once it has "first"), writes "second".
        return [](invocation& inv, response_stream& out) -> asio::awaitable<void> {
            const std::string gate(json::parse(inv.payload()).at("gate").as_string());
            out.set_content_type("text/plain");
            co_await out.write("first\n");
            while (!std::filesystem::exists(gate)) co_await sleep_for(std::chrono::milliseconds(5));
            co_await out.write("second\n");
        };
    }
    if (name == "stream_fail") {
        return [](invocation&, response_stream& out) -> asio::awaitable<void> {
            co_await out.write("partial\n");
            throw lambda::function_error("StreamBroke", "the stream broke on purpose");
        };
    }
    if (name == "stream_fail_early") {
        return [](invocation&, response_stream&) -> asio::awaitable<void> {
            throw lambda::function_error("NothingWritten", "failed before the first byte");
            co_return;
        };
    }
    if (name == "stream_empty") {
        return [](invocation&, response_stream&) -> asio::awaitable<void> { co_return; };
    }
    if (name == "stream_prelude") {
        return [](invocation&, response_stream& out) -> asio::awaitable<void> {
            lambda::http_response_prelude prelude(
                201, {{"content-type", "text/plain"}, {"x-tag", "a"}, {"x-tag", "b"}}, {"a=b"});
            co_await out.write_prelude(std::move(prelude));
            co_await out.write("abc");
        };
    }
    if (name == "stream_fanout") {
        // {"ms": [task durations, negative to fail], "limit": n}
        return [](invocation& inv, response_stream& out) -> asio::awaitable<void> {
            const json::value event = json::parse(inv.payload());
            std::vector<std::int64_t> ms;
            for (const auto& v : event.at("ms").as_array()) ms.push_back(v.as_int64());
            muster::options o;
            o.limit = static_cast<std::size_t>(field(event, "limit", 100));
            auto tasks = ms | std::views::transform(streamed_task);
            const auto summary = co_await lambda::stream_as_completed(out, tasks, o);
            say("STREAMED " + std::to_string(summary.total) + " TASKS");
        };
    }
    return nullptr;
}

}  // namespace

int main() {
    const char* handler = std::getenv("_HANDLER");
    const std::string name = handler ? handler : "";
    lambda::run_options options;
    // The runtime on a manual clock: its backoff takes no real time.
    static muster::testing::manual_clock manual;
    if (const char* m = std::getenv("MUSTER_TEST_MANUAL_CLOCK"); m && std::string(m) == "1") {
        options.time = &manual;
    }
    if (const char* fail = std::getenv("MUSTER_TEST_INIT_FAIL"); fail && std::string(fail) == "1") {
        options.init = []() -> asio::awaitable<void> {
            throw std::runtime_error("the configuration bucket is missing");
            co_return;
        };
    }
    if (name == "echo") {
        return lambda::run(
            [](const json::value& event) -> asio::awaitable<json::value> {
                co_return json::object{{"echo", event}};
            },
            options);
    }
    if (name == "fanout") return lambda::run(fanout, options);
    if (auto streaming = pick_streaming(name)) return lambda::run(std::move(streaming), options);
    return lambda::run(pick(name), options);
}
