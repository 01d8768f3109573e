#include "metrics.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace muster::lambda::detail {

namespace json = boost::json;

namespace {

double to_ms(clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

/// At most 100 values, as EMF allows per metric.
json::array latency_values(std::vector<clock::duration> latencies) {
    json::array values;
    if (latencies.size() <= 100) {
        for (auto d : latencies) values.push_back(to_ms(d));
        return values;
    }
    std::sort(latencies.begin(), latencies.end());
    const std::size_t n = latencies.size();
    for (std::size_t i = 0; i < 100; ++i) {
        // The midpoint of the i-th hundredth.
        const std::size_t at = std::min(n - 1, (2 * i + 1) * n / 200);
        values.push_back(to_ms(latencies[at]));
    }
    return values;
}

}  // namespace

std::string emf_line(const invocation_metrics& m) {
    const task_stats empty;
    const task_stats& t = m.tasks ? *m.tasks : empty;

    json::object root;
    json::array definitions;
    auto define = [&definitions](std::string_view name, std::string_view unit) {
        definitions.push_back(json::object{{"Name", name}, {"Unit", unit}});
    };
    define("TasksOk", "Count");
    define("TasksFailed", "Count");
    define("TasksTimedOut", "Count");
    define("TasksCancelled", "Count");
    define("TasksNotStarted", "Count");
    define("TaskRetries", "Count");
    define("PendingWorkAtEnd", "Count");
    define("InvocationErrors", "Count");
    define("HandlerDuration", "Milliseconds");
    if (!t.latencies.empty()) define("TaskLatency", "Milliseconds");

    json::object directive;
    directive["Namespace"] = m.namespace_name;
    // One dimension set holding one dimension. Built in two steps: a braced array of one
    // array is a copy of the inner one to Clang (CWG 2137), a nested array to GCC.
    json::array dimension_sets;
    dimension_sets.emplace_back(json::array{"FunctionName"});
    directive["Dimensions"] = std::move(dimension_sets);
    directive["Metrics"] = std::move(definitions);

    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    root["_aws"] = json::object{{"Timestamp", now.count()},
                                {"CloudWatchMetrics", json::array{std::move(directive)}}};
    root["FunctionName"] = m.function_name;
    root["RequestId"] = m.request_id;
    root["TasksOk"] = t.count(status::ok);
    root["TasksFailed"] = t.count(status::failed);
    root["TasksTimedOut"] = t.count(status::timed_out);
    root["TasksCancelled"] = t.count(status::cancelled);
    root["TasksNotStarted"] = t.count(status::not_started);
    root["TaskRetries"] = t.retries;
    root["PendingWorkAtEnd"] = m.pending_work;
    root["InvocationErrors"] = m.failed ? 1 : 0;
    root["HandlerDuration"] = to_ms(m.duration);
    if (!t.latencies.empty()) root["TaskLatency"] = latency_values(t.latencies);
    return json::serialize(root);
}

}  // namespace muster::lambda::detail
