/// @file
/// Private: reading and writing the fields of event JSON with the field's path in every error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <muster/lambda/events/event_error.hpp>

namespace muster::lambda::detail {

namespace json = boost::json;

using string_map = std::map<std::string, std::string, std::less<>>;

std::string_view kind_name(json::kind k) noexcept;

/// A JSON object being read, with its path from the root of the conversion, so a nested
/// reader reports `Records[2].s3.object.key: missing` without any catch-and-rethrow.
class reader {
  public:
    /// Throws `event_error(path, "expected an object, got ...")` when `v` is not an object.
    reader(const json::value& v, std::string path);

    const std::string& path() const noexcept { return path_; }
    /// `path().key`, or `key` at the root.
    std::string path_of(std::string_view key) const;

    /// The field, or null when it is absent or JSON null.
    const json::value* find(std::string_view key) const noexcept;

    std::string str(std::string_view key) const;  ///< required string
    std::optional<std::string> opt_str(std::string_view key) const;
    std::string str_or_empty(std::string_view key) const { return opt_str(key).value_or(""); }

    bool bool_or(std::string_view key, bool fallback) const;
    std::int64_t int64(std::string_view key) const;  ///< required integer
    std::optional<std::int64_t> opt_int64(std::string_view key) const;
    std::optional<double> opt_double(std::string_view key) const;

    reader obj(std::string_view key) const;  ///< required nested object
    std::optional<reader> opt_obj(std::string_view key) const;
    /// A nested object kept as JSON; nullopt when absent or null.
    std::optional<json::object> opt_raw_obj(std::string_view key) const;
    /// Any JSON value; null when absent.
    json::value raw(std::string_view key) const;

    /// An object of strings; empty when absent or null.
    string_map str_map(std::string_view key) const;
    /// An array of strings; empty when absent or null.
    std::vector<std::string> str_list(std::string_view key) const;

    /// A required array of objects: `each(reader)` per element, element paths `key[i]`.
    template <class F>
    auto list(std::string_view key, F each) const {
        using T = decltype(each(std::declval<const reader&>()));
        std::vector<T> out;
        const json::value* v = find(key);
        if (!v) fail(key, "missing");
        if (!v->is_array()) fail(key, expected("an array", *v));
        const auto& a = v->get_array();
        out.reserve(a.size());
        for (std::size_t i = 0; i < a.size(); ++i)
            out.push_back(each(reader(a[i], path_of(key) + "[" + std::to_string(i) + "]")));
        return out;
    }

    /// A map of objects; empty when absent or null. Entry paths are `key.name`.
    template <class F>
    auto obj_map(std::string_view key, F each) const {
        using T = decltype(each(std::declval<const reader&>()));
        std::map<std::string, T, std::less<>> out;
        const json::value* v = find(key);
        if (!v) return out;
        if (!v->is_object()) fail(key, expected("an object", *v));
        for (const auto& kv : v->get_object()) {
            const std::string name(kv.key());
            out.emplace(name, each(reader(kv.value(), path_of(key) + "." + name)));
        }
        return out;
    }

    [[noreturn]] void fail(std::string_view key, std::string reason) const;
    static std::string expected(std::string_view what, const json::value& got);

  private:
    const json::object* object_;
    std::string path_;
};

// ---- writing ---------------------------------------------------------------------------------

inline void put(json::object& o, std::string_view key, const std::string& s) { o[key] = s; }
inline void put_opt(json::object& o, std::string_view key, const std::optional<std::string>& s) {
    if (s) o[key] = *s;
}
template <class N>
void put_opt_num(json::object& o, std::string_view key, const std::optional<N>& n) {
    if (n) o[key] = *n;
}
json::object to_object(const string_map& m);
json::array to_array(const std::vector<std::string>& v);

}  // namespace muster::lambda::detail
