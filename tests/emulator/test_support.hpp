#pragma once

// Scaffolding shared by the emulator's tests: run an emulator on its own
// io_context, temporary directories, files and child commands.

#include <muster/emulator/emulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace muster::emulator::test {

namespace net = boost::asio;
namespace fs = std::filesystem;

// A fresh directory, removed with everything in it at the end of the test.
class temp_dir {
  public:
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "muster-emu-XXXXXX").string();
        char* made = ::mkdtemp(pattern.data());
        if (made == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = made;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

  private:
    fs::path path_;
};

inline std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const fs::path& path, const std::string& text, bool executable = false) {
    std::ofstream(path, std::ios::binary) << text;
    if (executable) {
        fs::permissions(path, fs::perms::owner_all, fs::perm_options::add);
    }
}

inline std::size_t count_containing(const std::vector<std::string>& lines,
                                    const std::string& what) {
    return static_cast<std::size_t>(
        std::count_if(lines.begin(), lines.end(),
                      [&](const std::string& l) { return l.find(what) != std::string::npos; }));
}

inline std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

// Runs body against an emulator for config on a private io_context, then
// shuts the emulator down. Platform lines are collected in log.
class emulator_run {
  public:
    std::vector<std::string> log;

    void operator()(function_config config, std::function<net::awaitable<void>(emulator&)> body) {
        config.platform_log = [this](std::string_view line) { log.emplace_back(line); };
        net::io_context io;
        emulator function(io.get_executor(), std::move(config));
        std::exception_ptr failure;
        auto main = [&]() -> net::awaitable<void> {
            co_await body(function);
            co_await function.shutdown();
        };
        net::co_spawn(io, main(), [&](std::exception_ptr e) { failure = e; });
        io.run();
        if (failure) {
            std::rethrow_exception(failure);
        }
    }

    // Invokes each payload in turn and returns the results.
    std::vector<invoke_result> invoke_all(function_config config, std::vector<std::string> events) {
        std::vector<invoke_result> results;
        (*this)(std::move(config), [&](emulator& function) -> net::awaitable<void> {
            for (auto& event : events) {
                invoke_request request;
                request.payload = event;
                results.push_back(co_await function.invoke(std::move(request)));
            }
        });
        return results;
    }
};

inline net::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    net::steady_timer timer(co_await net::this_coro::executor, d);
    co_await timer.async_wait(net::use_awaitable);
}

// Invokes and stores the result in *out, then calls then (if any). Takes
// everything by value or pointer: it is spawned, and outlives its caller's
// expression.
inline net::awaitable<void> invoke_into(emulator* function, invoke_request request,
                                        invoke_result* out, std::function<void()> then) {
    *out = co_await function->invoke(std::move(request));
    if (then) {
        then();
    }
}

struct command_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// Runs a shell command line with stdout and stderr captured.
inline command_result run_command(const std::string& command_line, const temp_dir& dir) {
    auto out = dir / "cmd.out";
    auto err = dir / "cmd.err";
    std::string full = command_line + " >" + out.string() + " 2>" + err.string();
    int status = std::system(full.c_str());
    command_result result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_file(out);
    result.err = read_file(err);
    return result;
}

// The test's own environment minus AWS_* variables, for child processes.
inline void clear_aws_environment() {
    std::vector<std::string> names;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        if (entry.rfind("AWS_", 0) == 0) {
            names.push_back(entry.substr(0, entry.find('=')));
        }
    }
    for (const auto& n : names) {
        ::unsetenv(n.c_str());
    }
}

inline const std::string bootstraps_dir = MUSTER_TEST_BOOTSTRAPS;
inline const std::string cli = MUSTER_TEST_CLI;

}  // namespace muster::emulator::test
