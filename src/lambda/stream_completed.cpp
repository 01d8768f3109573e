#include <muster/lambda/stream_completed.hpp>

#include <cxxabi.h>

#include <chrono>
#include <cstdlib>
#include <memory>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <muster/lambda/errors.hpp>

namespace muster::lambda::detail {

namespace {

namespace json = boost::json;

std::string demangle(const char* name) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                               std::free);
    return status == 0 && out ? std::string(out.get()) : std::string(name);
}

/// `{"type","message"}` of the exception `e` holds.
json::object describe(const std::exception_ptr& e) {
    std::string type = "unknown";
    std::string message;
    try {
        std::rethrow_exception(e);
    } catch (const function_error& f) {
        type = f.error_type();
        message = f.what();
    } catch (const std::exception& x) {
        type = demangle(typeid(x).name());
        message = x.what();
    } catch (...) {
        message = "an exception not derived from std::exception";
    }
    return json::object{{"type", std::move(type)}, {"message", std::move(message)}};
}

std::string as_line(const json::object& o) {
    std::string line = json::serialize(o);
    line += '\n';
    return line;
}

}  // namespace

std::string completion_line(std::size_t index, const muster::detail::outcome_base& o,
                            const json::value* value) {
    json::object line{{"index", index}, {"status", to_string(o.status())}};
    if (value) {
        line["value"] = *value;
    } else if (o.error()) {
        line["error"] = describe(o.error());
    }
    line["attempts"] = o.attempts();
    return as_line(line);
}

std::string not_started_line(std::size_t index) {
    return as_line(json::object{
        {"index", index},
        {"status", to_string(status::not_started)},
        {"error", json::object{{"type", "muster::not_started_error"},
                               {"message",
                                "not started: the collection stopped (deadline or policy) "
                                "before this task was admitted"}}},
        {"attempts", 0}});
}

std::string summary_line(const stream_summary& s) {
    json::object counts{{"total", s.total}};
    for (std::size_t i = 0; i < status_count; ++i) {
        counts[to_string(static_cast<status>(i))] = s.by_status[i];
    }
    counts["elapsed_us"] = std::chrono::duration_cast<std::chrono::microseconds>(s.elapsed).count();
    return as_line(json::object{{"summary", std::move(counts)}});
}

}  // namespace muster::lambda::detail
