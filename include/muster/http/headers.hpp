/// @file
/// `muster::http::headers`: an ordered list of header fields.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace muster::http {

/// Header fields in the order they were added. Names compare
/// case-insensitively; a name may occur several times (`add`).
///
/// Thread-safety: a plain value type.
class headers {
  public:
    using field = std::pair<std::string, std::string>;
    using const_iterator = std::vector<field>::const_iterator;

    headers() = default;
    headers(std::initializer_list<field> fields) : fields_(fields) {}

    /// Replaces every field named `name` with one holding `value`.
    void set(std::string_view name, std::string_view value);
    /// Appends a field, keeping existing ones of the same name.
    void add(std::string_view name, std::string_view value);
    /// Removes every field named `name`; returns how many were removed.
    std::size_t erase(std::string_view name);
    /// The first value of `name`, or `std::nullopt`.
    std::optional<std::string_view> get(std::string_view name) const;
    bool contains(std::string_view name) const { return get(name).has_value(); }

    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }
    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }

  private:
    std::vector<field> fields_;
};

/// Case-insensitive ASCII comparison of header names.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace muster::http
