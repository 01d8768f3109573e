/// @file
/// The seed's arithmetic on JSON numbers: `sum(data) * 2` and `data * 2`,
/// with Python's leniency about mixing integers and floats, and a typed error
/// where Python would raise `TypeError`.
#pragma once

#include <stdexcept>
#include <stop_token>

#include <boost/json/value.hpp>

namespace seed_patterns {

/// The input of a task is not a number (or not an array of numbers).
class invalid_data : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

/// The CPU work was asked to stop before it finished.
class work_stopped : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// `sum(data) * 2`. Integers stay integers (falling back to floating point
/// only when the sum would overflow 64 bits); any float makes the result a
/// float. Throws `invalid_data` when `data` is not an array or an element is
/// not a number, and `work_stopped` when `stop` is requested meanwhile.
/// Thread-safety: reads `data` only; safe on any thread.
boost::json::value sum_times_two(const boost::json::value& data, std::stop_token stop);

/// `data * 2`, with the same rules. Throws `invalid_data` for a non-number.
boost::json::value times_two(const boost::json::value& data);

}  // namespace seed_patterns
