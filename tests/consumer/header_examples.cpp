// Every @code example of muster's public headers, compiled against the
// installed package with the compiler users build with (GCC 12 in the
// release preset). The examples are fragments; each sits in a function of
// its own namespace, after the declarations of the names it assumes (the
// user's functions, an SDK, a handler). The text between them is the
// header's, line for line: scripts/check-header-examples.py (ctest
// `docs.header_examples`) fails when a header's example is not found here,
// so an example that stops compiling, or is edited without being compiled,
// fails the tests. The release build also compiles it with GCC and
// AddressSanitizer (consumer.header_examples_gcc_asan), where a temporary
// destroyed twice inside a co_await fails. main() is process_pool.hpp's
// example, which both tests run (two tasks through worker processes; it
// prints "a!"); the others are built and linked, not run: they talk to
// AWS, real URLs and the Lambda Runtime API.
#include <muster/aws.hpp>
#include <muster/emulator/emulator.hpp>
#include <muster/http.hpp>
#include <muster/lambda.hpp>
#include <muster/muster.hpp>
#include <muster/process_pool.hpp>
#include <muster/testing/manual_clock.hpp>

#include <cassert>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

using namespace std::chrono_literals;
using boost::asio::awaitable;
using boost::asio::co_spawn;
using boost::asio::use_awaitable;
namespace user {
// What the examples assume the user has written.
void log(const std::string&) {}
template <class... A>
void log(const A&...) {}
void report_leak() {}
void use(int) {}
void render(int, int) {}
awaitable<int> load_user(int) { co_return 1; }
awaitable<int> load_orders(int) { co_return 2; }
awaitable<std::string> fetch(const std::string& url) { co_return url; }
awaitable<int> run(int job) { co_return job; }
awaitable<void> handler() { co_return; }
awaitable<void> import_all() { co_return; }
std::string cached_answer() { return {}; }
void warm_caches() {}
int count_primes(int) { return 0; }
struct image {};
std::vector<std::uint8_t> decode_png(const std::string&) { return {}; }
image resize(const image&, int, std::stop_token) { return {}; }
awaitable<image> download(std::string) { co_return image{}; }
void handle(const std::string&) {}
void handle(const std::string&, const std::string&) {}
void store(const std::string&) {}
void index(const boost::json::object&) {}
void ingest(const std::string&, const std::string&) {}
awaitable<void> resize(const std::string&, const std::string&) { co_return; }
awaitable<void> handle_message(const muster::lambda::sqs_message&) { co_return; }
awaitable<void> store_message(const muster::lambda::sqs_message&) { co_return; }
}  // namespace user

// The examples keep the headers' layout, which the check compares line by
// line; clang-format would reflow them.
// clang-format off

namespace scope_hpp {
using muster::clock;
using namespace user;
void root_scope(boost::asio::io_context& io) {
    auto on_done = [](std::exception_ptr) {};
    muster::root_scope scope(clock::now() + 3s);
    co_spawn(scope.executor(io.get_executor()), handler(), on_done);
    // ... once the handler is done:
    if (scope.ledger().pending_work() > 0) report_leak();
    scope.ledger().close();
}
struct deadline_socket {
    void expires_at(clock::time_point) {}
};
awaitable<void> deadline_of(deadline_socket& socket) {
    auto ex = co_await boost::asio::this_coro::executor;
    auto until = std::min(muster::deadline_of(ex), clock::now() + 5s);
    socket.expires_at(until);
}
awaitable<void> trace_id_of(muster::http::request& req) {
    auto ex = co_await boost::asio::this_coro::executor;
    if (auto id = muster::trace_id_of(ex); !id.empty())
        req.headers.set("X-Amzn-Trace-Id", std::string(id));
}
struct pool {
    explicit pool(boost::asio::any_io_executor) {}
};
struct service {
    std::shared_ptr<pool> pool_;
    awaitable<void> start() {
        auto ex = co_await boost::asio::this_coro::executor;
        pool_ = std::make_shared<pool>(muster::without_scope(ex));
    }
};
awaitable<std::string> remaining() {
    if (co_await muster::remaining() < 200ms) co_return cached_answer();
    co_return "fresh";
}
}  // namespace scope_hpp

namespace ledger_hpp {
void operator_plus_equals(const muster::root_scope& handler_scope,
                          const muster::root_scope& after_scope) {
    muster::task_stats all = handler_scope.ledger().stats();
    all += after_scope.ledger().stats();
}
}  // namespace ledger_hpp

namespace trace_hpp {
using muster::clock;
using namespace user;
awaitable<void> recorder(boost::asio::io_context& io, clock::time_point deadline) {
    auto rec = std::make_shared<muster::trace::recorder>("nightly import");
    muster::root_scope scope(deadline, {}, rec);
    co_await co_spawn(scope.executor(io.get_executor()), import_all(), use_awaitable);
    std::ofstream html("import.html");
    muster::trace::write_html(*rec, html);
}
awaitable<image> fetch(std::size_t i, std::string url) {
    auto naming = muster::name_task("record " + std::to_string(i) + " " + url);
    co_await std::move(naming);  // named first: GCC 12 and co_await temporaries
    auto downloading = download(url);
    co_return co_await std::move(downloading);
}
}  // namespace trace_hpp

namespace offload_hpp {
using namespace user;
void default_cpu_count() {
    std::printf("offloading to %u threads\n", muster::default_cpu_count());
}
void cpu_pool() {
    boost::asio::post(muster::cpu_pool(), [] { warm_caches(); });
}
awaitable<void> offload_to(std::string bytes) {
    boost::asio::thread_pool decoders(4);
    auto decode = [bytes = std::move(bytes)] { return decode_png(bytes); };
    // Named first: GCC 12 may destroy a capturing lambda twice when it is
    // written inside the co_await expression (see the README).
    auto pixels = co_await muster::offload(decoders.get_executor(), std::move(decode));
    (void)pixels;
}
awaitable<void> offload_pool() {
    boost::asio::thread_pool pool(2);
    int n = co_await muster::offload(pool, [] { return count_primes(1'000'000); });
    (void)n;
}
awaitable<void> offload_stop(image img) {
    auto job = [img = std::move(img)](std::stop_token st) {
        return resize(img, 256, st);  // checks st.stop_requested() between rows
    };
    auto thumb = co_await muster::offload(std::move(job));
    (void)thumb;
}
}  // namespace offload_hpp

namespace outcome_hpp {
using namespace user;
awaitable<void> outcomes(std::vector<awaitable<int>> tasks, muster::options o) {
    auto r = co_await muster::gather(tasks, o);
    for (auto& o : r)
        if (o.ok()) use(o.value());
        else log(o.status(), o.message());
}
muster::outcome<int> with_error() {
    auto o = muster::outcome<int>::with_error(
        muster::status::not_started,
        std::make_exception_ptr(muster::not_started_error("skipped: duplicate")));
    return o;
}
}  // namespace outcome_hpp

namespace as_completed_hpp {
using namespace user;
awaitable<void> as_completed(std::vector<image> images, muster::options o) {
    auto resize = [](image) -> awaitable<image> { co_return image{}; };
    auto report = [](std::size_t, const muster::outcome<image>&) {};
    auto s = muster::as_completed(images | std::views::transform(resize), o);
    while (auto d = co_await s.next())
        report(d->index, d->result);
}
}  // namespace as_completed_hpp

namespace from_callback_hpp {
using namespace user;
awaitable<void> dropped() {
    try {
        co_await muster::from_callback<int>([](muster::completion<int>) { /* forgot it */ });
    } catch (const muster::callback_dropped_error& e) {
        log(e.what());  // "muster::from_callback: the callback was dropped without being called"
    }
}
namespace sdk {
struct result {
    bool ok() const { return true; }
    std::string body() const { return {}; }
    std::string message() const { return {}; }
};
struct client {
    void get_async(const std::string&, std::function<void(const result&)>) {}
};
}  // namespace sdk
struct sdk_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
awaitable<void> from_callback(sdk::client& sdk, std::string key) {
    co_await muster::from_callback<std::string>([&](muster::completion<std::string> c) {
        sdk.get_async(key, [c](const sdk::result& r) {
            if (r.ok()) return c.set_value(r.body());
            auto error = std::make_exception_ptr(sdk_error(r.message()));
            return c.set_exception(std::move(error));
        });
    });
}
}  // namespace from_callback_hpp

namespace Aws::S3 {
namespace Model {
struct GetObjectRequest {};
struct GetObjectOutcome {};
}  // namespace Model
struct S3Client {
    template <class F>
    void GetObjectAsync(const Model::GetObjectRequest&, F&&) const {}
};
}  // namespace Aws::S3

namespace from_callback_hpp {
awaitable<void> aws_sdk(const Aws::S3::S3Client& s3, Aws::S3::Model::GetObjectRequest request) {
    auto object = co_await muster::from_callback<Aws::S3::Model::GetObjectOutcome>(
        [&](muster::completion<Aws::S3::Model::GetObjectOutcome> c) {
            s3.GetObjectAsync(request, [c](auto&&, auto&&, auto outcome, auto&&) {
                c.set_value(std::move(outcome));
            });
        });
    (void)object;
}
}  // namespace from_callback_hpp

namespace gather_hpp {
using namespace user;
awaitable<void> gather_range(std::vector<std::string> urls) {
    muster::options o;
    o.limit = 50;
    o.task_timeout = 2s;
    auto r = co_await muster::gather(urls | std::views::transform(fetch), o);
    for (std::size_t i = 0; i < r.size(); ++i)
        if (!r[i].ok()) log(urls[i], r[i].status(), r[i].message());
}
awaitable<void> gather_variadic(int id) {
    auto [user, orders] = co_await muster::gather(load_user(id), load_orders(id));
    if (user.ok() && orders.ok()) render(user.value(), orders.value());
}
}  // namespace gather_hpp

namespace group_hpp {
using namespace user;
awaitable<void> with_group(std::vector<int> jobs, muster::options o) {
    auto r = co_await muster::with_group<int>(o, [&](muster::group<int>& g) -> awaitable<void> {
        for (auto& job : jobs) co_await g.spawn(run(job));   // waits when `limit` are in flight
        while (auto d = co_await g.next()) log(d->index, d->result.status());
    });
    (void)r;
}
}  // namespace group_hpp

namespace retry_hpp {
void retry_delay_bound(const muster::retry_policy& policy) {
    // initial 100 ms, multiplier 2, max 10 s: 100 ms, 200 ms, 400 ms, ... 10 s
    auto bound = muster::retry_delay_bound(policy, 3);  // 400 ms
    (void)bound;
}
}  // namespace retry_hpp

namespace errors_hpp {
using namespace user;
void retry_if_error(const muster::results<int>& r, std::size_t i) {
    try {
        std::rethrow_exception(r[i].error());
    } catch (const muster::retry_if_error& e) {
        log(e.what());  // "retry_if threw (...) deciding on: <the task's error>"
    }
}
}  // namespace errors_hpp

namespace sleep_hpp {
using muster::clock;
awaitable<void> sleep_until() {
    co_await muster::sleep_until(*co_await muster::current_deadline() - 50ms);
}
awaitable<void> sleep_for(clock::duration backoff) {
    co_await muster::sleep_for(backoff);
}
}  // namespace sleep_hpp

namespace manual_clock_hpp {
void manual_clock(std::vector<awaitable<int>>& tasks) {
    boost::asio::io_context io;
    muster::testing::manual_clock clock;
    muster::root_scope scope(clock.now() + 100ms, {}, nullptr, &clock);
    muster::results<int> r;
    co_spawn(scope.executor(io.get_executor()),
             [&]() -> boost::asio::awaitable<void> {
                 r = co_await muster::gather(tasks, {.task_timeout = 30ms});
             }, boost::asio::detached);
    clock.run(io);  // instant; a task still running at 30 ms is timed_out
}
}  // namespace manual_clock_hpp


namespace worker_main_if_requested {
int main(int argc, char** argv) {
    if (auto code = muster::process_pool::worker_main_if_requested(argc, argv))
        return *code;
    // ... the program proper
    return 0;
}
}  // namespace worker_main_if_requested

namespace work_hpp {
void register_work() {
    muster::register_work("upper", [](std::string_view in) {
        std::string out(in);
        for (char& c : out) c = static_cast<char>(std::toupper(c));
        return out;
    });
}
std::string make_thumbnail(std::string_view image);
const muster::work_registrar thumbnail_work{"thumbnail", make_thumbnail};
std::string make_thumbnail(std::string_view image) { return std::string(image); }
}  // namespace work_hpp

namespace s3_hpp {
awaitable<void> s3(std::string jpeg) {
    auto ex = co_await boost::asio::this_coro::executor;
    muster::http::client http{ex};
    muster::aws::s3 s3{http, muster::aws::config::from_env()};
    auto put = s3.put_object("photos", "a/b.jpg", std::move(jpeg));
    co_await std::move(put);
    auto get = s3.get_object("photos", "a/b.jpg");
    muster::aws::object obj = co_await std::move(get);
}
}  // namespace s3_hpp

namespace dynamodb_hpp {
namespace attr = muster::aws::attr;
awaitable<void> dynamodb(muster::http::client& http, const muster::aws::config& cfg) {
    muster::aws::dynamodb ddb{http, cfg};
    boost::json::object item{{"pk", attr::s("img-1")}, {"width", attr::n(640)}};
    auto put = ddb.put_item("images", std::move(item));
    co_await std::move(put);
}
}  // namespace dynamodb_hpp

namespace config_hpp {
void config() {
    auto cfg = muster::aws::config::from_env();
    cfg.retry.attempts = 5;
}
}  // namespace config_hpp

namespace attribute_hpp {
namespace attr = muster::aws::attr;
void attribute() {
    boost::json::object item{{"pk", attr::s("img-1")}, {"bytes", attr::n(20480)}};
    std::optional<std::int64_t> bytes = attr::get_int(item, "bytes");
    (void)bytes;
}
}  // namespace attribute_hpp

namespace sigv4_hpp {
awaitable<void> sign(muster::http::client& client, const muster::aws::config& cfg) {
    muster::aws::signing_params p;
    p.credentials = cfg.credentials;
    p.region = cfg.region;
    p.service = "sqs";
    muster::http::request r;
    r.method = "POST";
    r.url = "https://sqs.eu-west-1.amazonaws.com/";
    r.body = "Action=ListQueues";
    muster::aws::sign(r, p);   // last, after every header is set
    auto response = co_await client.request(std::move(r));
}
}  // namespace sigv4_hpp

namespace aws_hpp {
void aws(muster::http::client& http_client) {
    auto cfg = muster::aws::config::from_env();
    muster::aws::s3 s3{http_client, cfg};
    muster::aws::dynamodb ddb{http_client, cfg};
}
}  // namespace aws_hpp

namespace client_hpp {
awaitable<std::string> body_of(muster::http::client c, std::string url) {
    auto r = co_await c.get(std::move(url));
    if (!r.ok()) throw std::runtime_error("HTTP " + std::to_string(r.status));
    co_return std::move(r.body);
}
awaitable<void> gather_bodies(std::vector<std::string> urls, muster::options o) {
    // ... in a coroutine on the io_context:
    auto ex = co_await boost::asio::this_coro::executor;
    muster::http::client c{ex};
    auto fetch = [c](const std::string& url) { return body_of(c, url); };
    auto tasks = urls | std::views::transform(fetch);
    auto results = co_await muster::gather(tasks, o);
}
awaitable<void> sink(muster::http::client& c, muster::http::request req) {
    std::ofstream file("object.bin", std::ios::binary);
    auto sink = [&file](std::string_view piece) { file.write(piece.data(), piece.size()); };
    auto r = co_await c.request(std::move(req), sink);
}
}  // namespace client_hpp

namespace url_hpp {
void parse() {
    auto u = muster::http::url::parse("https://example.com/a?b=1");
    assert(u.host == "example.com" && u.port == 443 && u.target == "/a?b=1");
}
}  // namespace url_hpp

namespace request_hpp {
awaitable<void> request(muster::http::client& client) {
    muster::http::request r;
    r.method = "PUT";
    r.url = "http://127.0.0.1:9000/bucket/key";
    r.headers.set("Content-Type", "application/json");
    r.body = R"({"a":1})";
    auto resp = co_await client.request(std::move(r));
}
}  // namespace request_hpp

namespace redacted_hpp {
bool redacted() {
    return
    muster::http::redacted("https://b.s3.amazonaws.com/k?X-Amz-Expires=900&X-Amz-Signature=ab12")
        == "https://b.s3.amazonaws.com/k?X-Amz-Expires=900&X-Amz-Signature=REDACTED"
    ;
}
}  // namespace redacted_hpp

namespace http_hpp {
awaitable<void> get(boost::asio::any_io_executor executor) {
    muster::http::client c{executor};
    muster::http::response r = co_await c.get("https://example.com/");
}
}  // namespace http_hpp

namespace run_hpp {
int main() {
    return muster::lambda::run([](muster::lambda::invocation& inv)
                                   -> boost::asio::awaitable<muster::lambda::response> {
        co_return muster::lambda::response::text("hello " + inv.request_id());
    });
}
int streaming() {
    return muster::lambda::run([](muster::lambda::invocation& inv,
                                  muster::lambda::response_stream& out)
                                   -> boost::asio::awaitable<void> {
        out.set_content_type("application/x-ndjson");
        co_await out.write("{\"step\":1}\n");
        co_await out.write("{\"step\":2}\n");
    });
}
int json() {
    return muster::lambda::run([](const boost::json::value& event)
                                   -> boost::asio::awaitable<boost::json::value> {
        co_return boost::json::object{{"echo", event}};
    });
}
}  // namespace run_hpp

namespace stream_completed_hpp {
using namespace user;
awaitable<muster::lambda::stream_summary> stream(muster::lambda::response_stream& out,
                                                 std::vector<std::string> urls) {
    co_return co_await muster::lambda::stream_as_completed(
        out, urls | std::views::transform(fetch), {.limit = 16});
}
}  // namespace stream_completed_hpp

namespace response_hpp {
awaitable<muster::lambda::response> respond(bool json) {
    if (json)
        co_return muster::lambda::response::json({{"ok", true}});
    co_return muster::lambda::response{"plain text", "text/plain"};
}
}  // namespace response_hpp

namespace events {
using namespace user;
awaitable<void> s3(const boost::json::value& payload) {
    auto e = boost::json::value_to<muster::lambda::s3_event>(payload);
    for (const auto& r : e.records) co_await resize(r.bucket.name, r.object.decoded_key());
}
void sqs_fifo(const muster::lambda::sqs_event& event) {
    for (const auto& m : event.records)
        if (m.message_group_id()) log("FIFO group ", *m.message_group_id());
}
void sqs(const boost::json::value& payload) {
    auto event = boost::json::value_to<muster::lambda::sqs_event>(payload);
    for (const auto& m : event.records) handle(m.body);
}
void sns(const boost::json::value& payload) {
    auto e = boost::json::value_to<muster::lambda::sns_event>(payload);
    for (const auto& r : e.records) handle(r.sns.subject.value_or(""), r.sns.message);
}
void dynamodb_stream(const boost::json::value& payload) {
    auto e = boost::json::value_to<muster::lambda::dynamodb_stream_event>(payload);
    for (const auto& r : e.records)
        if (r.event_name == "INSERT") index(r.dynamodb.new_image.value());
}
void event_error(const boost::json::value& payload) {
    try {
        auto e = boost::json::value_to<muster::lambda::sqs_event>(payload);
    } catch (const muster::lambda::event_error& e) {
        log("bad event at ", e.path(), ": ", e.reason());
    }
}
void kinesis(const boost::json::value& payload) {
    auto e = boost::json::value_to<muster::lambda::kinesis_event>(payload);
    for (const auto& r : e.records) ingest(r.kinesis.partition_key, r.decoded_data());
}
void eventbridge(const boost::json::value& payload, boost::json::string& key) {
    auto e = boost::json::value_to<muster::lambda::eventbridge_event>(payload);
    if (e.detail_type == "Object Created")
        key = e.detail.at("object").at("key").as_string();
}
void base64() {
    assert(muster::lambda::base64_decode("aGVsbG8=") == "hello");
}
void http_api(const boost::json::value& payload) {
    auto req = boost::json::value_to<muster::lambda::http_api_request>(payload);
    if (req.request_context.http.method == "POST") store(req.decoded_body());
}
awaitable<boost::json::value> http_api_response() {
    muster::lambda::http_api_response res;
    res.status_code = 201;
    res.headers["content-type"] = "application/json";
    res.body = R"({"id":42})";
    co_return boost::json::value_from(res);
}
}  // namespace events

namespace response_stream_hpp {
awaitable<void> write(muster::lambda::response_stream& out) {
    co_await out.write("first line\n");
    co_await out.write("second line\n");
}
}  // namespace response_stream_hpp

namespace batch_hpp {
using namespace user;
awaitable<boost::json::value> process_batch(muster::lambda::invocation& inv,
                                            muster::lambda::sqs_event event) {
    auto r = co_await muster::lambda::process_batch(std::move(event), handle_message);
    for (const auto& item : r.items())
        if (!item.result.ok()) inv.log().warn(item.item_identifier + ": " + item.result.message());
    co_return boost::json::value_from(r);
}
void handler() {
    auto handler = [](muster::lambda::invocation& inv) -> awaitable<boost::json::value> {
        auto event = boost::json::value_to<muster::lambda::sqs_event>(
            boost::json::parse(inv.payload()));
        muster::options o;
        o.limit = 32;
        auto r = co_await muster::lambda::process_batch(std::move(event), store_message, o);
        co_return boost::json::value_from(r);
    };
    (void)handler;
}
}  // namespace batch_hpp

namespace log_hpp {
void log(muster::lambda::invocation& inv, int n) {
    inv.log().info("resized " + std::to_string(n) + " images");
}
}  // namespace log_hpp

namespace errors_hpp {
void function_error() {
    throw muster::lambda::function_error("ImageTooLarge", "42 MB is over the 20 MB limit");
}
}  // namespace errors_hpp

namespace lambda_hpp {
awaitable<boost::json::value> handler(const boost::json::value& event) { co_return event; }
int main() { return muster::lambda::run(handler); }
}  // namespace lambda_hpp

namespace emulator_hpp {
void emulator() {
    boost::asio::io_context io;
    muster::emulator::function_config config;
    config.command = {"build/release/my_function"};
    config.timeout = std::chrono::seconds(3);
    muster::emulator::emulator lambda(io.get_executor(), config);
    boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
        // Requests named first: an aggregate owning strings written inline
        // in a co_await is destroyed twice by GCC 12 (README).
        muster::emulator::invoke_request cold;
        cold.payload = R"({"x":1})";
        auto first = co_await lambda.invoke(std::move(cold));
        muster::emulator::invoke_request warm;
        warm.payload = R"({"x":2})";
        auto second = co_await lambda.invoke(std::move(warm));
        if (second.status == muster::emulator::invoke_status::function_error) {
            std::cerr << second.error_type << '\n';
        }
        co_await lambda.shutdown();
    }, boost::asio::detached);
    io.run();
}
}  // namespace emulator_hpp

// process_pool.hpp's example is this program's main().
std::string shout(std::string_view in) { return std::string(in) + "!"; }
const muster::work_registrar shout_work{"shout", shout};

int main(int argc, char** argv) {
    if (auto code = muster::process_pool::worker_main_if_requested(argc, argv)) return *code;
    boost::asio::io_context io;
    muster::process_pool_options options;
    options.task_timeout = std::chrono::seconds(2);
    muster::process_pool pool(io.get_executor(), options);
    boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
        auto r = co_await muster::gather(pool.run("shout", "a"), pool.run("shout", "b"));
        std::puts(std::get<0>(r).value().c_str());  // a! (value() throws if it failed)
    }, boost::asio::detached);
    io.run();
}
// clang-format on
