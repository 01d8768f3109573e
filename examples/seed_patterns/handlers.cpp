#include "handlers.hpp"

#include <array>
#include <string>
#include <utility>

#include <boost/json/kind.hpp>

namespace seed_patterns {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct pattern_entry {
    std::string_view name;
    std::string_view key;
    handler_fn handler;
};

constexpr std::array<pattern_entry, 3> patterns{{
    {"images", "imageUrls", &images},
    {"datasets", "dataSets", &datasets},
    {"tasks", "tasks", &tasks},
}};

}  // namespace

handler_fn find_handler(std::string_view pattern) {
    for (const auto& p : patterns) {
        if (p.name == pattern) return p.handler;
    }
    return nullptr;
}

asio::awaitable<task_list> pattern_tasks(std::string pattern, json::value event) {
    if (pattern == "images") co_return co_await images_tasks(std::move(event));
    if (pattern == "datasets") co_return datasets_tasks(std::move(event));
    if (pattern == "tasks") co_return tasks_tasks(std::move(event));
    throw bad_event("no pattern named '" + pattern + "'");
}

std::string_view detect_pattern(const json::value& event) {
    if (!event.is_object()) {
        throw bad_event("cannot detect the pattern: the event is " + json_type(event) +
                        ", not an object");
    }
    std::string_view found;
    for (const auto& p : patterns) {
        if (!event.as_object().contains(p.key)) continue;
        if (!found.empty()) {
            throw bad_event(
                "cannot detect the pattern: the event has more than one of "
                "\"imageUrls\", \"dataSets\", \"tasks\"");
        }
        found = p.name;
    }
    if (found.empty()) {
        throw bad_event(
            "cannot detect the pattern: the event has none of "
            "\"imageUrls\", \"dataSets\", \"tasks\"");
    }
    return found;
}

const json::array& event_array(const json::value& event, std::string_view key,
                               std::string_view pattern) {
    const std::string where = std::string(pattern) + ": the event";
    if (!event.is_object()) {
        throw bad_event(where + " must be a JSON object with \"" + std::string(key) + "\", not " +
                        json_type(event));
    }
    const json::value* v = event.as_object().if_contains(key);
    if (!v) throw bad_event(where + " has no \"" + std::string(key) + "\" key");
    if (!v->is_array()) {
        throw bad_event(where + "'s \"" + std::string(key) + "\" must be an array, not " +
                        json_type(*v));
    }
    return v->as_array();
}

}  // namespace seed_patterns
