/// @file
/// The function as Lambda runs it: its bootstrap (THUMBNAILS_BOOTSTRAP) under `muster invoke`
/// (MUSTER_CLI), both named by the test target's compile definitions.
#pragma once

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include "child_process.hpp"
#include "support.hpp"

namespace thumbnails_test {

struct run_result {
    std::optional<int> exit_code;
    std::vector<boost::json::value> responses;  ///< One per invocation, in order.
    std::string out;
    std::string log;  ///< The function's log lines and the emulator's (stderr).
};

/// The command line of `muster invoke` running the bootstrap with `events` (one event, or an
/// array invoked in turn in one warm process) and `env` for the function; the event file goes
/// in `dir`.
inline std::vector<std::string> invoke_command(const temp_dir& dir,
                                               const boost::json::value& events,
                                               std::map<std::string, std::string> env,
                                               int timeout_s = 120) {
    const std::string event_path = dir.path + "/event.json";
    std::ofstream(event_path) << boost::json::serialize(events);
    // A generous init timeout: sanitizer builds on a busy machine start slowly, and the init
    // is not what these tests time.
    std::vector<std::string> argv{MUSTER_CLI,  "invoke", "--event", event_path,
                                  "--timeout", std::to_string(timeout_s), "--init-timeout",
                                  "60"};
    env.emplace("MUSTER_METRICS", "off");
    env.emplace("THUMBNAILS_OUTPUT_DIR", dir.path + "/out");
    for (const auto& [k, v] : env) {
        argv.push_back("--env");
        argv.push_back(k + "=" + v);
    }
    argv.push_back("--");
    argv.push_back(THUMBNAILS_BOOTSTRAP);
    return argv;
}

/// Every line of `out` that is JSON, parsed, in order.
inline std::vector<boost::json::value> json_lines(const std::string& out) {
    std::vector<boost::json::value> values;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        boost::json::error_code ec;
        auto v = boost::json::parse(line, ec);
        if (!ec) values.push_back(std::move(v));
    }
    return values;
}

/// The checks every run's log passes.
inline void expect_clean_log(const std::string& log) {
    // Every invocation ended with nothing of it still pending (the runtime would say so).
    EXPECT_EQ(log.find("still pending"), std::string::npos) << log;
    // In sanitizer builds, the function's reports land here too.
    EXPECT_EQ(log.find("WARNING: ThreadSanitizer"), std::string::npos) << log;
    // (A worker crashing on purpose is reported as a SEGV; anything else is a finding.)
    for (auto at = log.find("ERROR: AddressSanitizer: "); at != std::string::npos;
         at = log.find("ERROR: AddressSanitizer: ", at + 1)) {
        EXPECT_EQ(log.compare(at + 25, 4, "SEGV"), 0) << log;
    }
}

/// Runs the bootstrap under `muster invoke` with `events` (one event, or an array invoked in
/// turn in one warm process) and `env` for the function.
inline run_result invoke(const temp_dir& dir, const boost::json::value& events,
                         std::map<std::string, std::string> env, int timeout_s = 120) {
    muster_test::child_process p(invoke_command(dir, events, std::move(env), timeout_s), {});
    run_result r;
    r.exit_code = p.wait(std::chrono::seconds(120));
    r.out = p.out();
    r.log = p.err();
    r.responses = json_lines(r.out);
    expect_clean_log(r.log);
    return r;
}

}  // namespace thumbnails_test
