#include "response.hpp"

#include <array>
#include <cstdlib>
#include <memory>
#include <typeinfo>

#include <cxxabi.h>

#include <boost/json/kind.hpp>

namespace seed_patterns {

namespace json = boost::json;

namespace {

std::string demangle(const char* mangled) {
    int rc = 0;
    std::unique_ptr<char, decltype(&std::free)> name(
        abi::__cxa_demangle(mangled, nullptr, nullptr, &rc), &std::free);
    return rc == 0 && name ? std::string(name.get()) : std::string(mangled);
}

}  // namespace

std::string error_type(const std::exception_ptr& e) {
    if (!e) return {};
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return demangle(typeid(ex).name());
    } catch (...) {
        return "unknown";
    }
}

std::string json_type(const json::value& v) {
    switch (v.kind()) {
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "a number";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::null:
            return "null";
    }
    return "an unknown JSON value";
}

std::int64_t to_us(muster::clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

json::value describe_input(const json::value& input) {
    if (input.is_array()) return {{"elements", input.as_array().size()}};
    if (input.is_object()) return {{"keys", input.as_object().size()}};
    return input;
}

json::object make_entry(std::size_t index, const json::value& input, const entry_header& h,
                        json::value value) {
    json::object entry;
    entry["index"] = index;
    entry["input"] = describe_input(input);
    entry["status"] = to_string(h.status);
    if (h.status == muster::status::ok) {
        entry["value"] = std::move(value);
    } else {
        std::string message;
        try {
            if (h.error) std::rethrow_exception(h.error);
        } catch (const std::exception& e) {
            message = e.what();
        } catch (...) {
            message = "unknown exception";
        }
        entry["error"] = {{"type", error_type(h.error)}, {"message", message}};
    }
    entry["attempts"] = h.attempts;
    entry["timing_us"] = {{"queued", to_us(h.timings.queue_time())},
                          {"run", to_us(h.timings.run_time())}};
    return entry;
}

json::object make_response(json::array results, std::span<const std::size_t> completion_order,
                           muster::clock::duration elapsed) {
    std::array<std::size_t, muster::status_count> counts{};
    std::uint64_t attempts = 0;
    for (const json::value& r : results) {
        const json::object& entry = r.as_object();
        const json::string& s = entry.at("status").as_string();
        for (std::size_t i = 0; i < muster::status_count; ++i) {
            if (s == to_string(static_cast<muster::status>(i))) ++counts[i];
        }
        attempts += entry.at("attempts").to_number<std::uint64_t>();
    }

    json::object summary;
    summary["total"] = results.size();
    for (std::size_t i = 0; i < muster::status_count; ++i) {
        summary[to_string(static_cast<muster::status>(i))] = counts[i];
    }
    summary["attempts"] = attempts;
    json::array order;
    order.reserve(completion_order.size());
    for (std::size_t i : completion_order) order.push_back(i);
    summary["completion_order"] = std::move(order);
    summary["elapsed_us"] = to_us(elapsed);

    json::object response;
    response["results"] = std::move(results);
    response["summary"] = std::move(summary);
    return response;
}

}  // namespace seed_patterns
