/// @file
/// `muster::aws::attr`: DynamoDB attribute values as Boost.JSON objects.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

/// Builders and readers of DynamoDB's attribute-value form, named after its
/// type letters: `attr::s("a")` is `{"S": "a"}`, `attr::n(5)` is
/// `{"N": "5"}`. Readers return `std::nullopt` when the attribute is
/// missing or of another type. Pure functions, safe from any thread.
///
/// @code
/// boost::json::object item{{"pk", attr::s("img-1")}, {"bytes", attr::n(20480)}};
/// std::optional<std::int64_t> bytes = attr::get_int(item, "bytes");
/// @endcode
namespace muster::aws::attr {

/// An integral type other than `bool`.
template <class T>
concept integer = std::integral<T> && !std::same_as<T, bool>;

boost::json::object s(std::string_view value);
boost::json::object n(std::int64_t value);
boost::json::object n(double value);
/// A number given as DynamoDB's decimal text (up to 38 digits).
boost::json::object n_text(std::string_view number);
/// Any other integer (`attr::n(640)`, `attr::n(v.size())`), exactly: an
/// `int` would otherwise be ambiguous between the two above, and a
/// `std::uint64_t` over 2^63 would not fit the first. `bool` is `boolean`.
template <integer Integer>
boost::json::object n(Integer value) {
    return n_text(std::to_string(value));
}
/// Binary data, base64-encoded for the wire.
boost::json::object b(std::string_view bytes);
boost::json::object boolean(bool value);
boost::json::object null();
/// A list of attribute values.
boost::json::object l(boost::json::array values);
/// A map of names to attribute values.
boost::json::object m(boost::json::object values);
boost::json::object ss(const std::vector<std::string>& values);
boost::json::object ns(const std::vector<std::int64_t>& values);

std::optional<std::string> get_string(const boost::json::object& item, std::string_view name);
std::optional<std::int64_t> get_int(const boost::json::object& item, std::string_view name);
std::optional<double> get_double(const boost::json::object& item, std::string_view name);
std::optional<bool> get_bool(const boost::json::object& item, std::string_view name);
/// The decoded bytes of a `B` attribute.
std::optional<std::string> get_binary(const boost::json::object& item, std::string_view name);

}  // namespace muster::aws::attr
