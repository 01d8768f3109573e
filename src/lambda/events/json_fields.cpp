#include "json_fields.hpp"

#include <cmath>
#include <limits>

namespace muster::lambda::detail {

std::string_view kind_name(json::kind k) noexcept {
    switch (k) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "bool";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "number";
        case json::kind::string:
            return "string";
        case json::kind::array:
            return "array";
        case json::kind::object:
            return "object";
    }
    return "unknown";
}

reader::reader(const json::value& v, std::string path) : object_(nullptr), path_(std::move(path)) {
    if (!v.is_object()) throw event_error(path_, expected("an object", v));
    object_ = &v.get_object();
}

std::string reader::path_of(std::string_view key) const {
    if (path_.empty()) return std::string(key);
    std::string p = path_;
    p += '.';
    p += key;
    return p;
}

std::string reader::expected(std::string_view what, const json::value& got) {
    std::string s = "expected ";
    s += what;
    s += ", got ";
    s += kind_name(got.kind());
    return s;
}

void reader::fail(std::string_view key, std::string reason) const {
    throw event_error(path_of(key), std::move(reason));
}

const json::value* reader::find(std::string_view key) const noexcept {
    const json::value* v = object_->if_contains(key);
    return (v && !v->is_null()) ? v : nullptr;
}

std::string reader::str(std::string_view key) const {
    auto s = opt_str(key);
    if (!s) fail(key, "missing");
    return std::move(*s);
}

std::optional<std::string> reader::opt_str(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(key, expected("a string", *v));
    return std::string(v->get_string());
}

bool reader::bool_or(std::string_view key, bool fallback) const {
    const json::value* v = find(key);
    if (!v) return fallback;
    if (!v->is_bool()) fail(key, expected("a bool", *v));
    return v->get_bool();
}

std::int64_t reader::int64(std::string_view key) const {
    auto n = opt_int64(key);
    if (!n) fail(key, "missing");
    return *n;
}

std::optional<std::int64_t> reader::opt_int64(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) {
        if (v->get_uint64() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
            fail(key, "integer out of range");
        return static_cast<std::int64_t>(v->get_uint64());
    }
    if (v->is_double()) {
        const double d = v->get_double();
        // 9.2e18: the first double past int64's range.
        if (std::trunc(d) != d || std::fabs(d) >= 9.2e18)
            fail(key, "expected an integer, got " + std::to_string(d));
        return static_cast<std::int64_t>(d);
    }
    fail(key, expected("an integer", *v));
}

std::optional<double> reader::opt_double(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) fail(key, expected("a number", *v));
    return v->to_number<double>();
}

reader reader::obj(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) fail(key, "missing");
    return reader(*v, path_of(key));
}

std::optional<reader> reader::opt_obj(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    return reader(*v, path_of(key));
}

std::optional<json::object> reader::opt_raw_obj(std::string_view key) const {
    const json::value* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_object()) fail(key, expected("an object", *v));
    return v->get_object();
}

json::value reader::raw(std::string_view key) const {
    const json::value* v = object_->if_contains(key);
    return v ? *v : json::value();
}

string_map reader::str_map(std::string_view key) const {
    string_map out;
    const json::value* v = find(key);
    if (!v) return out;
    if (!v->is_object()) fail(key, expected("an object", *v));
    for (const auto& kv : v->get_object()) {
        if (!kv.value().is_string()) {
            throw event_error(path_of(key) + "." + std::string(kv.key()),
                              expected("a string", kv.value()));
        }
        out.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
    }
    return out;
}

std::vector<std::string> reader::str_list(std::string_view key) const {
    std::vector<std::string> out;
    const json::value* v = find(key);
    if (!v) return out;
    if (!v->is_array()) fail(key, expected("an array", *v));
    const auto& a = v->get_array();
    out.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!a[i].is_string()) {
            throw event_error(path_of(key) + "[" + std::to_string(i) + "]",
                              expected("a string", a[i]));
        }
        out.emplace_back(a[i].get_string());
    }
    return out;
}

json::object to_object(const string_map& m) {
    json::object o;
    for (const auto& [k, v] : m) o[k] = v;
    return o;
}

json::array to_array(const std::vector<std::string>& v) {
    json::array a;
    a.reserve(v.size());
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

}  // namespace muster::lambda::detail
