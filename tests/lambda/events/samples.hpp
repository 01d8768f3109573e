/// @file
/// Loads the AWS sample events under samples/ and reports conversion errors as strings.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <muster/lambda/events/event_error.hpp>

namespace muster_test_events {

/// The sample `name` (e.g. "sqs.json") parsed.
inline boost::json::value sample(const std::string& name) {
    const std::string path = std::string(MUSTER_EVENT_SAMPLES_DIR) + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open sample " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return boost::json::parse(text.str());
}

/// The `what()` of the `event_error` converting `v` to `T` throws, or "no error".
template <class T>
std::string conversion_error(const boost::json::value& v) {
    try {
        (void)boost::json::value_to<T>(v);
    } catch (const muster::lambda::event_error& e) {
        return e.what();
    }
    return "no error";
}

/// `T` converted to JSON and back.
template <class T>
T round_trip(const T& t) {
    return boost::json::value_to<T>(boost::json::value_from(t));
}

}  // namespace muster_test_events
