#include "lambda_text.hpp"

#include <muster/emulator/function_config.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace muster::emulator {

std::optional<std::string> check_command(const std::vector<std::string>& command) {
    if (command.empty() || command.front().empty()) {
        return std::string("no bootstrap given");
    }
    const std::string& name = command.front();
    std::string path = name;
    if (name.find('/') == std::string::npos) {
        const char* env_path = std::getenv("PATH");
        std::string_view dirs = env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
        bool found = false;
        while (!found) {
            auto colon = dirs.find(':');
            std::string dir(dirs.substr(0, colon));
            std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
            if (::access(candidate.c_str(), X_OK) == 0) {
                path = candidate;
                found = true;
            }
            if (colon == std::string_view::npos) {
                break;
            }
            dirs.remove_prefix(colon + 1);
        }
        if (!found) {
            return "the bootstrap '" + name + "' was not found in PATH";
        }
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return "the bootstrap '" + path + "' cannot be used: " + std::strerror(errno);
    }
    if (S_ISDIR(st.st_mode)) {
        return "the bootstrap '" + path + "' is a directory, not an executable file";
    }
    if (!S_ISREG(st.st_mode)) {
        return "the bootstrap '" + path + "' is not a regular file";
    }
    if (::access(path.c_str(), X_OK) != 0) {
        return "the bootstrap '" + path + "' is not executable (chmod +x it)";
    }
    return std::nullopt;
}

namespace detail {

id_generator::id_generator() : rng_(std::random_device{}()) {}

std::string id_generator::hex(std::size_t digits) {
    static constexpr char alphabet[] = "0123456789abcdef";
    std::string out(digits, '0');
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        if (i % 16 == 0) {
            bits = rng_();
        }
        out[i] = alphabet[bits & 0xf];
        bits >>= 4;
    }
    return out;
}

std::string id_generator::request_id() {
    std::string h = hex(32);
    h[12] = '4';
    h[16] = "89ab"[h[16] % 4];
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

std::string id_generator::trace_id() {
    char epoch[16];
    std::snprintf(epoch, sizeof epoch, "%08lx", static_cast<unsigned long>(std::time(nullptr)));
    return std::string("Root=1-") + epoch + "-" + hex(24) + ";Parent=" + hex(16) + ";Sampled=0";
}

std::string id_generator::log_stream_name(std::string_view version) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char date[32];
    std::strftime(date, sizeof date, "%Y/%m/%d", &tm);
    return std::string(date) + "/[" + std::string(version) + "]" + hex(32);
}

std::string error_document(std::string_view type, std::string_view message) {
    boost::json::object doc;
    doc["errorMessage"] = message;
    doc["errorType"] = type;
    return boost::json::serialize(doc);
}

std::optional<std::string> json_problem(std::string_view text) {
    boost::system::error_code ec;
    boost::json::parse(text, ec);
    if (ec) {
        return ec.message();
    }
    return std::nullopt;
}

std::string error_type_of(std::string_view text) {
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec);
    if (ec || !value.is_object()) {
        return {};
    }
    auto* type = value.as_object().if_contains("errorType");
    if (type == nullptr || !type->is_string()) {
        return {};
    }
    return std::string(type->as_string());
}

std::string format_ms(std::chrono::microseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

std::string seconds_text(std::chrono::milliseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

}  // namespace detail
}  // namespace muster::emulator

#include <muster/emulator/event_file.hpp>

#include <boost/json/stream_parser.hpp>

#include <stdexcept>

namespace muster::emulator {

std::vector<std::string> events_from_json(std::string_view text) {
    auto blank = text.find_first_not_of(" \t\r\n");
    if (blank == std::string_view::npos) {
        return {"{}"};
    }
    boost::json::stream_parser parser;
    boost::system::error_code ec;
    std::size_t used = parser.write_some(text.data(), text.size(), ec);
    if (!ec) {
        parser.finish(ec);
        used = text.size();
    }
    if (ec) {
        std::size_t line = 1;
        std::size_t column = 1;
        for (std::size_t i = 0; i < used && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw std::invalid_argument("the event is not valid JSON (line " + std::to_string(line) +
                                    ", column " + std::to_string(column) + "): " + ec.message());
    }
    boost::json::value value = parser.release();
    std::vector<std::string> events;
    if (value.is_array()) {
        for (const auto& element : value.as_array()) {
            events.push_back(boost::json::serialize(element));
        }
    } else {
        events.emplace_back(text);
    }
    return events;
}

}  // namespace muster::emulator
