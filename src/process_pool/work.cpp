#include <muster/process_pool/work.hpp>

#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "registry.hpp"

namespace muster {

namespace detail {

namespace {

struct registry {
    std::mutex mutex;
    std::map<std::string, work_function, std::less<>> functions;
};

registry& the_registry() {
    static registry r;
    return r;
}

}  // namespace

std::optional<work_function> find_work(std::string_view name) {
    auto& r = the_registry();
    std::lock_guard lock(r.mutex);
    auto it = r.functions.find(name);
    if (it == r.functions.end()) return std::nullopt;
    return it->second;
}

}  // namespace detail

void register_work(std::string name, work_function fn) {
    if (name.empty()) throw std::invalid_argument("muster::register_work: the name is empty");
    if (name.size() > 0xffff) {
        throw std::invalid_argument("muster::register_work: the name is longer than 65535 bytes");
    }
    if (!fn) {
        throw std::invalid_argument("muster::register_work: the function for '" + name +
                                    "' is empty");
    }
    auto& r = detail::the_registry();
    std::lock_guard lock(r.mutex);
    if (r.functions.contains(name)) {
        throw std::invalid_argument("muster::register_work: '" + name + "' is already registered");
    }
    r.functions.emplace(std::move(name), std::move(fn));
}

bool is_work_registered(std::string_view name) {
    auto& r = detail::the_registry();
    std::lock_guard lock(r.mutex);
    return r.functions.find(name) != r.functions.end();
}

std::vector<std::string> registered_work() {
    auto& r = detail::the_registry();
    std::lock_guard lock(r.mutex);
    std::vector<std::string> names;
    for (const auto& [name, fn] : r.functions) names.push_back(name);
    return names;
}

}  // namespace muster
