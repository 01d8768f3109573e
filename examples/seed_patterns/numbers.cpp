#include "numbers.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include <boost/json/kind.hpp>
#include <boost/json/serialize.hpp>

#include "response.hpp"

namespace seed_patterns {

namespace json = boost::json;

namespace {

/// An exact integer sum while it fits, a double from then on.
class accumulator {
  public:
    void add(const json::value& v) {
        switch (v.kind()) {
            case json::kind::int64:
                add_integer(v.get_int64());
                return;
            case json::kind::uint64:
                if (v.get_uint64() <=
                    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                    add_integer(static_cast<std::int64_t>(v.get_uint64()));
                } else {
                    to_double();
                    real_ += static_cast<double>(v.get_uint64());
                }
                return;
            case json::kind::double_:
                to_double();
                real_ += v.get_double();
                return;
            default:
                throw invalid_data("not a number: " + json::serialize(v));
        }
    }

    json::value result() const {
        if (integral_) return integer_;
        return real_;
    }

  private:
    void add_integer(std::int64_t n) {
        std::int64_t sum = 0;
        if (integral_ && !__builtin_add_overflow(integer_, n, &sum)) {
            integer_ = sum;
            return;
        }
        to_double();
        real_ += static_cast<double>(n);
    }
    void to_double() {
        if (!integral_) return;
        integral_ = false;
        real_ = static_cast<double>(integer_);
    }

    std::int64_t integer_ = 0;
    double real_ = 0.0;
    bool integral_ = true;
};

}  // namespace

json::value sum_times_two(const json::value& data, std::stop_token stop) {
    if (!data.is_array()) {
        throw invalid_data("a data set must be an array of numbers, not " + json_type(data));
    }
    const json::array& a = data.as_array();
    accumulator sum;
    for (std::size_t i = 0; i < a.size(); ++i) {
        // Checked now and then, not per element: cheap, and still prompt.
        if (i % 4096 == 0 && stop.stop_requested()) {
            throw work_stopped("stopped after " + std::to_string(i) + " of " +
                               std::to_string(a.size()) + " elements");
        }
        try {
            sum.add(a[i]);
        } catch (const invalid_data& e) {
            throw invalid_data("element " + std::to_string(i) + " is " + e.what());
        }
    }
    accumulator twice;
    twice.add(sum.result());
    twice.add(sum.result());
    return twice.result();
}

json::value times_two(const json::value& data) {
    accumulator twice;
    try {
        twice.add(data);
        twice.add(data);
    } catch (const invalid_data& e) {
        throw invalid_data(std::string("task data is ") + e.what());
    }
    return twice.result();
}

}  // namespace seed_patterns
