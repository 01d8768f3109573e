// Streamed responses end to end: the test function (built on muster::lambda)
// runs under muster's emulator, which shares no code with the runtime, and
// the test reads what the emulator receives chunk by chunk, both through its
// API (what `muster invoke` prints) and through its invoke route over HTTP
// (what `muster serve` answers).
#include <muster/emulator/emulator.hpp>
#include <muster/emulator/invoke_server.hpp>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "test_support.hpp"

namespace streaming_test {

namespace {

namespace json = boost::json;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;
using muster::emulator::emulator;
using muster::emulator::function_config;
using muster::emulator::invoke_request;
using muster::emulator::invoke_result;
using muster::emulator::invoke_status;
using muster::emulator::test::emulator_run;
using muster::emulator::test::temp_dir;
using muster::emulator::test::write_file;
using steady = std::chrono::steady_clock;

function_config config(const std::string& handler, std::chrono::milliseconds timeout = 10s) {
    function_config c;
    c.command = {MUSTER_TEST_FUNCTION};
    c.handler = handler;
    c.timeout = timeout;
    c.environment = {{"MUSTER_METRICS", "off"}};
    return c;
}

/// One piece of the streamed body, with when it arrived.
struct piece {
    std::string bytes;
    steady::time_point at;
};

class StreamingTest : public ::testing::Test {
  protected:
    /// Invokes `handler` with `payload`, collecting the streamed pieces.
    invoke_result invoke(function_config c, std::string payload,
                         std::function<void(const std::string& so_far)> on_piece = {}) {
        invoke_result result;
        run_(std::move(c), [&](emulator& function) -> net::awaitable<void> {
            invoke_request request;
            request.payload = payload;
            request.on_stream_chunk = [this, &on_piece](std::string_view chunk) {
                pieces.push_back({std::string(chunk), steady::now()});
                body += chunk;
                if (on_piece) on_piece(body);
            };
            result = co_await function.invoke(std::move(request));
        });
        return result;
    }

    std::vector<json::object> lines() const {
        std::vector<json::object> out;
        std::size_t start = 0;
        for (std::size_t end; (end = body.find('\n', start)) != std::string::npos;
             start = end + 1) {
            out.push_back(json::parse(body.substr(start, end - start)).as_object());
        }
        EXPECT_EQ(start, body.size()) << "the body ends with a newline";
        return out;
    }

    emulator_run run_;
    std::vector<piece> pieces;
    std::string body;
};

TEST_F(StreamingTest, ChunksArriveAsWrittenNotAtTheEnd) {
    // The handler writes "first", then waits for the gate file, which this
    // test creates only once "first" has reached it; a runtime that held the
    // body back until the handler returned would never see the gate.
    temp_dir dir;
    const auto gate = dir / "gate";
    bool opened_gate = false;
    const auto result =
        invoke(config("stream_gate"), json::serialize(json::object{{"gate", gate.string()}}),
               [&](const std::string& so_far) {
                   if (!opened_gate && so_far.find("first\n") == 0) {
                       opened_gate = true;
                       write_file(gate, "open");
                   }
               });
    ASSERT_TRUE(result.ok()) << result.payload;
    EXPECT_TRUE(result.streamed);
    EXPECT_TRUE(opened_gate);
    ASSERT_GE(pieces.size(), 2u);
    EXPECT_EQ(pieces.front().bytes, "first\n");
    EXPECT_EQ(body, "first\nsecond\n");
}

TEST_F(StreamingTest, ErrorAfterTheFirstByteEndsTheStreamWithTrailers) {
    const auto result = invoke(config("stream_fail"), "{}");
    EXPECT_EQ(result.status, invoke_status::function_error);
    EXPECT_TRUE(result.streamed);
    EXPECT_EQ(body, "partial\n") << "what was written before the error reached the caller";
    EXPECT_EQ(result.error_type, "StreamBroke");
    // The emulator decoded Lambda-Runtime-Function-Error-Body (base64 JSON).
    const auto doc = json::parse(result.payload).as_object();
    EXPECT_EQ(doc.at("errorType"), "StreamBroke");
    EXPECT_EQ(doc.at("errorMessage"), "the stream broke on purpose");
}

TEST_F(StreamingTest, ErrorBeforeTheFirstByteIsPostedToError) {
    const auto result = invoke(config("stream_fail_early"), "{}");
    EXPECT_EQ(result.status, invoke_status::function_error);
    EXPECT_FALSE(result.streamed) << "nothing was streamed: a plain /error post";
    EXPECT_EQ(result.error_type, "NothingWritten");
    EXPECT_NE(result.payload.find("failed before the first byte"), std::string::npos);
    EXPECT_TRUE(body.empty());
}

TEST_F(StreamingTest, HandlerThatWritesNothingSendsAnEmptyStream) {
    const auto result = invoke(config("stream_empty"), "{}");
    EXPECT_TRUE(result.ok()) << result.payload;
    EXPECT_TRUE(result.streamed);
    EXPECT_TRUE(body.empty());
}

TEST_F(StreamingTest, FunctionUrlPreludeComesFirstAndEndsWithEightNulBytes) {
    const auto result = invoke(config("stream_prelude"), "{}");
    ASSERT_TRUE(result.ok()) << result.payload;
    const std::string separator(8, '\0');
    const auto at = body.find(separator);
    ASSERT_NE(at, std::string::npos) << body;
    EXPECT_EQ(body.substr(at + 8), "abc");
    const auto prelude = json::parse(body.substr(0, at));
    EXPECT_EQ(prelude, json::parse(R"({"statusCode":201,
        "headers":{"content-type":"text/plain","x-tag":"a, b"},"cookies":["a=b"]})"));
}

TEST_F(StreamingTest, DeadlineMidStreamReportsEveryTaskThenTheSummary) {
    // Two at a time: 0 and 1 end at once, 3 fails, 4 ends; 2 and 5 run into
    // the deadline (timed_out); 6 never gets a slot (not_started).
    const auto result =
        invoke(config("stream_fanout", 3s), R"({"ms":[10,20,30000,-40,50,30000,30000],"limit":2})");
    ASSERT_TRUE(result.ok()) << result.payload;
    const auto all = lines();
    ASSERT_EQ(all.size(), 8u) << body;
    std::map<std::int64_t, std::string> status_of;
    for (std::size_t i = 0; i + 1 < all.size(); ++i) {
        const auto index = all[i].at("index").as_int64();
        EXPECT_TRUE(status_of.emplace(index, all[i].at("status").as_string()).second)
            << "one line per task";
    }
    const std::map<std::int64_t, std::string> expected{
        {0, "ok"}, {1, "ok"},        {2, "timed_out"},  {3, "failed"},
        {4, "ok"}, {5, "timed_out"}, {6, "not_started"}};
    EXPECT_EQ(status_of, expected);
    EXPECT_EQ(all[0].at("index"), 0) << "the first task to finish comes first";
    EXPECT_EQ(all[0].at("value"), 10);
    EXPECT_EQ(all[2].at("error").at("type"), "TaskFailed") << body;
    const auto summary = all.back().at("summary").as_object();
    EXPECT_EQ(summary.at("total"), 7);
    EXPECT_EQ(summary.at("ok"), 3);
    EXPECT_EQ(summary.at("failed"), 1);
    EXPECT_EQ(summary.at("timed_out"), 2);
    EXPECT_EQ(summary.at("not_started"), 1);
    // The first results left long before the deadline ended the rest.
    ASSERT_GE(pieces.size(), 2u);
    EXPECT_GE(pieces.back().at - pieces.front().at, 1s);
}

/// Reads a streamed answer from the invoke route: the pieces of its body as
/// they arrive, then its trailers.
struct http_answer {
    unsigned status = 0;
    std::string content_type;
    std::string body;
    std::map<std::string, std::string> fields;  ///< Headers and trailers.
};

net::awaitable<http_answer> post_invoke(std::uint16_t port, std::string payload,
                                        std::function<void(const std::string&)> on_body) {
    auto ex = co_await net::this_coro::executor;
    beast::tcp_stream stream(ex);
    const net::ip::tcp::endpoint server(net::ip::make_address("127.0.0.1"), port);
    co_await stream.async_connect(server, net::use_awaitable);
    http::request<http::string_body> req(http::verb::post,
                                         "/2015-03-31/functions/function/invocations", 11);
    req.set(http::field::host, "127.0.0.1");
    req.body() = std::move(payload);
    req.prepare_payload();
    co_await http::async_write(stream, req, net::use_awaitable);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    co_await http::async_read_header(stream, buffer, parser, net::use_awaitable);
    http_answer answer;
    while (!parser.is_done()) {
        co_await http::async_read_some(stream, buffer, parser, net::use_awaitable);
        if (on_body) on_body(parser.get().body());
    }
    const auto& res = parser.get();
    answer.status = res.result_int();
    answer.body = res.body();
    for (const auto& f : res) answer.fields[std::string(f.name_string())] = std::string(f.value());
    co_return answer;
}

TEST_F(StreamingTest, ServeRoutePassesChunksOnAsWritten) {
    temp_dir dir;
    const auto gate = dir / "gate";
    bool opened_gate = false;
    http_answer answer;
    run_(config("stream_gate"), [&](emulator& function) -> net::awaitable<void> {
        // Named, never inside a co_await expression: GCC 12 (README's caveat).
        const auto ex = co_await net::this_coro::executor;
        muster::emulator::invoke_server server(ex, function, std::string("127.0.0.1"), 0);
        std::string payload = json::serialize(json::object{{"gate", gate.string()}});
        std::function<void(const std::string&)> on_body = [&](const std::string& so_far) {
            if (!opened_gate && so_far.find("first\n") == 0) {
                opened_gate = true;
                write_file(gate, "open");
            }
        };
        answer = co_await post_invoke(server.port(), std::move(payload), std::move(on_body));
        server.close();
    });
    EXPECT_EQ(answer.status, 200u);
    EXPECT_TRUE(opened_gate);
    EXPECT_EQ(answer.body, "first\nsecond\n");
    EXPECT_EQ(answer.fields["Content-Type"], "text/plain") << "the function's content type";
    EXPECT_EQ(answer.fields["Transfer-Encoding"], "chunked");
    EXPECT_EQ(answer.fields.count("X-Amz-Function-Error"), 0u);
}

TEST_F(StreamingTest, ServeRouteSendsTheErrorAsTrailers) {
    http_answer answer;
    run_(config("stream_fail"), [&](emulator& function) -> net::awaitable<void> {
        const auto ex = co_await net::this_coro::executor;
        muster::emulator::invoke_server server(ex, function, std::string("127.0.0.1"), 0);
        std::string payload = "{}";
        answer = co_await post_invoke(server.port(), std::move(payload), nullptr);
        server.close();
    });
    EXPECT_EQ(answer.status, 200u);
    EXPECT_EQ(answer.body, "partial\n");
    EXPECT_EQ(answer.fields["Content-Type"], "application/octet-stream") << "the default";
    EXPECT_EQ(answer.fields["X-Amz-Function-Error"], "Unhandled");
    EXPECT_EQ(answer.fields["Lambda-Runtime-Function-Error-Type"], "StreamBroke");
}

}  // namespace

}  // namespace streaming_test
