#include <muster/aws/attribute.hpp>

#include <charconv>
#include <cstdio>

#include <openssl/evp.h>

namespace muster::aws::attr {
namespace json = boost::json;

namespace {

const json::string* typed(const json::object& item, std::string_view name, std::string_view type) {
    const auto* v = item.if_contains(name);
    if (!v || !v->is_object()) return nullptr;
    const auto* t = v->as_object().if_contains(type);
    return t && t->is_string() ? &t->as_string() : nullptr;
}

}  // namespace

json::object s(std::string_view value) { return {{"S", value}}; }
json::object n(std::int64_t value) { return {{"N", std::to_string(value)}}; }
json::object n(double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    return {{"N", buf}};
}
json::object n_text(std::string_view number) { return {{"N", number}}; }

json::object b(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return {{"B", out}};
}

json::object boolean(bool value) { return {{"BOOL", value}}; }
json::object null() { return {{"NULL", true}}; }
json::object l(json::array values) { return {{"L", std::move(values)}}; }
json::object m(json::object values) { return {{"M", std::move(values)}}; }

json::object ss(const std::vector<std::string>& values) {
    json::array a;
    for (const auto& v : values) a.emplace_back(v);
    return {{"SS", std::move(a)}};
}

json::object ns(const std::vector<std::int64_t>& values) {
    json::array a;
    for (auto v : values) a.emplace_back(std::to_string(v));
    return {{"NS", std::move(a)}};
}

std::optional<std::string> get_string(const json::object& item, std::string_view name) {
    if (const auto* v = typed(item, name, "S")) return std::string(*v);
    return std::nullopt;
}

std::optional<std::int64_t> get_int(const json::object& item, std::string_view name) {
    const auto* v = typed(item, name, "N");
    if (!v) return std::nullopt;
    std::int64_t out = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
    return out;
}

std::optional<double> get_double(const json::object& item, std::string_view name) {
    const auto* v = typed(item, name, "N");
    if (!v) return std::nullopt;
    try {
        return std::stod(std::string(*v));
    } catch (...) {
        return std::nullopt;
    }
}

std::optional<bool> get_bool(const json::object& item, std::string_view name) {
    const auto* v = item.if_contains(name);
    if (!v || !v->is_object()) return std::nullopt;
    const auto* t = v->as_object().if_contains("BOOL");
    if (!t || !t->is_bool()) return std::nullopt;
    return t->as_bool();
}

std::optional<std::string> get_binary(const json::object& item, std::string_view name) {
    const auto* v = typed(item, name, "B");
    if (!v) return std::nullopt;
    std::string out(3 * (v->size() / 4) + 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(v->data()),
                                  static_cast<int>(v->size()));
    if (n < 0) return std::nullopt;
    std::size_t size = static_cast<std::size_t>(n);
    // EVP_DecodeBlock counts the padding as zero bytes.
    if (v->size() >= 1 && (*v)[v->size() - 1] == '=') --size;
    if (v->size() >= 2 && (*v)[v->size() - 2] == '=') --size;
    out.resize(size);
    return out;
}

}  // namespace muster::aws::attr
