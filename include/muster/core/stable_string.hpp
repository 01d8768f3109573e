/// @file
/// `stable_string`: an immutable string for the fields of public option
/// types, safe to write inline inside a `co_await` expression.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>

namespace muster {

namespace detail {

/// Every distinct text a `stable_string` was ever given, kept until the
/// program ends. Allocated once and never destroyed, so a `stable_string`
/// read by a static destructor still points at live memory.
class string_table {
  public:
    static const std::string& intern(std::string_view s) {
        static string_table* const table = new string_table;
        std::lock_guard<std::mutex> lock(table->mutex_);
        auto it = table->texts_.find(s);
        if (it == table->texts_.end()) it = table->texts_.emplace(s).first;
        return *it;
    }

  private:
    struct hash : std::hash<std::string_view> {
        using is_transparent = void;
    };
    std::mutex mutex_;
    // Node-based: an element never moves, so pointers into it stay valid.
    std::unordered_set<std::string, hash, std::equal_to<>> texts_;
};

}  // namespace detail

/// An immutable string whose text lives until the program ends: the type of
/// the string fields of muster's option aggregates (`http::options`,
/// `aws::config`, `process_pool_options`).
///
/// Why: GCC 12 miscompiles an aggregate temporary created inside a
/// `co_await` expression, as in
/// `muster::http::client c{co_await asio::this_coro::executor, {}};`: each
/// member is built in a temporary of its own, copied into the aggregate bit
/// by bit, and both are destroyed. A `std::string` member then frees memory
/// it does not own (`munmap_chunk(): invalid pointer`). This type is
/// trivially copyable and trivially destructible, so such copies are
/// harmless; the price is that every distinct text stays allocated, once,
/// for the rest of the program (which suits settings such as a user agent, a
/// proxy URL, a path or a region, and does not suit request bodies).
///
/// It converts from `const char*` and anything that converts to
/// `std::string_view` (`std::string`, `boost::json::string`...),
/// and reads back as `std::string_view` (`view()`, or implicitly),
/// `std::string` (`str()`, or implicitly) or a NUL-terminated `c_str()`.
///
/// Thread-safety: a value type; constructing one from several threads at
/// once is safe (the text table is locked).
class stable_string {
  public:
    constexpr stable_string() noexcept = default;
    stable_string(const char* s) { assign(s ? std::string_view(s) : std::string_view()); }
    /// From anything that converts to `std::string_view`: `std::string`,
    /// `std::string_view`, `boost::json::string`...
    template <class S>
    requires(std::is_convertible_v<const S&, std::string_view> &&
             !std::is_convertible_v<const S&, const char*> && !std::is_same_v<S, stable_string>)
        stable_string(const S& s) {
        assign(std::string_view(s));
    }

    std::string_view view() const noexcept { return {data_, size_}; }
    operator std::string_view() const noexcept { return view(); }
    std::string str() const { return std::string(view()); }
    operator std::string() const { return str(); }
    const char* c_str() const noexcept { return data_; }
    const char* data() const noexcept { return data_; }
    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }

    friend bool operator==(const stable_string& a, const stable_string& b) noexcept {
        return a.view() == b.view();
    }
    friend bool operator==(const stable_string& a, std::string_view b) noexcept {
        return a.view() == b;
    }
    friend bool operator==(const stable_string& a, const std::string& b) noexcept {
        return a.view() == std::string_view(b);
    }
    friend bool operator==(const stable_string& a, const char* b) noexcept {
        return a.view() == std::string_view(b ? b : "");
    }
    // Concatenations read as they did when these fields were std::strings.
    friend std::string operator+(const std::string& a, const stable_string& b) {
        return a + std::string(b.view());
    }
    friend std::string operator+(const char* a, const stable_string& b) {
        return std::string(a) + std::string(b.view());
    }
    friend std::string operator+(const stable_string& a, const std::string& b) {
        return std::string(a.view()) + b;
    }
    friend std::string operator+(const stable_string& a, const char* b) {
        return std::string(a.view()) + b;
    }

  private:
    void assign(std::string_view s) {
        if (s.empty()) return;
        const std::string& kept = detail::string_table::intern(s);
        data_ = kept.c_str();
        size_ = kept.size();
    }

    const char* data_ = "";
    std::size_t size_ = 0;
};

static_assert(std::is_trivially_copyable_v<stable_string> &&
              std::is_trivially_destructible_v<stable_string>);

}  // namespace muster
