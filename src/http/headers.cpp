#include <muster/http/headers.hpp>

#include <algorithm>

namespace muster::http {

namespace {
char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

void headers::set(std::string_view name, std::string_view value) {
    erase(name);
    add(name, value);
}

void headers::add(std::string_view name, std::string_view value) {
    fields_.emplace_back(std::string(name), std::string(value));
}

std::size_t headers::erase(std::string_view name) {
    const auto before = fields_.size();
    std::erase_if(fields_, [&](const field& f) { return iequals(f.first, name); });
    return before - fields_.size();
}

std::optional<std::string_view> headers::get(std::string_view name) const {
    for (const auto& f : fields_)
        if (iequals(f.first, name)) return std::string_view(f.second);
    return std::nullopt;
}

}  // namespace muster::http
