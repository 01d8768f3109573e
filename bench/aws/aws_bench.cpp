// muster::aws against local stand-ins: 1,000 DynamoDB put_item and 1,000 S3
// put_object of 20 KB, each batch through muster::gather with limit 64.
// bench/aws/sdk.mjs does the same work with AWS's JavaScript SDK v3;
// bench/aws/run.sh runs both against the same servers, alternately.
//
// Usage: aws_bench --s3 URL --dynamodb URL [--runs N] [--items N] [--limit N]
// Prints JSON: {"workloads": {"put_item": {"runs_ms": [...]}, "put_object": {...}}}.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <ranges>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <muster/aws.hpp>
#include <muster/core/gather.hpp>
#include <muster/core/sleep.hpp>
#include <muster/http.hpp>

namespace asio = boost::asio;
namespace aws = muster::aws;
namespace attr = muster::aws::attr;
namespace json = boost::json;

namespace {

struct settings {
    std::string s3;
    std::string dynamodb;
    int runs = 5;
    int items = 1000;
    std::size_t limit = 64;
};

const std::string table = "muster-bench";

/// CPU time this process has used (user + system), in ms: the client's own
/// cost, apart from the stand-ins' that wall time includes.
double cpu_ms() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return (static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3) +
           (static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3);
}

/// Wall and CPU time of one batch.
struct timing {
    double wall_ms = 0;
    double cpu_ms = 0;
};
const std::string bucket = "muster-bench";

aws::config config_for(const settings& s) {
    aws::config c;
    // s3rver's account; dynalite checks only that requests are signed.
    c.credentials = {"S3RVER", "S3RVER", ""};
    c.region = "us-east-1";
    c.s3_endpoint = s.s3;
    c.dynamodb_endpoint = s.dynamodb;
    return c;
}

asio::awaitable<void> ensure_table(aws::dynamodb ddb) {
    json::object request{
        {"TableName", table},
        {"AttributeDefinitions",
         json::array{json::object{{"AttributeName", "pk"}, {"AttributeType", "S"}}}},
        {"KeySchema", json::array{json::object{{"AttributeName", "pk"}, {"KeyType", "HASH"}}}},
        {"BillingMode", "PAY_PER_REQUEST"}};
    try {
        auto creating = ddb.call("CreateTable", std::move(request));
        co_await std::move(creating);
    } catch (const aws::error& e) {
        if (e.code() != "ResourceInUseException") throw;
    }
    // A new table is CREATING and refuses items until it is ACTIVE.
    for (;;) {
        json::object describe{{"TableName", table}};
        auto describing = ddb.call("DescribeTable", std::move(describe));
        const json::object t = co_await std::move(describing);
        if (t.at("Table").at("TableStatus").as_string() == "ACTIVE") co_return;
        co_await muster::sleep_for(std::chrono::milliseconds(5));
    }
}

template <class Results>
void check(const Results& r, const char* what) {
    if (!r.all_ok()) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (r[i].status() != muster::status::ok) {
                std::cerr << what << ": task " << i << ": " << r[i].message() << "\n";
                break;
            }
        }
        throw std::runtime_error(std::string(what) + ": not every task succeeded");
    }
}

asio::awaitable<timing> put_items(aws::dynamodb ddb, settings s, int run) {
    auto put = [ddb, run](int i) {
        json::object item{{"pk", attr::s("run" + std::to_string(run) + "-" + std::to_string(i))},
                          {"width", attr::n(std::int64_t{640})},
                          {"state", attr::s("resized")}};
        return ddb.put_item(table, std::move(item));
    };
    muster::options o;
    o.limit = s.limit;
    auto tasks = std::views::iota(0, s.items) | std::views::transform(put);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_ms();
    auto gathering = muster::gather(tasks, o);
    auto results = co_await std::move(gathering);
    const auto took = std::chrono::steady_clock::now() - start;
    check(results, "put_item");
    co_return timing{std::chrono::duration<double, std::milli>(took).count(), cpu_ms() - cpu_start};
}

asio::awaitable<timing> put_objects(aws::s3 s3, settings s, int run) {
    const std::string body(20 * 1024, 'j');
    auto put = [s3, run, &body](int i) {
        return s3.put_object(bucket, "run" + std::to_string(run) + "/" + std::to_string(i), body);
    };
    muster::options o;
    o.limit = s.limit;
    auto tasks = std::views::iota(0, s.items) | std::views::transform(put);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_ms();
    auto gathering = muster::gather(tasks, o);
    auto results = co_await std::move(gathering);
    const auto took = std::chrono::steady_clock::now() - start;
    check(results, "put_object");
    co_return timing{std::chrono::duration<double, std::milli>(took).count(), cpu_ms() - cpu_start};
}

asio::awaitable<json::object> bench(settings s) {
    auto ex = co_await asio::this_coro::executor;
    muster::http::options ho;
    ho.max_connections_per_origin = s.limit;
    muster::http::client http{ex, ho};
    const aws::config cfg = config_for(s);
    aws::dynamodb ddb{http, cfg};
    aws::s3 s3{http, cfg};
    auto creating = ensure_table(ddb);
    co_await std::move(creating);
    json::array item_runs, item_cpu, object_runs, object_cpu;
    for (int run = 0; run < s.runs; ++run) {
        auto items = put_items(ddb, s, run);
        const timing i = co_await std::move(items);
        item_runs.push_back(i.wall_ms);
        item_cpu.push_back(i.cpu_ms);
        auto objects = put_objects(s3, s, run);
        const timing o = co_await std::move(objects);
        object_runs.push_back(o.wall_ms);
        object_cpu.push_back(o.cpu_ms);
    }
    co_return json::object{
        {"implementation", "muster"},
        {"items", s.items},
        {"limit", s.limit},
        {"workloads",
         json::object{
             {"put_item", json::object{{"runs_ms", item_runs}, {"cpu_ms", item_cpu}}},
             {"put_object", json::object{{"runs_ms", object_runs}, {"cpu_ms", object_cpu}}}}}};
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const std::string value = argv[i + 1];
        if (flag == "--s3") {
            s.s3 = value;
        } else if (flag == "--dynamodb") {
            s.dynamodb = value;
        } else if (flag == "--runs") {
            s.runs = std::stoi(value);
        } else if (flag == "--items") {
            s.items = std::stoi(value);
        } else if (flag == "--limit") {
            s.limit = std::stoul(value);
        } else {
            std::cerr << "aws_bench: unknown flag " << flag << "\n";
            return 2;
        }
    }
    if (s.s3.empty() || s.dynamodb.empty()) {
        std::cerr
            << "usage: aws_bench --s3 URL --dynamodb URL [--runs N] [--items N] [--limit N]\n";
        return 2;
    }
    asio::io_context io;
    json::object out;
    std::exception_ptr failure;
    asio::co_spawn(io, bench(s), [&](std::exception_ptr e, json::object r) {
        failure = e;
        out = std::move(r);
    });
    io.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::cerr << "aws_bench: " << e.what() << "\n";
            return 1;
        }
    }
    std::cout << json::serialize(out) << "\n";
    return 0;
}
